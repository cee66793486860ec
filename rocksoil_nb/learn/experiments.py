"""The experiment matrix (07_train, ``rocksoil experiments``): variants × models × split protocols, each run
resumable, with a plan and a measured time estimate printed before any training starts.

* :func:`plan`: the runs the profile asks for, with their training samples, epochs and state;
* :func:`estimate`: seconds per unfinished run from a short warm-up (a few training steps and one
  prediction batch of each model on the area's own patches), so a user knows beforehand what a batch costs;
* :func:`run`: trains them, serially or on a ``dask.distributed`` cluster (a ``LocalCluster`` of worker
  processes, or a scheduler address shared by several machines), and records each run's wall time
  beside the estimate (``models/<aoi>/<profile>/plan.csv``);
* :func:`timing`: estimate against the measured wall time.

The results table is :mod:`rocksoil_nb.analyse.results`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import io, locks
from rocksoil_nb.core.classes import N_CLASSES
from rocksoil_nb.learn import losses, models, registry, train, tune
from rocksoil_nb.learn.datasets import PatchData
from rocksoil_nb.learn.decision import probabilities
from rocksoil_nb.learn.runs import RunResult
from rocksoil_nb.prepare import steps
from rocksoil_nb.prepare.manifest import DatasetManifest

PLAN_FILE = "plan.csv"
WARMUP_STEPS = 3  # timed training steps per model in the warm-up (after one untimed step that builds the graph)


def _counts(cfg: AreaConfig, variant: str, kind: str, protocol: str) -> dict[str, int]:
    """Samples per split of one dataset, protocol and kind, with the profile's cap on train and val."""
    m = DatasetManifest.read(cfg.layout.patches_dir(variant)).protocol(kind, protocol)
    cap = cfg.sample_cap(kind)
    caps = {"train": cap, "val": train.validation_cap(cap), "test": 0}
    return {s: (min(n, caps[s]) if caps[s] else n) for s, n in m.counts.items()}


def _trainable(m: DatasetManifest, kind: str, protocol: str) -> bool:
    """Whether the dataset has training samples of ``kind`` under ``protocol``."""
    info = m.kinds.get(kind)
    return info is not None and protocol in info.protocols and info.protocols[protocol].counts.get("train", 0) > 0


def matrix(cfg: AreaConfig) -> list[tuple[str, str, str]]:
    """(variant, model, protocol) of every run: the profile's variants that the area's data gives (else the area's
    primary variant: a thesis import of another set), its models whose
    samples the dataset has (no ``tae`` where no place has a year of valid dates, no model whose samples have no training
    sample under a protocol: a set of a few dates makes no sequences), its protocols, and the thesis's own file-name split
    (``thesis_files``) where the dataset has it (thesis imports)."""
    out = []
    for v in steps.area_variants(cfg):
        protos = list(cfg.profile.protocols)
        m = DatasetManifest.read(cfg.layout.patches_dir(v))
        if "thesis_files" not in protos and "thesis_files" in m.kinds["cnn"].protocols:
            protos.append("thesis_files")
        # a model whose samples the dataset lacks is left out (an old dataset without year samples: no tae)
        usable = [model for model in cfg.profile.models if not registry.is_deep(model) or registry.kind_of(model) in m.kinds]
        # a model whose kind of sample has no training sample under a protocol (a few dates: no sequence) is left out
        out += [(v, model, p) for model in usable for p in protos if _trainable(m, registry.kind_of(model), p)]
    return out


def plan(cfg: AreaConfig, use_tuned: bool = False) -> pd.DataFrame:
    """The runs the profile asks for (the matrix once per training seed of the profile's ``seeds``): variant, model,
    protocol, seed, training / validation / test samples, epochs,
    batch size, and whether the run is already finished for exactly these parameters (its recorded key matches the
    key it would be trained with now: a finished run is reused, costing nothing; anything else is (re)trained)."""
    rows = []
    hp = cfg.hyperparameters
    tuned = tune.load_best(cfg) if use_tuned else None
    for seed in cfg.profile.seeds:
        for v, m, p in matrix(cfg):
            d = cfg.layout.run_dir(v, m, p, seed)
            n = _counts(cfg, v, registry.kind_of(m), p)
            rows.append({"variant": v, "model": m, "protocol": p, "seed": seed, "train_samples": n.get("train", 0),
                         "val_samples": n.get("val", 0), "test_samples": n.get("test", 0),
                         "epochs": hp.epochs if registry.is_deep(m) else 0, "batch_size": hp.batch_size,
                         "finished": train.is_finished(cfg, v, m, p, tuned, d, seed), "folder": str(d)})
    return pd.DataFrame(rows)


