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
(:func:`sample_units`); the whole-series baseline predicts a whole test period at once, so its units are the blocks of
the area under every protocol (its rows under a date protocol have an interval but are not paired with date rows).

Training seeds (the profile's ``seeds``): a value is the mean over the seeds' runs, each resample draws the same units
for every seed and takes the mean again (:func:`bootstrap`), and :func:`seed_spread` / :func:`seed_table` give the
standard deviation and range over seeds beside the interval. :func:`summary` is what the results tables show
(:mod:`rocksoil_nb.analyse.results`), :func:`versus_baselines` and :func:`statements` what 08 says.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.learn import metrics, registry
from rocksoil_nb.prepare import splits

N_RESAMPLES = 1000
LEVEL = 0.95
#: fewer held-out units than this: no interval is claimed (a bootstrap of one or two units says nothing; with a few
#: units it is rough and, if anything, too narrow: it cannot see variation the units do not show)
MIN_UNITS = 3
STATS = ("oa", "macro_f1", "miou")


sample_units = splits.sample_units  # the held-out unit of each sample: one rule, beside the protocols
unit_confusions = metrics.unit_confusions


def _draws(n_units: int, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_units, size=(n, n_units))


def batch_scores(cms: np.ndarray, include_nodata: bool = False) -> np.ndarray:
    """OA, macro-F1 and mIoU (columns, in ``STATS`` order) of a stack of confusion matrices (..., C, C), by the rules
    of :func:`rocksoil_nb.learn.metrics.scores` (classes present in the reference, class 0 dropped unless scored)."""
    c = metrics.per_class(cms, include_nodata)
    present = c["support"] > 0
    n_present, total = present.sum(-1), c["support"].sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        oa = np.where(total > 0, c["tp"].sum(-1) / total, 0.0)
        mf1 = np.where(n_present > 0, (c["f1"] * present).sum(-1) / n_present, 0.0)
        miou = np.where(n_present > 0, (c["iou"] * present).sum(-1) / n_present, 0.0)
    return np.stack([oa, mf1, miou], -1)


def _seeded(confs) -> np.ndarray:
    """Per-unit confusions as (seeds, units, C, C): one run (units, C, C) is one seed."""
    c = np.asarray(confs, np.int64)
    return c[None] if c.ndim == 3 else c


def _percentiles(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    return np.percentile(samples, [50 * (1 - level), 100 - 50 * (1 - level)], axis=0)


def bootstrap(confs: np.ndarray, include_nodata: bool = False, n: int = N_RESAMPLES, seed: int = 0,
              level: float = LEVEL) -> dict[str, tuple[float, float, float]]:
    """{stat: (value on all units, lower, upper)} for OA, macro-F1 and mIoU, resampling the units of ``confs``.

    ``confs``: the per-unit confusion matrices of one run (units, C, C), or of one run per training seed on the same
    units (seeds, units, C, C): the value is then the mean over seeds of each seed's score, and each resample draws
    the same units for every seed and takes that mean again (an interval of the seed-averaged score)."""
    c = _seeded(confs)
    point = batch_scores(c.sum(1), include_nodata).mean(0)
    if c.shape[1] < MIN_UNITS:  # one or two units: no interval can be claimed
        return {k: (float(point[i]), np.nan, np.nan) for i, k in enumerate(STATS)}
    draws = _draws(c.shape[1], n, seed)
    samples = np.stack([batch_scores(c[:, d].sum(1), include_nodata).mean(0) for d in draws])
    lo, hi = _percentiles(samples, level)
    return {k: (float(point[i]), float(lo[i]), float(hi[i])) for i, k in enumerate(STATS)}


def paired(confs_a: np.ndarray, confs_b: np.ndarray, include_nodata: bool = False, n: int = N_RESAMPLES, seed: int = 0,
           level: float = LEVEL) -> dict[str, tuple[float, float, float]]:
    """{stat: (a - b on all units, lower, upper)}: the same units resampled for both models (unit order must match;
    either may hold one run per seed, as in :func:`bootstrap`)."""
    a, b = _seeded(confs_a), _seeded(confs_b)
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"paired intervals need the same test units for both models ({a.shape[1]} and {b.shape[1]} units)")
    point = batch_scores(a.sum(1), include_nodata).mean(0) - batch_scores(b.sum(1), include_nodata).mean(0)
    if a.shape[1] < MIN_UNITS:
        return {k: (float(point[i]), np.nan, np.nan) for i, k in enumerate(STATS)}
    diffs = np.stack([batch_scores(a[:, d].sum(1), include_nodata).mean(0) - batch_scores(b[:, d].sum(1), include_nodata).mean(0)
                      for d in _draws(a.shape[1], n, seed)])
    lo, hi = _percentiles(diffs, level)
    return {k: (float(point[i]), float(lo[i]), float(hi[i])) for i, k in enumerate(STATS)}


def seed_spread(confs, include_nodata: bool = False) -> dict[str, float]:
    """{stat: standard deviation over training seeds} of the scores on all units (0 with one seed)."""
    c = _seeded(confs)
    s = batch_scores(c.sum(1), include_nodata)
    return {k: float(s[:, i].std(ddof=1)) if len(s) > 1 else 0.0 for i, k in enumerate(STATS)}


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
        return f"no interval (fewer than {MIN_UNITS} test units): not distinguishable from {baseline}"
    if lo > 0:
        return f"better than {baseline}"
    if hi < 0:
        return f"worse than {baseline}"
    return f"not distinguishable from {baseline}"


@dataclass
class HeldOut:
    """The test confusions of one (variant, protocol, model) per held-out unit, one run per training seed."""

    units: np.ndarray  # unit ids, sorted
    confs: np.ndarray  # (seeds, units, C, C)
    kind: str  # block | date
    seeds: list[int]


def held_out(cfg: AreaConfig, variant: str | None = None) -> dict[tuple[str, str, str], HeldOut]:
    """{(variant, protocol, model): :class:`HeldOut`} of the runs of the profile's training seeds that kept their test
    units (``test_units.npz``); several seeds of a model are aligned on the units all of them hold."""
    from rocksoil_nb.learn.runs import RunResult, read_units, unit_kind

    groups: dict[tuple[str, str, str], list] = {}
    for d in cfg.layout.run_dirs(cfg.profile.seeds):
        r = RunResult.read(d)
        kept = read_units(d)
        if kept is not None and (variant is None or r.variant == variant):
            groups.setdefault((r.variant, r.protocol, r.model), []).append((kept, unit_kind(d), r.seed))
    out = {}
    for key, runs in groups.items():
        common = reduce(np.intersect1d, [u for (u, _), _, _ in runs])
        confs = np.stack([c[np.searchsorted(u, common)] for (u, c), _, _ in runs])
        out[key] = HeldOut(common, confs, runs[0][1], [s for _, _, s in runs])
    return out


def summary(cfg: AreaConfig) -> pd.DataFrame:
    """Per (variant, protocol, model) of the area and profile, the majority guess included: the value (mean over the
    training seeds), its 95 % bootstrap interval over the held-out units, the spread over seeds (standard deviation)
    of OA, macro-F1 and mIoU, the number of seeds, of units and their kind. Runs without kept units are absent; the
    majority guess is derived on the units of the run holding most units of the protocol's own kind."""
    from rocksoil_nb.analyse.results import majority_class
    from rocksoil_nb.learn.runs import protocol_unit

    include0 = cfg.classes.include_nodata
    groups = held_out(cfg)
    for v, p in sorted({(v, p) for v, p, _ in groups}):
        own = [h for (gv, gp, _), h in groups.items() if (gv, gp) == (v, p) and h.kind == protocol_unit(p)]
        try:
            k = majority_class(cfg, v, p)
        except (FileNotFoundError, KeyError):
            continue
        if own:
            groups[(v, p, "majority")] = _majority(max(own, key=lambda h: len(h.units)), k)
    rows = []
    for (v, p, m), h in sorted(groups.items()):
        b, sd = bootstrap(h.confs, include0), seed_spread(h.confs, include0)
        row = {"variant": v, "protocol": p, "model": m, "seeds": len(h.seeds), "units": len(h.units), "unit": h.kind}
        for stat, name in zip(STATS, ("oa", "f1", "miou")):
            row.update({name: b[stat][0], f"{name}_lo": b[stat][1], f"{name}_hi": b[stat][2], f"{name}_sd": sd[stat]})
        rows.append(row)
    return pd.DataFrame(rows)


def _majority(h: HeldOut, cls: int) -> HeldOut:
    """The majority-class guess on the units of ``h`` (its true pixels per unit, all predicted ``cls``)."""
    return HeldOut(h.units, majority_confusions(h.confs[0], cls)[None], h.kind, [])


def versus_baselines(cfg: AreaConfig, variant: str) -> pd.DataFrame:
    """Per model of the area, profile and variant whose runs kept their test units (``test_units.npz``): test OA and
    macro-F1 (mean over the profile's seeds) with their 95 % intervals, and the paired difference in macro-F1 to its
    **best baseline** on the same units: of the majority-class guess (derived on the model's own units), the per-pixel
    RF and the whole-series baseline where they keep the same kind of unit (blocks or dates), the one with the highest
    macro-F1 on the units both hold; with its interval and verdict. Runs trained before units were kept are left out
    (``rocksoil_nb.learn.experiments.keep_units`` gives them their units)."""
    from rocksoil_nb.analyse.results import majority_class
    from rocksoil_nb.core.classes import NAMES

    include0 = cfg.classes.include_nodata
    groups = held_out(cfg, variant)
    rows = []
    for protocol in dict.fromkeys(p for _, p, _ in groups):
        models = {m: h for (_, p, m), h in groups.items() if p == protocol}
        k = majority_class(cfg, variant, protocol)
        for m, h in models.items():
            b = bootstrap(h.confs, include0)
            row = {"protocol": protocol, "model": registry.title(m), "seeds": len(h.seeds), "test units": len(h.units),
                   "unit": h.kind, "OA": b["oa"][0], "OA 95 %": _span(b["oa"]), "F1": b["macro_f1"][0],
                   "F1 95 %": _span(b["macro_f1"])}
            if registry.get(m).baseline:  # the per-pixel baselines (the majority guess is derived, not trained)
                row.update({"best baseline": "", "F1 − baseline": np.nan, "F1 − baseline 95 %": "", "verdict (macro-F1)": "a baseline"})
                rows.append(row)
                continue
            cands = {f"the majority class ({NAMES[k]})": _majority(h, k)}
            cands.update({registry.title(x): models[x] for x in registry.baselines() if x in models and models[x].kind == h.kind})
            pairs = {name: _common(h, c) for name, c in cands.items()}
            name, (a, bb) = max(pairs.items(), key=lambda kv: batch_scores(kv[1][1].sum(1), include0).mean(0)[1])
            diff = paired(a, bb, include0)
            row.update({"best baseline": name, "F1 − baseline": diff["macro_f1"][0], "F1 − baseline 95 %": _span(diff["macro_f1"]),
                        "verdict (macro-F1)": verdict(diff["macro_f1"], name)})
            rows.append(row)
    return pd.DataFrame(rows).round(3)


def _common(a: HeldOut, b: HeldOut) -> tuple[np.ndarray, np.ndarray]:
    """The two models' confusion matrices (seeds, units, C, C) on the units both hold, in one order (a paired comparison)."""
    both = np.intersect1d(a.units, b.units)
    return a.confs[:, np.searchsorted(a.units, both)], b.confs[:, np.searchsorted(b.units, both)]


def seed_table(cfg: AreaConfig, variant: str) -> pd.DataFrame:
    """How much a row moves with the training seed: per (protocol, model) of the variant, over the runs of the profile's
    ``seeds``: their number, and OA and macro-F1 as mean, standard deviation, lowest and highest (from each run's
    ``metrics.json``)."""
    from rocksoil_nb.learn.runs import RunResult

    rows = [(r.protocol, r.model, r.seed, r.score("oa"), r.score("macro_f1"))
            for r in (RunResult.read(d) for d in cfg.layout.run_dirs(cfg.profile.seeds)) if r.variant == variant and r.test]
    df = pd.DataFrame(rows, columns=["protocol", "model", "seed", "oa", "f1"])
    if df.empty:
        return df
    g = df.groupby(["protocol", "model"], sort=True)
    out = pd.DataFrame({"seeds": g["seed"].count()})
    for k, title in (("oa", "OA"), ("f1", "F1")):
        out[f"{title} mean"], out[f"{title} sd"] = g[k].mean(), g[k].std(ddof=1)
        out[f"{title} min"], out[f"{title} max"] = g[k].min(), g[k].max()
    out = out[out["seeds"] > 1].reset_index()  # a row of one seed has no spread
    out["model"] = out["model"].map(registry.title)
    return out.round(3)


def statements(cfg: AreaConfig) -> str:
    """08's sentences, one per variant of the area and profile with kept test units (:func:`statement`), as Markdown."""
    from rocksoil_nb.learn.runs import RunResult

    variants = sorted({RunResult.read(d).variant for d in cfg.layout.run_dirs(cfg.profile.seeds)})
    return "\n\n".join(statement(versus_baselines(cfg, v), v) for v in variants) or "No finished run yet."


def _short(verdict_text: str, baseline: str) -> str:
    """A verdict in the sentence: 'no interval' without the baseline's name."""
    if verdict_text.startswith("no interval"):
        return f"has no interval (fewer than {MIN_UNITS} test units)"
    return verdict_text


def _span(v: tuple[float, float, float]) -> str:
    return "—" if np.isnan(v[1]) else f"[{v[1]:.3f}, {v[2]:.3f}]"


def statement(table: pd.DataFrame, variant: str) -> str:
    """08's sentence for a variant: each model against its best baseline on the same units, by the paired interval."""
    if table.empty:
        return f"{variant}: no run kept its test units yet (retrain to get intervals)."
    parts = []
    for proto, g in table.groupby("protocol", sort=False):
        models = g[g["verdict (macro-F1)"] != "a baseline"]
        if models.empty:
            continue
        said = "; ".join(f"{m} ({n} {u}{'s' if n != 1 else ''}) {_short(v, b)}" for m, n, u, v, b in
                         zip(models["model"], models["test units"], models["unit"], models["verdict (macro-F1)"], models["best baseline"]))
        mixed = " (rows kept by blocks and rows kept by dates are not paired: compare their intervals in the table)"
        parts.append(f"under the {proto} protocol: {said}" + (mixed if g["unit"].nunique() > 1 else ""))
    return (f"**{variant}**, macro-F1 against the best baseline on the same held-out units (paired bootstrap of the held-out "
            f"units, {N_RESAMPLES} resamples, 95 %): " + "; ".join(parts) + ".")
