"""The experiment matrix (07_train, ``make experiments``): variants × models × split protocols, each
run resumable, and the results gathered in one table with a majority-class row per variant and protocol."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import classes, train, tune


def plan(cfg) -> pd.DataFrame:
    """The runs the profile asks for, and whether each is already finished."""
    rows = []
    for v, m, p in itertools.product(cfg.profile.variants, cfg.profile.models, cfg.profile.protocols):
        d = train.run_dir(cfg, v, m, p)
        rows.append({"variant": v, "model": m, "protocol": p, "finished": (d / "metrics.json").exists(), "folder": str(d)})
    return pd.DataFrame(rows)


def run(cfg, use_tuned: bool = False, verbose: int = 0) -> list[dict]:
    """Train every planned run (resuming unfinished ones); returns their results."""
    hp = tune.load_best(cfg) if use_tuned else None
    if use_tuned and hp is None:
        raise FileNotFoundError(f"{cfg.models_dir / 'best_params.json'}: no tuned parameters; run 06_tune or set use_tuned = False")
    out = []
    todo = plan(cfg)
    for _, r in tqdm(todo.iterrows(), total=len(todo), desc="runs", unit="run"):
        out.append(train.train(cfg, r["variant"], r["model"], r["protocol"], hp_overrides=hp, verbose=verbose))
    return out


def majority_scores(cfg, variant: str, protocol: str, kind: str = "cnn") -> dict:
    """OA and macro-F1 of always predicting the training split's most frequent class, on the test split."""
    from . import metrics
    from .patches import read_manifest
    from .preprocess import patches_dir

    hist = read_manifest(patches_dir(cfg, variant))["kinds"][kind][protocol]["class_pixels"]
    train_c, test_c = np.array(hist["train"]), np.array(hist["test"])
    if not cfg.classes.include_nodata:
        train_c[0] = test_c[0] = 0
    k = int(train_c.argmax())
    cm = np.zeros((classes.N_CLASSES, classes.N_CLASSES), dtype=np.int64)
    cm[:, k] = test_c
    s = metrics.scores(cm, cfg.classes.include_nodata)
    return {"oa": s["oa"], "macro_f1": s["macro_f1"], "miou": s["miou"], "class": classes.NAMES[k]}


def results_table(results: list[dict], cfg=None) -> pd.DataFrame:
    """One row per run (test OA, macro-F1, mIoU), with the majority-class row of each variant/protocol."""
    rows = []
    for r in results:
        t = r.get("test") or {}
        rows.append({"variant": r["variant"], "protocol": r["protocol"], "model": r["model"], "epochs": r["epochs_run"],
                     "test_oa": t.get("oa"), "test_macro_f1": t.get("macro_f1"), "test_miou": t.get("miou"),
                     "test_samples": r.get("test_samples")})
    df = pd.DataFrame(rows)
    if cfg is not None and len(df):
        for (v, p), _ in df.groupby(["variant", "protocol"]):
            m = majority_scores(cfg, v, p)
            rows.append({"variant": v, "protocol": p, "model": f"majority class ({m['class']})", "epochs": 0, "test_oa": m["oa"],
                         "test_macro_f1": m["macro_f1"], "test_miou": m["miou"], "test_samples": None})
        df = pd.DataFrame(rows)
    return df.sort_values(["variant", "protocol", "model"]).reset_index(drop=True).round(3) if len(df) else df


def deep_runs(cfg, results: list[dict], protocol: str | None = None) -> list[Path]:
    """Folders of the finished deep-model runs (those with a history)."""
    out = []
    for r in results:
        d = train.run_dir(cfg, r["variant"], r["model"], r["protocol"])
        if r["model"] != "pixel_rf" and (protocol is None or r["protocol"] == protocol) and (d / "history.csv").exists():
            out.append(d)
    return out


def gather(cfg) -> list[dict]:
    """Every finished run under ``models/<aoi>/`` (for 08_evaluate)."""
    out = []
    for p in sorted(cfg.models_dir.glob("*-*-*/metrics.json")):
        out.append(json.loads(p.read_text()))
    return out