def warmup_deep(cfg: AreaConfig, variant: str, model: str, protocol: str, seed: int = 0) -> dict[str, float]:
    """Seconds per training batch (reading included), per prediction batch, per checkpoint, and to build."""

    hp = cfg.hyperparameters
    common = dict(protocol=protocol, kind=registry.kind_of(model), batch_size=hp.batch_size, include_nodata=cfg.classes.include_nodata,
                  seed=seed, validity_channel=cfg.preprocess.validity_channel)
    data = PatchData(cfg.layout.patches_dir(variant), split="train", max_samples=(WARMUP_STEPS + 2) * hp.batch_size,
                     for_training=True, **common)
    t0 = time.perf_counter()
    x, y = data[0]
    net = models.build(model, x.shape[1:], base_filters=hp.base_filters, dropout=hp.dropout, l2=hp.l2)
    models.compile_for_training(net, 1e-3, losses.make(hp.loss, np.ones(N_CLASSES), hp.focal_gamma))
    net.train_on_batch(x, y)
    probabilities(net, x)
    build = time.perf_counter() - t0
    steps = min(WARMUP_STEPS, len(data) - 1)
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        net.train_on_batch(*data[i])
    step = (time.perf_counter() - t0) / max(steps, 1)
    t0 = time.perf_counter()
    probabilities(net, data[1][0])
    pred = time.perf_counter() - t0
    with io.atomic_path(cfg.layout.models_dir / "warmup.keras", suffix=".keras") as tmp:
        t0 = time.perf_counter()
        net.save(tmp)
        save = time.perf_counter() - t0
    (cfg.layout.models_dir / "warmup.keras").unlink(missing_ok=True)
    return {"build": build, "step": step, "predict": pred, "save": save}


def cost_deep(row, warm: dict, cfg: AreaConfig) -> float:
    """Estimated seconds of one planned deep run from :func:`warmup_deep`: epochs × (training batches × step +
    validation and probe batches × prediction + two checkpoints) + test prediction + build."""
    bs = cfg.hyperparameters.batch_size
    probe = min(row.train_samples, 4 * bs)
    per_epoch = (math.ceil(row.train_samples / bs) * warm["step"] + (math.ceil(row.val_samples / bs) + math.ceil(probe / bs))
                 * warm["predict"] + 2 * warm["save"])
    return row.epochs * per_epoch + math.ceil(row.test_samples / bs) * warm["predict"] + warm["build"]


def estimate(cfg: AreaConfig, todo: pd.DataFrame | None = None, progress: bool = True, use_tuned: bool = False) -> pd.DataFrame:
    """See :func:`_estimate`; one process at a time per area and profile (the plan's lock)."""
    with locks.hold(cfg.layout.models_dir, f"the experiment plan of {cfg.name} ({cfg.profile_name})"):
        return _estimate(cfg, todo, progress, use_tuned)


def _estimate(cfg: AreaConfig, todo: pd.DataFrame | None, progress: bool, use_tuned: bool) -> pd.DataFrame:
    """``todo`` (default :func:`plan`) with ``estimated_s`` per run, from a warm-up of each model on the first
    unfinished variant: epochs × (training batches × step + evaluation batches × prediction + checkpoint)
    + test prediction + build. Finished runs cost 0. Writes ``plan.csv`` beside the runs."""
    todo = plan(cfg, use_tuned) if todo is None else todo.copy()
    open_ = todo[~todo["finished"]]
    warm: dict[tuple[str, str], dict] = {}
    keys = sorted({(r.variant, r.model) for r in open_.itertuples()}, key=lambda k: (k[1], k[0]))
    for v, m in tqdm(keys, desc="warm-up", unit="model", disable=not progress):
        p = open_[(open_.variant == v) & (open_.model == m)]["protocol"].iloc[0]
        warm[(v, m)] = registry.get(m).load("warmup")(cfg, v, m, p)
    est = []
    for r in todo.itertuples():
        w = warm.get((r.variant, r.model))
        est.append(0.0 if r.finished or w is None else registry.get(r.model).load("cost")(r, w, cfg))
    todo["estimated_s"] = np.round(est, 1)
    _write_plan(cfg, todo)
    return todo


