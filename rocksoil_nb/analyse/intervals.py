"""95 % intervals of map accuracy that respect how the test set was held out.

Pixels of one test block (spatial protocol) or one date (thesis protocol) are not independent: neighbouring pixels
share a unit, a date shares its weather. Resampling pixels gives intervals that are far too narrow. Here the units
the protocol holds out are resampled with replacement (a cluster / block bootstrap: Davison & Hinkley 1997,
*Bootstrap Methods and their Application*, §2.4 and §3.8; for held-out blocks of spatial data, Roberts et al. 2017,
*Ecography* 40:913, "Cross-validation strategies for data with temporal, spatial, hierarchical, or phylogenetic
structure"): each resample sums the confusion matrices of the drawn units and scores the sum (OA, macro-F1, mIoU,
:mod:`rocksoil_nb.learn.metrics`); the interval is the 2.5th-97.5th percentile of ``N_RESAMPLES`` resamples
(percentile method, seeded: the same numbers in every run).

A **paired** difference between two models resamples the same units for both (their confusion matrices per unit over
the same test units), so what the units share cancels; its interval says whether one model is better
(:func:`verdict`). Units: blocks under ``spatial``, dates under ``thesis`` and ``thesis_files``
(:func:`sample_units`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rocksoil_nb.learn import metrics
from rocksoil_nb.prepare import splits

N_RESAMPLES = 1000
LEVEL = 0.95
STATS = ("oa", "macro_f1", "miou")
BASELINES = ("pixel_rf", "pixel_series")  # the per-pixel baseline runs (the majority guess is derived, not trained)


sample_units = splits.sample_units  # the held-out unit of each sample: one rule, beside the protocols
unit_confusions = metrics.unit_confusions


def _draws(n_units: int, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_units, size=(n, n_units))


def _scores(conf: np.ndarray, include_nodata: bool) -> dict[str, float]:
    s = metrics.scores(conf, include_nodata)
    return {k: s[k] for k in STATS}


def bootstrap(confs: np.ndarray, include_nodata: bool = False, n: int = N_RESAMPLES, seed: int = 0,
              level: float = LEVEL) -> dict[str, tuple[float, float, float]]:
    """{stat: (value on all units, lower, upper)} for OA, macro-F1 and mIoU, resampling the units of ``confs``."""
    confs = np.asarray(confs, np.int64)
    point = _scores(confs.sum(0), include_nodata)
    if len(confs) < 2:  # one unit: nothing to resample, no interval can be claimed
        return {k: (point[k], np.nan, np.nan) for k in STATS}
    draws = _draws(len(confs), n, seed)
    samples = np.array([list(_scores(confs[d].sum(0), include_nodata).values()) for d in draws])
    lo, hi = np.percentile(samples, [50 * (1 - level), 100 - 50 * (1 - level)], axis=0)
    return {k: (point[k], float(lo[i]), float(hi[i])) for i, k in enumerate(STATS)}


def paired(confs_a: np.ndarray, confs_b: np.ndarray, include_nodata: bool = False, n: int = N_RESAMPLES, seed: int = 0,
           level: float = LEVEL) -> dict[str, tuple[float, float, float]]:
    """{stat: (a - b on all units, lower, upper)}: the same units resampled for both models (unit order must match)."""
    a, b = np.asarray(confs_a, np.int64), np.asarray(confs_b, np.int64)
    if a.shape != b.shape:
        raise ValueError(f"paired intervals need the same test units for both models ({a.shape[0]} and {b.shape[0]} units)")
    pa, pb = _scores(a.sum(0), include_nodata), _scores(b.sum(0), include_nodata)
    point = {k: pa[k] - pb[k] for k in STATS}
    if len(a) < 2:
        return {k: (point[k], np.nan, np.nan) for k in STATS}
    diffs = []
    for d in _draws(len(a), n, seed):
        sa, sb = _scores(a[d].sum(0), include_nodata), _scores(b[d].sum(0), include_nodata)
        diffs.append([sa[k] - sb[k] for k in STATS])
    lo, hi = np.percentile(np.array(diffs), [50 * (1 - level), 100 - 50 * (1 - level)], axis=0)
    return {k: (point[k], float(lo[i]), float(hi[i])) for i, k in enumerate(STATS)}


def majority_confusions(confs: np.ndarray, cls: int) -> np.ndarray:
    """The per-unit confusion matrices of a model that predicts ``cls`` everywhere, on the same units (every true
    pixel of a unit lands in column ``cls``): the majority-class baseline, paired with any model."""
    confs = np.asarray(confs, np.int64)
    out = np.zeros_like(confs)
    out[:, :, cls] = confs.sum(2)
    return out


def verdict(diff: tuple[float, float, float], baseline: str) -> str:
    """In words, from a paired difference (value, lower, upper): better than / worse than / not distinguishable."""
    _, lo, hi = diff
    if np.isnan(lo) or np.isnan(hi):
        return f"no interval (one test unit): not distinguishable from {baseline}"
    if lo > 0:
        return f"better than {baseline}"
    if hi < 0:
        return f"worse than {baseline}"
    return f"not distinguishable from {baseline}"


def versus_baselines(cfg, variant: str) -> pd.DataFrame:
    """Per run of the area, profile and variant that kept its test units (``test_units.npz``; deep models, the
    per-pixel RF, the whole-series baseline under ``spatial``): test OA and macro-F1 with their 95 % intervals, and
    the paired difference in macro-F1 to the **best baseline row** of its protocol (the majority-class guess, the
    per-pixel RF, the whole-series baseline: the one with the highest macro-F1) on the units both hold, with its
    interval and verdict. Rows of runs trained before units were kept are left out."""
    from rocksoil_nb.analyse.results import MODEL_NAMES, majority_class
    from rocksoil_nb.core.classes import NAMES
    from rocksoil_nb.learn.runs import RunResult, read_units

    include0 = cfg.classes.include_nodata
    runs: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for d in cfg.layout.run_dirs():
        r = RunResult.read(d)
        kept = read_units(d)
        if r.variant == variant and kept is not None:
            runs.setdefault(r.protocol, {})[r.model] = kept
    rows = []
    for protocol, models in runs.items():
        k = majority_class(cfg, variant, protocol)
        ref_units, ref_confs = next(iter(models.values()))
        base = {f"the majority class ({NAMES[k]})": (ref_units, majority_confusions(ref_confs, k))}
        base.update({MODEL_NAMES[m]: models[m] for m in BASELINES if m in models})
        best_name, (best_units, best_confs) = max(base.items(), key=lambda kv: _scores(kv[1][1].sum(0), include0)["macro_f1"])
        for m, (units, confs) in models.items():
            b = bootstrap(confs, include0)
            row = {"protocol": protocol, "model": MODEL_NAMES.get(m, m), "test units": len(units),
                   "OA": b["oa"][0], "OA 95 %": _span(b["oa"]), "F1": b["macro_f1"][0], "F1 95 %": _span(b["macro_f1"]),
                   "best baseline": best_name}
            if m in BASELINES:
                row.update({"F1 − baseline": np.nan, "F1 − baseline 95 %": "", "verdict (macro-F1)": "a baseline"})
            else:
                a, bb = _common(units, confs, best_units, best_confs)
                diff = paired(a, bb, include0)
                row.update({"F1 − baseline": diff["macro_f1"][0], "F1 − baseline 95 %": _span(diff["macro_f1"]),
                            "verdict (macro-F1)": verdict(diff["macro_f1"], best_name)})
            rows.append(row)
    return pd.DataFrame(rows).round(3)


def _common(units_a, confs_a, units_b, confs_b) -> tuple[np.ndarray, np.ndarray]:
    """The two models' confusion matrices on the units both hold, in one order (a paired comparison)."""
    both = np.intersect1d(units_a, units_b)
    ia, ib = np.searchsorted(units_a, both), np.searchsorted(units_b, both)
    return np.asarray(confs_a)[ia], np.asarray(confs_b)[ib]


def _span(v: tuple[float, float, float]) -> str:
    return "—" if np.isnan(v[1]) else f"[{v[1]:.3f}, {v[2]:.3f}]"


def statement(table: pd.DataFrame, variant: str) -> str:
    """08's sentence for a variant: each model against the best baseline row of its protocol, by its interval."""
    if table.empty:
        return f"{variant}: no run kept its test units yet (retrain to get intervals)."
    parts = []
    for proto, g in table.groupby("protocol", sort=False):
        models = g[g["verdict (macro-F1)"] != "a baseline"]
        if models.empty:
            continue
        said = "; ".join(f"{m} {v.split(' ' + b)[0]}" for m, v, b in zip(models["model"], models["verdict (macro-F1)"],
                                                                           models["best baseline"]))
        parts.append(f"under the {proto} protocol ({int(g['test units'].max())} test units), against its best baseline, "
                     f"{models['best baseline'].iloc[0]}: {said}")
    return (f"**{variant}**, macro-F1 by a paired bootstrap of the held-out units ({N_RESAMPLES} resamples, 95 %): "
            + "; ".join(parts) + ".")
