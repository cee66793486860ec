"""Training and prediction throughput of each model at batch 4 and 32 (patches or sequences per second)
and the share of this machine's float32 matrix-multiply rate they reach: model FLOPs × samples/s ÷ the
peak measured in the same run (training counted as 3 × forward).

Then the **training path**: one steady-state epoch of ``train.train`` on a stored dataset (patches read
from the cube through ``PatchData``, validation and training-probe scores, checkpoints) against
``model.fit`` of the same model on the same samples held in memory, at the ``standard`` profile's
settings on a full area (``--aoi``, default villoslada; its data are simulated and prepared first when missing).
Prints the ratio (in-memory epoch time ÷ train.train epoch time; target ≥ 0.85) and where the time goes.
Usage:
    .venv/bin/python bench/models.py [--patch 64] [--t 5] [--channels 2] [--filters 16] [--skip-throughput]
Set KERAS_BACKEND=jax to measure under JAX (e.g. on a GPU machine).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from rocksoil_nb import config
from rocksoil_nb.core import ecostress
from rocksoil_nb.learn import flops, losses, models, registry, train
from rocksoil_nb.learn.datasets import PatchData
from rocksoil_nb.prepare import labels, steps
from rocksoil_nb.simulate import simulate


def throughput(model, x, y, batch: int, train: bool, seconds: float = 6.0) -> float:
    xb, yb = x[:batch], y[:batch]
    step = (lambda: model.train_on_batch(xb, yb)) if train else (lambda: model.predict_on_batch(xb))
    step()
    step()  # warm-up (tracing / compilation)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n * batch / (time.perf_counter() - t0)


class EpochClock(keras.callbacks.Callback):
    """Wall time at the start of every epoch and at the end of training (callbacks of the epoch included)."""

    def __init__(self):
        super().__init__()
        self.marks: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.marks.append(time.perf_counter())

    def on_train_end(self, logs=None):
        self.marks.append(time.perf_counter())

    def steady(self) -> float:
        """Mean seconds of the epochs after the first (which traces the graph)."""
        return float(np.diff(self.marks[1:]).mean())


def _standard_area(aoi: str):
    """``aoi`` under the standard profile, prepared up to its thermal_only patches."""
    cfg = config.load(aoi, "standard")
    if not (cfg.layout.patches_dir("thermal_only") / "manifest.json").exists():
        simulate(cfg, progress=False)
        ref = ecostress.reference_grid(cfg.layout.raw_dir / "ecostress")
        labels.make_labels(labels.find_geology_vector(cfg.layout.raw_dir), ref, cfg.layout.labels)
        steps.run_cube(cfg, steps.run_inventory(cfg, progress=False), progress=False)
        steps.run_patches(cfg, ["thermal_only"], progress=False)
    return cfg


def train_path(aoi: str = "villoslada", model: str = "cnn", epochs: int = 3) -> None:
    """Steady-state epoch of train.train (stored data) against model.fit on the same samples in memory."""
    cfg = _standard_area(aoi)
    hp = cfg.hyperparameters
    out = Path(tempfile.mkdtemp(prefix="bench-train-"))
    clock = EpochClock()
    train.train(cfg, "thermal_only", model, "spatial", epochs=epochs, out_dir=out, verbose=0, extra_callbacks=[clock],
                evaluate_test=False, hp_overrides={"early_stopping_patience": epochs})
    path_s = clock.steady()
    kind = registry.kind_of(model)
    common = dict(protocol="spatial", kind=kind, batch_size=hp.batch_size, include_nodata=cfg.classes.include_nodata, seed=0)
    data = PatchData(cfg.layout.patches_dir("thermal_only"), split="train", shuffle=True, max_samples=cfg.profile.max_patches,
                     for_training=True, **common)
    t0 = time.perf_counter()
    xs, ys = zip(*(data[i] for i in range(len(data))))
    read_s = time.perf_counter() - t0
    x, y = np.concatenate(xs), np.concatenate(ys)
    net = models.build(model, x.shape[1:], base_filters=hp.base_filters, dropout=hp.dropout, l2=hp.l2)
    net.compile(optimizer=keras.optimizers.Adam(1e-3), loss=losses.make(hp.loss, losses.class_weights("area", cfg.classes.weights),
                                                                        hp.focal_gamma))
    plain = EpochClock()
    net.fit(x, y, batch_size=hp.batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[plain])
    fit_s = plain.steady()
    val = PatchData(cfg.layout.patches_dir("thermal_only"), split="val", max_samples=train.validation_cap(cfg.profile.max_patches),
                    **common)
    train.evaluate(net, val, cfg.classes.include_nodata, net.loss)  # once to trace the prediction function
    t0 = time.perf_counter()
    train.evaluate(net, val, cfg.classes.include_nodata, net.loss)
    val_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    net.save(out / "probe.keras")
    save_s = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    print(f"\ntraining path, {model}, standard profile on {aoi}: {len(x)} training samples of {x.shape[1:]}, "
          f"batch {hp.batch_size}")
    print(f"  model.fit, samples in memory      {fit_s:7.2f} s/epoch")
    print(f"  train.train, stored dataset       {path_s:7.2f} s/epoch   "
          f"ratio in-memory / train path = {fit_s / path_s:.2f} (target >= 0.85)")
    print(f"  where the difference goes: reading all training batches once {read_s:.2f} s (overlapped with training by the loader), "
          f"validation scores {val_s:.2f} s ({len(val.samples)} samples), one checkpoint save {save_s:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--t", type=int, default=5)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--filters", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--skip-throughput", action="store_true", help="only the training-path comparison")
    ap.add_argument("--aoi", default="villoslada", help="area whose standard-profile dataset the training path reads")
    ap.add_argument("--path-models", nargs="*", default=["cnn", "convlstm"], help="models of the training-path comparison")
    a = ap.parse_args()
    if a.skip_throughput:
        for name in a.path_models:
            train_path(a.aoi, name)
        return
    peak = flops.matmul_peak_gflops()
    print(f"backend {keras.backend.backend()}; measured float32 matmul peak {peak:.1f} GFLOP/s; patch {a.patch}, T {a.t}, "
          f"C {a.channels}, base filters {a.filters}")
    print(f"{'model':9s} {'GFLOP/sample':>12s} {'batch':>5s} {'train/s':>8s} {'train %peak':>11s} {'predict/s':>9s} {'predict %peak':>13s}")
    rng = np.random.default_rng(0)
    for name in registry.names(deep=True):
        kind = registry.kind_of(name)
        shape = ((a.patch, a.patch, a.channels) if kind == "cnn" else
                 (a.t, a.patch, a.patch, a.channels + (models.DATE_CHANNELS if kind == "year" else 0)))
        m = models.build(name, shape, base_filters=a.filters)
        m.compile(optimizer=keras.optimizers.Adam(1e-4), loss=losses.make("weighted_focal", losses.class_weights("equal")))
        f = flops.model_flops(m) / 1e9
        x = rng.normal(size=(32, *shape)).astype("float32")
        y = rng.integers(1, 14, (32, a.patch, a.patch))
        for batch in (4, 32):
            tr = throughput(m, x, y, batch, True, a.seconds)
            pr = throughput(m, x, y, batch, False, a.seconds)
            print(f"{name:9s} {f:12.3f} {batch:5d} {tr:8.1f} {100 * 3 * f * tr / peak:10.1f}% {pr:9.1f} {100 * f * pr / peak:12.1f}%",
                  flush=True)
    for name in a.path_models:
        train_path(a.aoi, name)


if __name__ == "__main__":
    main()