def _write_plan(cfg: AreaConfig, todo: pd.DataFrame) -> Path:
    """Write ``plan.csv``; a run reused as finished keeps the estimate and the time recorded when it was trained, and
    the rows of runs outside ``todo`` (a part of the matrix trained with ``rocksoil experiments --seeds/--models``) stay."""
    p = cfg.layout.models_dir / PLAN_FILE
    if p.exists():
        old = pd.read_csv(p)
        if "seed" not in old:  # a plan written before runs had seeds: all of seed 0
            old["seed"] = 0
        keys = ["variant", "model", "protocol", "seed"]
        mine_keys = set(map(tuple, todo[keys].astype(object).to_numpy().tolist()))
        others = old[[tuple(k) not in mine_keys for k in old[keys].astype(object).to_numpy().tolist()]]
        old = old.set_index(keys)
        todo = todo.copy()
        for col in ("estimated_s", "measured_s"):
            if col in old:
                prev = np.array([old[col].get((r.variant, r.model, r.protocol, r.seed), np.nan) for r in todo.itertuples()], float)
                mine = todo[col].to_numpy(float) if col in todo else np.full(len(todo), np.nan)
                todo[col] = np.where(todo["finished"].to_numpy(bool) & np.isfinite(prev), prev, mine)
        todo = pd.concat([todo, others], ignore_index=True) if len(others) else todo
    cfg.layout.models_dir.mkdir(parents=True, exist_ok=True)
    return io.write_csv(p, todo)


def describe(todo: pd.DataFrame, cfg: AreaConfig=None) -> str:
    """One paragraph for a user: how many runs, samples, epochs and the estimated duration; with ``cfg``, what the
    whole report will take (:func:`report_expectation`)."""
    open_ = todo[~todo["finished"]]
    total = float(todo.get("estimated_s", pd.Series(dtype=float)).sum())
    deep = open_[open_.model.map(registry.is_deep).astype(bool)]
    text = (f"{len(todo)} runs planned, {len(todo) - len(open_)} already finished, {len(open_)} to train "
            f"({len(deep)} deep: {int((deep.train_samples * deep.epochs).sum()):,} sample-epochs); "
            f"estimated {total / 60:.1f} min on this machine" + (" (serial)" if total else ""))
    return text if cfg is None else text + ". " + report_expectation(cfg, total)


def report_expectation(cfg: AreaConfig, training_s: float) -> str:
    """What the whole report of the area and profile will take: the notebooks before 07 as this report recorded them
    (``timing.csv``), training as estimated, the notebooks after 07 as the last report recorded them; against the
    profile's budget."""
    p = cfg.layout.timing_file
    t = pd.read_csv(p) if p.exists() else pd.DataFrame(columns=["notebook", "wall_s"])
    before = float(t[t["notebook"] < "07"]["wall_s"].sum())
    after = t[t["notebook"] > "07"]
    total = before + training_s + float(after["wall_s"].sum())
    budget = f" (budget {cfg.profile.budget_minutes:g} min)" if cfg.profile.budget_minutes else ""
    later = f"08-09 {after['wall_s'].sum() / 60:.1f} min as last recorded" if len(after) else "08-09 not yet timed on this machine"
    return (f"The whole report: about {total / 60:.1f} min{budget} — 01-06 took {before / 60:.1f} min, training "
            f"{training_s / 60:.1f} min (estimate), {later}")


@dataclasses.dataclass
class _Job:
    """One run, as a worker process needs it (the whole configuration travels with it, paths included)."""

    cfg: object
    variant: str
    model: str
    protocol: str
    hp: dict | None
    seed: int = 0

    def __call__(self) -> tuple[dict, float]:
        t0 = time.perf_counter()
        r = train.train(self.cfg, self.variant, self.model, self.protocol, hp_overrides=self.hp, verbose=0, seed=self.seed)
        return r.to_json(), time.perf_counter() - t0


