"""Training one (variant × model × split protocol): Adam with the model's learning rate, the area's
loss and class weights, early stopping, learning-rate reduction on plateau, a checkpoint every epoch
and **resume** after an interruption, history with loss, OA and macro-F1 for train and validation,
test metrics, and a run manifest (parameters, dataset hash, versions, seed, commit, device, duration).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import io, locks
from rocksoil_nb.learn import losses, metrics, models, registry, runs
from rocksoil_nb.learn.baseline import PixelRF
from rocksoil_nb.learn.datasets import PatchData
from rocksoil_nb.learn.decision import decide, probabilities
from rocksoil_nb.learn.runs import BASELINE_FILE, BEST, CKPT, INPUTS, METRICS, Fit, RunResult, RunSpec
from rocksoil_nb.prepare import patches
from rocksoil_nb.prepare.manifest import DatasetManifest
from rocksoil_nb.prepare.splits import sample_units

STATE = "state.json"
LOADER_THREADS = 2  # threads preparing the next training batches while the model trains on the current one
EVAL_BATCH = 64  # samples per prediction call when scoring validation and test splits (fewer, larger calls)
log = logging.getLogger(__name__)
CHECKPOINT_EVERY_S = 60.0  # write the resume checkpoint at most this often (and always at the end of training)


def learning_rate(hp, model: str) -> float:
    """Per-model learning rate (thesis Table 11): the model's own if given, else its registry entry's (``rate``:
    ConvLSTM's for the sequence models, CNN's otherwise)."""
    return float(hp.learning_rate.get(model, hp.learning_rate.get(registry.get(model).rate)))


def validation_cap(max_samples: int) -> int:
    """Validation samples scored each epoch: a sixth of the training cap (0 = all), the share the split
    protocols give validation (15 % of the training part). A few hundred patches choose the best epoch as
    well as the whole split, at about a tenth of the time of an epoch."""
    return 0 if not max_samples else max(1, -(-max_samples // 6))


def _git_commit(root: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _versions() -> dict:
    import importlib.metadata as md

    out = {}
    for pkg in ("keras", "tensorflow-cpu", "tensorflow", "jax", "numpy", "scikit-learn", "rocksoil-nb"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            continue
    return out


def _device() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"tensorflow: {len(gpus)} GPU" if gpus else f"tensorflow: CPU ({os.cpu_count()} cores)"
    if backend == "jax":
        import jax

        return f"jax: {', '.join(str(d) for d in jax.devices())}"
    return backend


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend; deterministic ops under TensorFlow."""
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.experimental.enable_op_determinism()
        except (AttributeError, RuntimeError):
            pass


def distribution(mixed_precision: bool = False):
    """A context for building and compiling: ``tf.distribute.MirroredStrategy`` when several GPUs are
    visible under TensorFlow, else a no-op. Turns on mixed precision when asked and a GPU is present."""
    import contextlib

    import keras

    gpus = []
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    elif keras.backend.backend() == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
    if mixed_precision and gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    if keras.backend.backend() == "tensorflow" and len(gpus) > 1:
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    return contextlib.nullcontext()


