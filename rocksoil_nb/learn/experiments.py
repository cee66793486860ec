"""The experiment matrix (07_train, ``make experiments``): variants × models × split protocols, each run
resumable. The results table is :mod:`rocksoil_nb.analyse.results`."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from rocksoil_nb.learn import train, tune
from rocksoil_nb.learn.runs import METRICS, RunResult


def plan(cfg) -> pd.DataFrame:
    """The runs the profile asks for, and whether each is already finished."""
    rows = []
    for v, m, p in itertools.product(cfg.profile.variants, cfg.profile.models, cfg.profile.protocols):
        d = cfg.layout.run_dir(v, m, p)
        rows.append({"variant": v, "model": m, "protocol": p, "finished": (d / METRICS).exists(), "folder": str(d)})
    return pd.DataFrame(rows)


def run(cfg, use_tuned: bool = False, verbose: int = 0) -> list[RunResult]:
    """Train every planned run (resuming unfinished ones); returns their results."""
    hp = tune.load_best(cfg) if use_tuned else None
    if use_tuned and hp is None:
        raise FileNotFoundError(f"{cfg.layout.best_params}: no tuned parameters; run 06_tune or set use_tuned = False")
    out = []
    todo = plan(cfg)
    for _, r in tqdm(todo.iterrows(), total=len(todo), desc="runs", unit="run"):
        out.append(train.train(cfg, r["variant"], r["model"], r["protocol"], hp_overrides=hp, verbose=verbose))
    return out


def deep_runs(cfg, results: list[RunResult], protocol: str | None = None) -> list[Path]:
    """Folders of the finished deep-model runs (those with a history)."""
    out = []
    for r in results:
        d = cfg.layout.run_dir(r.variant, r.model, r.protocol)
        if r.model != "pixel_rf" and (protocol is None or r.protocol == protocol) and (d / "history.csv").exists():
            out.append(d)
    return out