def _isolated(job: _Job) -> tuple[dict, float]:
    """Run ``job`` in a fresh process started by the Dask worker: each run begins from a clean TensorFlow
    state (and returns its memory when done), and gives bit for bit the weights a serial run gives — inside a
    long-lived Dask worker the same seeds were measured to give different weights."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(job)


def _client(workers: int, scheduler: str | None):
    """A client of ``scheduler``, or of a LocalCluster whose worker processes compute as this process does:
    the same thread settings (Dask would pin NumPy/oneDNN to one thread, which changes float sums and so
    the trained weights) and non-daemonic, so the forest may use its own worker processes."""
    import os

    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler)
    threads = {k: os.environ.get(k, str(os.cpu_count())) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": threads, "distributed.worker.daemon": False}):
        return Client(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))


def run(cfg: AreaConfig, use_tuned: bool = False, todo: pd.DataFrame | None = None, workers: int = 0,
        scheduler: str | None = None) -> list[RunResult]:
    """See :func:`_run`; one process at a time per area and profile: a second one is told which process holds the plan."""
    with locks.hold(cfg.layout.models_dir, f"the experiments of {cfg.name} ({cfg.profile_name})"):
        return _run(cfg, use_tuned, todo, workers, scheduler)


def _run(cfg: AreaConfig, use_tuned: bool, todo: pd.DataFrame | None, workers: int, scheduler: str | None) -> list[RunResult]:
    """Train every planned run (resuming unfinished ones) and return their results in plan order.

    ``workers`` > 1 hands the runs to a ``LocalCluster`` of that many worker processes; ``scheduler``
    (``tcp://host:8786``) to a running Dask cluster whose workers see the same project folder. Each run
    writes only its own folder, so a rerun resumes whatever did not finish. Wall times are recorded in
    ``plan.csv`` (``measured_s``) beside the estimate."""
    hp = tune.load_best(cfg) if use_tuned else None
    if use_tuned and hp is None:
        raise FileNotFoundError(f"{cfg.layout.best_params}: no tuned parameters; run 06_tune or set use_tuned = False")
    todo = plan(cfg, use_tuned) if todo is None else todo.copy()
    jobs = [_Job(cfg, r.variant, r.model, r.protocol, hp, int(getattr(r, "seed", 0))) for r in todo.itertuples()]
    if workers > 1 or scheduler:
        from dask.distributed import as_completed

        with _client(workers, scheduler) as client:
            futures = {client.submit(_isolated, job, pure=False, key=f"{cfg.name}-{cfg.profile_name}-{i}"): i for i, job in enumerate(jobs)}
            done: dict[int, tuple[dict, float]] = {}
            for f in tqdm(as_completed(futures), total=len(futures), desc="runs", unit="run"):
                done[futures[f]] = f.result()
        outcome = [done[i] for i in range(len(jobs))]
    else:
        outcome = [job() for job in tqdm(jobs, desc="runs", unit="run")]
    todo["measured_s"] = [round(s, 1) if not f else 0.0 for (_, s), f in zip(outcome, todo["finished"])]
    _write_plan(cfg, todo)
    keep_units(cfg)
    return [RunResult.from_json(d) for d, _ in outcome]


def keep_units(cfg: AreaConfig) -> list[Path]:
    """Per-unit test confusions (for intervals) for every finished run of the profile's seeds that lacks them or keeps
    them by another unit than the current rule (:func:`rocksoil_nb.learn.train.rescore_units`); the runs rewritten."""
    done = []
    for d in cfg.layout.run_dirs(cfg.profile.seeds):
        if train.rescore_units(cfg, d):
            done.append(d)
    return done


def timing(cfg: AreaConfig) -> pd.DataFrame:
    """The recorded plan: per run, estimated and measured seconds and their ratio, with a total row."""
    p = cfg.layout.models_dir / PLAN_FILE
    if not p.exists():
        raise FileNotFoundError(f"{p}: no recorded plan; run experiments.estimate and experiments.run (07_train) first")
    df = pd.read_csv(p)
    cols = ["variant", "model", "protocol", "seed", "train_samples", "epochs", "finished", "estimated_s", "measured_s"]
    df = df[[c for c in cols if c in df]]
    total = {"variant": "all runs", "model": "", "protocol": "", "train_samples": df["train_samples"].sum(),
             "epochs": "", "finished": "", "estimated_s": df.get("estimated_s", pd.Series(dtype=float)).sum(),
             "measured_s": df.get("measured_s", pd.Series(dtype=float)).sum()}
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    if "estimated_s" in df and "measured_s" in df:
        df["measured / estimated"] = (df["measured_s"] / df["estimated_s"].where(df["estimated_s"] > 0)).round(2)
    return df


def deep_runs(cfg: AreaConfig, results: list[RunResult], protocol: str | None = None) -> list[Path]:
    """Folders of the finished deep-model runs of training seed 0 (those with a history)."""
    out = []
    for r in results:
        if r.seed != 0:
            continue
        d = cfg.layout.run_dir(r.variant, r.model, r.protocol)
        if registry.is_deep(r.model) and (protocol is None or r.protocol == protocol) and (d / "history.csv").exists():
            out.append(d)
    return out