def predict_dataset(model, data, loss_fn=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
    """Predicted classes, true classes, weights over a PatchData, and the mean loss when ``loss_fn`` is given."""
    preds, ys, ws, loss_sum, n = [], [], [], 0.0, 0
    for i in range(len(data)):
        x, y, w = data[i]
        p = probabilities(model, x)
        if loss_fn is not None:
            loss_sum += float(loss_fn(np.where(w > 0, y, losses.IGNORE), p)) * len(x)
            n += len(x)
        preds.append(decide(p, data.include_nodata)[0])
        ys.append(y)
        ws.append(w)
    return np.concatenate(preds), np.concatenate(ys), np.concatenate(ws), (loss_sum / n if n else None)


def evaluate(model, data, include_nodata: bool = False, loss_fn=None) -> dict:
    """Confusion matrix and scores of ``model`` on a PatchData split (and the mean loss with ``loss_fn``)."""
    p, y, w, loss = predict_dataset(model, data, loss_fn)
    cm = metrics.confusion(y, p, w > 0)
    return {"confusion": cm.tolist(), **metrics.scores(cm, include_nodata), "loss": loss}


def _callbacks(out: Path, val_data, train_probe, include_nodata: bool, patience: int, state: dict):
    import keras

    class EpochScores(keras.callbacks.Callback):
        """Validation loss, OA and macro-F1, and OA and macro-F1 on a fixed training subset, each epoch."""

        def on_epoch_end(self, epoch, logs=None):
            logs = logs if logs is not None else {}
            for prefix, d in (("val_", val_data), ("", train_probe)):
                if d is not None and len(d):
                    s = evaluate(self.model, d, include_nodata, self.model.loss if prefix else None)
                    logs[f"{prefix}oa"], logs[f"{prefix}macro_f1"] = s["oa"], s["macro_f1"]
                    if prefix:
                        logs["val_loss"] = s["loss"]

    class Checkpoint(keras.callbacks.Callback):
        """History every epoch; the best weights (lowest validation loss) kept in memory; the resume checkpoint,
        the best model and the state written (atomically) at most every ``CHECKPOINT_EVERY_S`` seconds and at
        the end, so that saving does not cost a share of every short epoch. An interrupted run resumes from
        the last write (at most a minute of training is redone)."""

        def __init__(self):
            super().__init__()
            self.best_weights, self.last_write = None, time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            state["history"].append({"epoch": epoch, **{k: float(v) for k, v in logs.items()}})
            monitor = logs.get("val_loss", logs.get("loss"))
            if monitor is not None and monitor < state.get("best", np.inf):
                state["best"] = float(monitor)
                self.best_weights = self.model.get_weights()
            state["epoch"] = epoch
            if time.perf_counter() - self.last_write >= CHECKPOINT_EVERY_S:
                self.write()

        def on_train_end(self, logs=None):
            self.write()

        def write(self):
            if self.best_weights is not None:
                now = self.model.get_weights()
                self.model.set_weights(self.best_weights)
                with io.atomic_path(out / BEST, suffix=".keras") as tmp:
                    self.model.save(tmp)
                self.model.set_weights(now)
                self.best_weights = None
            with io.atomic_path(out / CKPT, suffix=".keras") as tmp:
                self.model.save(tmp)
            io.write_json(out / STATE, state)
            self.last_write = time.perf_counter()

    monitor = "val_loss" if val_data is not None and len(val_data) else "loss"
    return [EpochScores(), Checkpoint(),
            keras.callbacks.EarlyStopping(monitor=monitor, patience=patience),
            keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=max(1, patience // 2), min_lr=1e-7)]


def train(cfg: AreaConfig, variant: str | None = None, model: str = "cnn", protocol: str = "spatial", epochs: int | None = None,
          weights: str = "area", seed: int = 0, max_samples: int | None = None, out_dir: Path | None = None,
          hp_overrides: dict | None = None, verbose: int = 1, extra_callbacks: list | None = None, evaluate_test: bool = True
          ) -> RunResult:
    """Train (or resume, or reuse) one run and return its summary (test scores, samples, epochs).

    ``evaluate_test=False`` (tuning, sweeps) leaves the test split untouched. One process at a time writes a run
    folder (its lock names the holder to a second one).
    """
    variant = patches.primary_variant(cfg, variant)
    out = Path(out_dir) if out_dir else cfg.layout.run_dir(variant, model, protocol, seed)
    with locks.hold(out, f"the run {out.name}"):
        return _train(cfg, variant, model, protocol, epochs, weights, seed, max_samples, out, hp_overrides, verbose,
                      extra_callbacks, evaluate_test)


def _train(cfg: AreaConfig, variant: str, model: str, protocol: str, epochs: int | None, weights: str, seed: int, max_samples: int | None,
           out: Path, hp_overrides: dict | None, verbose: int, extra_callbacks: list | None, evaluate_test: bool) -> RunResult:
    """Reuse a finished run of the same key, else train it through the model's registry entry (its ``fit``)."""
    entry = registry.get(model)
    key = json_roundtrip(run_key(cfg, variant, model, protocol, epochs, weights, seed, max_samples, hp_overrides))
    manifest = DatasetManifest.read(cfg.layout.patches_dir(variant))
    out.mkdir(parents=True, exist_ok=True)
    spec = input_spec(cfg, manifest, variant, model, protocol, entry.kind)
    if io.read_json_or(out / INPUTS) != spec.to_json():  # missing, damaged or another spec: rewritten
        spec.write(out)
    old_key = finished_key(out)
    if old_key == key:
        return RunResult.read(out)
    if old_key is not None:
        changed = sorted(k for k in set(old_key) | set(key) if old_key.get(k) != key.get(k))
        log.info("retraining %s: %s changed since it was trained", out.name, ", ".join(changed))
    (out / METRICS).unlink(missing_ok=True)  # the old result stops counting the moment a retrain starts
    set_seed(seed)
    io.write_json(out / "run.json", {"key": key})
    run = Fit(cfg, variant, model, protocol, out, key, seed, dataclasses.replace(cfg.hyperparameters, **(hp_overrides or {})),
              weights, verbose, list(extra_callbacks or []), evaluate_test, time.time())
    result = entry.load("fit")(run)
    _write_manifest(cfg, out, key, seed, run.t0, result)
    result.write(out)
    return result


def _patch_splits(run: Fit) -> dict:
    """The run's PatchData splits (``train`` shuffled for training; ``val``, ``test`` and a small training ``probe``
    for scoring) and its class weights (``weights``)."""
    cfg, hp, kind = run.cfg, run.hp, registry.kind_of(run.model)
    ds_dir = cfg.layout.patches_dir(run.variant)
    max_samples = run.key["max_samples"]
    common = dict(protocol=run.protocol, kind=kind, batch_size=hp.batch_size, include_nodata=cfg.classes.include_nodata,
                  seed=run.seed, validity_channel=cfg.preprocess.validity_channel)
    train_d = PatchData(ds_dir, split="train", shuffle=True, max_samples=max_samples, for_training=True, workers=LOADER_THREADS,
                        **common)
    if len(train_d.samples) == 0:
        raise ValueError(f"{ds_dir}: no training samples for {kind} under the {run.protocol} protocol")
    scoring = {**common, "batch_size": EVAL_BATCH}
    counts = np.array(train_d.manifest.protocol(kind, run.protocol).class_pixels["train"])
    return {"train": train_d,
            "val": PatchData(ds_dir, split="val", shuffle=False, max_samples=validation_cap(max_samples), **scoring),
            "test": PatchData(ds_dir, split="test", shuffle=False, **scoring),
            "probe": PatchData(ds_dir, split="train", shuffle=False, max_samples=min(len(train_d.samples), 4 * hp.batch_size),
                               **scoring),
            "weights": losses.class_weights(run.weights, cfg.classes.weights, counts, cfg.classes.include_nodata)}


def fit_deep(run: Fit) -> RunResult:
    """Train a deep model of the registry for one run (resuming from its checkpoint) and score its best epoch on test."""
    import keras

    hp, out, include0, epochs = run.hp, run.out, run.cfg.classes.include_nodata, run.key["epochs"]
    d = _patch_splits(run)
    state = {"key": run.key, "epoch": -1, "history": [], "best": np.inf}
    prev = out / STATE
    if (out / CKPT).exists() and (io.read_json_or(prev) or {}).get("key") == run.key:
        state = io.read_json(prev)
        net = keras.saving.load_model(out / CKPT)
        log.info("resuming %s after epoch %d of %d", out.name, state["epoch"] + 1, epochs)
    else:
        x0, _ = d["train"][0]
        with distribution(hp.mixed_precision):
            net = models.build(run.model, x0.shape[1:], base_filters=hp.base_filters, dropout=hp.dropout, l2=hp.l2)
            models.compile_for_training(net, learning_rate(hp, run.model), losses.make(hp.loss, d["weights"], hp.focal_gamma))
    if state["epoch"] + 1 < epochs:
        net.fit(d["train"], epochs=epochs, initial_epoch=state["epoch"] + 1, verbose=run.verbose,
                callbacks=_callbacks(out, d["val"], d["probe"], include0, hp.early_stopping_patience, state) + run.extra_callbacks)
    best = keras.saving.load_model(out / BEST) if (out / BEST).exists() else net
    test = None
    if run.evaluate_test and len(d["test"].samples):
        test = score_test(best, d["test"], run.protocol, include0, out)
    history = pd.DataFrame(state["history"])
    io.write_csv(out / "history.csv", history)
    val_best = float(history["val_macro_f1"].max()) if "val_macro_f1" in history else None
    return RunResult(out.name, run.variant, run.model, run.protocol, len(history), test, len(d["test"].samples),
                     len(d["train"].samples), val_best, d["weights"].tolist(), run.seed)


def fit_rf(run: Fit) -> RunResult:
    """Fit the per-pixel random forest (one date's bands per pixel) on the run's training patches and score it on test."""
    import joblib

    d = _patch_splits(run)
    xs, ys, ws = [], [], []
    for i in range(len(d["train"])):
        x, y = d["train"][i]
        xs.append(x)
        ys.append(y)
        ws.append((y != losses.IGNORE).astype(np.float32))
    rf = PixelRF(seed=run.seed).fit(np.concatenate(xs), np.concatenate(ys), np.concatenate(ws))
    with io.atomic_path(run.out / BASELINE_FILE) as tmp:
        joblib.dump(rf, tmp)
    test = None
    if len(d["test"].samples):
        test = score_test(rf, d["test"], run.protocol, run.cfg.classes.include_nodata, run.out)
    return RunResult(run.out.name, run.variant, run.model, run.protocol, 0, test, len(d["test"].samples), len(d["train"].samples),
                     seed=run.seed)


def score_test(model, data, protocol: str, include_nodata: bool, out: Path) -> dict:
    """:func:`evaluate` of a run's model on its test split, also keeping the split's confusion matrices per held-out
    unit (``test_units.npz``), from which intervals resample units, not pixels (:mod:`rocksoil_nb.analyse.intervals`)."""
    p, y, w, _ = predict_dataset(model, data)
    cm = metrics.confusion(y, p, w > 0)
    unit = runs.run_unit("", data.kind, protocol)  # whole-year samples: blocks (a test period of one or two years)
    units = sample_units(data.samples, "spatial" if unit == "block" else protocol, data.manifest.spatial.block_px)
    runs.save_units(out, *metrics.unit_confusions(y, p, w > 0, units), protocol, unit)
    return {"confusion": cm.tolist(), **metrics.scores(cm, include_nodata), "loss": None}


def rescore_units(cfg: AreaConfig, run_dir: Path) -> bool:
    """Keep the per-unit test confusions of a finished run that lacks them (trained before they were kept) or keeps
    them by another unit than :func:`rocksoil_nb.learn.runs.run_unit` says, from its saved model and its test split
    (the model's registry entry, ``rescore``); the run's scores must come out as recorded (else it is left alone with a
    warning: retrain it). True if rewritten."""
    run_dir = Path(run_dir)
    r = RunResult.read(run_dir)
    entry = registry.get(r.model)
    if not r.test or runs.unit_kind(run_dir) == runs.run_unit(r.model, entry.kind, r.protocol):
        return False
    rescore = entry.load("rescore")
    return runs.keep_rescored(run_dir, r.test, lambda folder: rescore(cfg, run_dir, r, folder))


def rescore_saved(cfg: AreaConfig, run_dir: Path, result: RunResult, folder: Path) -> dict:
    """Test scores of a run's saved model (best epoch, or the per-pixel forest) on its test split, per-unit confusions
    written to ``folder``."""
    import joblib
    import keras

    spec = RunSpec.read(run_dir)
    if (run_dir / BASELINE_FILE).exists():
        net = joblib.load(run_dir / BASELINE_FILE)
    else:
        net = keras.saving.load_model(run_dir / (BEST if (run_dir / BEST).exists() else CKPT))
    data = PatchData(cfg.layout.patches_dir(result.variant), result.protocol, "test", spec.kind, batch_size=EVAL_BATCH,
                     shuffle=False, include_nodata=cfg.classes.include_nodata, validity_channel=spec.validity_channel)
    return score_test(net, data, result.protocol, cfg.classes.include_nodata, folder)


def run_key(cfg: AreaConfig, variant: str, model: str, protocol: str, epochs: int | None = None, weights: str = "area", seed: int = 0,
            max_samples: int | None = None, hp_overrides: dict | None = None) -> dict:
    """What makes a run what it is: variant, model, protocol, epochs, class weighting, seed, sample cap, every
    hyperparameter, the class-0 rule and the dataset's manifest hash. A run folder is finished only for this key."""
    hp = dataclasses.replace(cfg.hyperparameters, **(hp_overrides or {}))
    entry = registry.get(model)
    kind = entry.kind
    return {"variant": variant, "model": model, "protocol": protocol, "epochs": int(epochs or hp.epochs), "weights": weights,
            "seed": seed, "max_samples": cfg.sample_cap(kind) if max_samples is None else max_samples, "hp": dataclasses.asdict(hp),
            "include_nodata": cfg.classes.include_nodata, "dataset": DatasetManifest.read(cfg.layout.patches_dir(variant)).sha256_16(),
            **({entry.settings_key: entry.load("settings")} if entry.settings else {})}


def finished_key(run_dir: Path) -> dict | None:
    """The key of the run finished in ``run_dir``: its ``run.json`` key when a result (``metrics.json``) is there, else
    None (never trained, or a retrain under another key was started and not finished)."""
    run_dir = Path(run_dir)
    if not (run_dir / METRICS).exists():
        return None
    key = (io.read_json_or(run_dir / "run.json") or {}).get("key")
    return key if isinstance(key, dict) else None


def is_finished(cfg: AreaConfig, variant: str, model: str, protocol: str, hp_overrides: dict | None = None, run_dir: Path | None = None,
                seed: int = 0) -> bool:
    """Whether the run is finished for the parameters it would be trained with now (a result under another key, or a
    retrain interrupted after its key was written, is not)."""
    d = Path(run_dir) if run_dir else cfg.layout.run_dir(variant, model, protocol, seed)
    key = finished_key(d)
    return key is not None and key == json_roundtrip(run_key(cfg, variant, model, protocol, seed=seed, hp_overrides=hp_overrides))


def json_roundtrip(d: dict) -> dict:
    """``d`` as it reads back from a JSON file (tuples become lists), for comparing with a stored key."""
    import json

    return json.loads(json.dumps(d, default=str))


def input_spec(cfg: AreaConfig, manifest: DatasetManifest, variant: str, model: str, protocol: str, kind: str) -> RunSpec:
    """What a trained model expects of its inputs, saved beside it (``inputs.json``) so that
    ``rocksoil predict`` can apply it to new scenes: bands and their training mean / std (physical units:
    LST K, EmisWB 0-1, VV/VH dB), patch size, overlap, sequence length, the grid's CRS and pixel size,
    the variant's date rule and the scene filter and QC validity rule used in training."""
    norm = manifest.protocol(kind, protocol).norm
    return RunSpec(area=cfg.name, variant=variant, model=model, protocol=protocol, kind=kind, bands=list(manifest.bands),
                   mean=norm.mean, std=norm.std, patch_size=manifest.patch_size, overlap=manifest.overlap,
                   sequence_length=(manifest.sequence_length if kind == "seq" else len(manifest.kinds[kind].columns) if kind == "year"
                                    else 1),
                   validity_channel=cfg.preprocess.validity_channel, include_nodata=cfg.classes.include_nodata,
                   crs=cfg.area.crs, pixel_size_m=cfg.area.pixel_size_m, preprocess=dataclasses.asdict(cfg.preprocess),
                   scene_filter=dataclasses.asdict(cfg.scene_filter),
                   acquisition={"sar_window_days": cfg.acquisition.sar_window_days, "ndvi_window_days": cfg.acquisition.ndvi_window_days},
                   anomaly=manifest.kinds[kind].anomaly)


def _write_manifest(cfg: AreaConfig, out: Path, key: dict, seed: int, t0: float, result: RunResult) -> None:
    io.write_json(out / "manifest.json", {
        "parameters": key, "dataset_manifest_sha256_16": key["dataset"], "seed": seed, "git_commit": _git_commit(cfg.root),
        "versions": _versions(), "device": _device(), "platform": platform.platform(),
        "duration_s": round(time.time() - t0, 1), "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "area": cfg.name, "profile": cfg.profile_name, "class_0_in_loss_and_metrics": cfg.classes.include_nodata,
        "test_oa": result.score("oa"), "test_macro_f1": result.score("macro_f1")})


