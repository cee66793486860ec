"""What a whole-series model looks at: permutation importance of groups of its inputs on the spatial test blocks.

A group is a set of (pass, band) cells of every pixel's series: one band over all passes (the LST, whose scene anomaly
the features use, the emissivity, VV, VH), all bands of the day or of the night passes, of one season or of one month
of the pass (UTC). Its importance is the drop in macro-F1 when the group's cells are shuffled across the test pixels
(each pixel gets another test pixel's values for that group, missing where that pixel had none; the rest of its series
is its own), the features recomputed and the model asked again — Breiman's (2001) permutation importance, done on
groups of raw inputs rather than on single features because the model's features mix passes and bands (an annual
harmonic reads every month). Shuffles are repeated (:data:`REPEATS`) and the drop is the mean over repeats; its 95 %
interval is the paired block bootstrap of the honest-numbers work (:func:`rocksoil_nb.analyse.intervals.paired`:
the same test blocks resampled for the intact and the shuffled predictions). Scene medians (the anomaly's reference)
are those of the intact scene.

Beside it, scikit-learn's :func:`~sklearn.inspection.permutation_importance` on the model's own features (one feature
at a time, macro-F1) says which summaries matter, e.g. whether the annual amplitude or the night-time anomaly does, as
the physics of thermal inertia expects (a rock's night temperature and the amplitude of its annual cycle are what its
thermal inertia controls; Kahle 1977, Price 1977).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rocksoil_nb.analyse.intervals import MIN_UNITS
from rocksoil_nb.analyse.results import cell
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.learn import metrics, registry
from rocksoil_nb.learn.series_baseline import SeriesInputs, features_of, scene_features, scene_medians, series_inputs, split_pixels
from rocksoil_nb.learn.series_features import focal_means
from rocksoil_nb.prepare import cube, splits
from rocksoil_nb.prepare.manifest import DatasetManifest

REPEATS = 3  # shuffles per group
MAX_PIXELS = 100_000  # test pixels at most (a seeded sample)
SEASONS = {12: "winter (DJF)", 1: "winter (DJF)", 2: "winter (DJF)", 3: "spring (MAM)", 4: "spring (MAM)", 5: "spring (MAM)",
           6: "summer (JJA)", 7: "summer (JJA)", 8: "summer (JJA)", 9: "autumn (SON)", 10: "autumn (SON)", 11: "autumn (SON)"}
GROUPINGS = ("band", "day / night", "season", "month")
INERTIA_FEATURES = ("night_mean", "day_minus_night", "harmonic_amp")  # what thermal inertia sets (Price 1977)
BAND_TITLES = {"temp": "{name} (scene anomaly)", "emis": "emissivity", "vv": "VV", "vh": "VH"}


def input_groups(inputs: SeriesInputs) -> dict[str, dict[str, np.ndarray]]:
    """{grouping: {group: (T, K) bool mask of the (pass, band) cells it shuffles}}, bands in ``inputs.bands`` order;
    groupings the cube cannot tell (day/night without flags, season and month without dates) are left out."""
    keys = list(inputs.bands)
    n_t = inputs.passes
    out: dict[str, dict[str, np.ndarray]] = {}

    def by_pass(labels, order=None) -> dict[str, np.ndarray]:
        labels = np.asarray(labels)
        return {str(g): np.repeat((labels == g)[:, None], len(keys), 1) for g in dict.fromkeys(labels if order is None else order)}

    if not n_t:
        raise ValueError("no pass to group the inputs of")
    out["band"] = {BAND_TITLES[k].format(name=inputs.names[k]): np.repeat((np.arange(len(keys)) == i)[None], n_t, 0)
                   for i, k in enumerate(keys)}
    if inputs.is_day is not None:
        out["day / night"] = by_pass(np.where(inputs.is_day, "day passes", "night passes"))
    if inputs.when is not None:
        months = inputs.when.month.to_numpy()
        first = np.argsort((months - 12) % 12, kind="stable")  # winter (Dec) first, then the calendar
        out["season"] = by_pass(np.array([SEASONS[k] for k in months]), [SEASONS[k] for k in months[first]])
        out["month"] = by_pass(inputs.when.strftime("%b").to_numpy(), list(inputs.when[np.argsort(months, kind="stable")].strftime("%b")))
    return out


def group_drops(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, y: np.ndarray, units: np.ndarray,
                groups: dict[str, np.ndarray], repeats: int = REPEATS, seed: int = 0, include_nodata: bool = False,
                progress: bool = False, intact: np.ndarray | None = None) -> pd.DataFrame:
    """One row per group: its importance (drop in macro-F1 when its cells are shuffled across pixels), the 95 %
    interval of the drop (paired block bootstrap over ``units``) and the spread over repeats.

    ``predict`` maps inputs (N, T, K) to class codes (N,); ``x`` the test pixels' inputs (NaN where missing), ``y`` their
    true classes, ``units`` their held-out unit (block); ``groups`` {name: (T, K) bool mask}; ``intact``: the model's
    classes for ``x`` as it is, when already known."""
    from tqdm.auto import tqdm

    from rocksoil_nb.analyse import intervals

    ones = np.ones((len(y), 1), bool)

    def confs(pred: np.ndarray) -> np.ndarray:
        return metrics.unit_confusions(y[:, None], pred[:, None], ones, units)[1]

    base = confs(predict(x) if intact is None else intact)
    base_f1 = intervals.batch_scores(base.sum(0), include_nodata)[1]
    rng = np.random.default_rng(seed)
    rows = []
    for name, mask in tqdm(groups.items(), desc="importance", unit="group", disable=not progress):
        shuffled, f1 = [], []
        cells = x[:, mask]
        for _ in range(repeats):
            xp = x.copy()
            xp[:, mask] = cells[rng.permutation(len(x))]
            shuffled.append(confs(predict(xp)))
            f1.append(intervals.batch_scores(shuffled[-1].sum(0), include_nodata)[1])
        drop, lo, hi = intervals.paired(base, np.stack(shuffled), include_nodata)["macro_f1"]
        rows.append({"group": name, "cells": int(mask.sum()), "drop": drop, "lo": lo, "hi": hi,
                     "sd": float(np.std(base_f1 - np.array(f1)))})
    return pd.DataFrame(rows)


@dataclass
class Importance:
    """Permutation importance of one whole-series run (see the module docstring)."""

    run: str
    model: str
    base_f1: float  # macro-F1 of the intact inputs on the pixels used
    pixels: int
    blocks: int
    table: pd.DataFrame  # grouping, group, cells, drop, lo, hi, sd
    features: pd.DataFrame  # feature, drop, sd (scikit-learn, one feature at a time)
    note: str = ""  # why this run (when it is not the mapped one)

    def save(self, folder) -> list:
        """Write the group and feature tables (``importance_<run>.csv``, ``importance_features_<run>.csv``) to ``folder``."""
        from pathlib import Path

        from rocksoil_nb.core import io

        return [io.write_csv(Path(folder) / f"importance_{self.run}.csv", self.table),
                io.write_csv(Path(folder) / f"importance_features_{self.run}.csv", self.features)]

    def top(self, grouping: str) -> pd.Series:
        return self.table[self.table.grouping == grouping].sort_values("drop", ascending=False).iloc[0]

    def statement(self) -> str:
        """What matters, in words, and whether it agrees with thermal-inertia physics."""
        t = self.table
        parts = [f"Permutation importance of {registry.title(self.model)} ({self.run}) on {self.pixels:,} test pixels in "
                 f"{self.blocks} spatial test block{'s' if self.blocks != 1 else ''} (macro-F1 {self.base_f1:.3f} intact){self.note}."]
        tops = [f"{r.group} by {g} ({cell(r['drop'], r['lo'], r['hi'])})" for g in GROUPINGS if g in set(t.grouping)
                for r in [self.top(g)]]
        clear = int((t.lo > 0).sum())
        parts.append(f"Largest drops: {'; '.join(tops)}; " + (
            f"no interval: fewer than {MIN_UNITS} test blocks." if t.lo.isna().all() else
            f"{clear} of {len(t)} groups lower macro-F1 beyond their interval." if clear else
            "no group's shuffle lowers macro-F1 beyond its interval: the model relies on no one group."))
        dn = t[t.grouping == "day / night"].set_index("group")
        if {"day passes", "night passes"} <= set(dn.index) and dn["lo"].notna().all():
            d, n = dn.loc["day passes"], dn.loc["night passes"]
            parts.append("Night passes matter more than day passes, as thermal inertia predicts." if n["lo"] > d["hi"] else
                         "Day passes matter more than night passes: daytime heating (albedo, moisture, vegetation) more "
                         "than the night-time temperature thermal inertia sets." if d["lo"] > n["hi"] else
                         "Day and night passes matter about as much (their intervals overlap).")
        f = self.features.sort_values("drop", ascending=False).reset_index(drop=True)
        if len(f):
            rank = {n: i + 1 for i, n in enumerate(f.feature)}
            amp = [n for n in rank if n.startswith("harmonic_amp")]
            inertia = [n for n in f.feature[:3] if n.split("_focal")[0] in INERTIA_FEATURES]
            amp_text = f" (annual amplitude: rank {rank[amp[0]]} of {len(f)})" if amp else ""
            parts.append(f"Top features: {', '.join(f.feature[:3])}{amp_text}"
                         + (": a night-time or day-night feature leads, as thermal inertia predicts." if inertia else
                            ": no night-time or day-night feature among them, not the cue thermal inertia predicts."))
        return " ".join(parts)


def _test_inputs(cube_path, times: np.ndarray, px: np.ndarray, inputs: SeriesInputs, max_pixels: int, seed: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x (N, T, K) float32 NaN where invalid, rows, cols) of a seeded sample of the pixels in mask ``px``, read in strips."""
    ds = cube.open_cube(cube_path)
    rr, cc = np.nonzero(px)
    if len(rr) > max_pixels:
        keep = np.sort(np.random.default_rng(seed).choice(len(rr), max_pixels, replace=False))
        rr, cc = rr[keep], cc[keep]
    bands = list(inputs.bands.values())
    x = np.full((len(rr), len(times), len(bands)), np.nan, np.float32)
    thermal = [i for i, k in enumerate(inputs.bands) if k in ("temp", "emis")]  # masked where the pass is not valid
    step = 64
    for r0 in range(int(rr.min()) if len(rr) else 0, int(rr.max()) + 1 if len(rr) else 0, step):
        sel = (rr >= r0) & (rr < r0 + step)
        if not sel.any():
            continue
        rows = slice(r0, r0 + step)
        data = ds["data"].isel(time=times, y=rows).values[:, bands]  # (T, K, h, W)
        valid = ds["valid"].isel(time=times, y=rows).values.astype(bool)
        part = data[:, :, rr[sel] - r0, cc[sel]].transpose(2, 0, 1)  # (n, T, K)
        ok = valid[:, rr[sel] - r0, cc[sel]].T  # (n, T)
        part[:, :, thermal] = np.where(ok[..., None], part[:, :, thermal], np.nan)
        x[sel] = part
    return x, rr, cc


@dataclass
class SeriesProbe:
    """A :class:`~rocksoil_nb.learn.series_baseline.PixelSeries` asked about test pixels' inputs (N, T, K): their
    features recomputed (valid where temperature and emissivity are both finite, anomalies against the intact scene's
    ``medians``); for a model with focal means, set into the intact ``scene`` feature map (H, W, F) at (``rows``,
    ``cols``) before the neighbourhood means are taken."""

    model: object
    inputs: SeriesInputs  # bands numbered as in the inputs' last axis
    medians: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    scene: np.ndarray | None = None

    def features(self, x: np.ndarray) -> tuple[np.ndarray, list[str]]:
        data = np.moveaxis(x, 0, -1)  # (T, K, N)
        b = self.inputs.bands
        f, names = features_of(data, np.isfinite(data[:, b["temp"]]) & np.isfinite(data[:, b["emis"]]), self.inputs,
                               self.medians)
        focal = getattr(self.model, "focal", ())
        if not focal:
            return f, names
        full = self.scene.copy()
        full[self.rows, self.cols] = f
        f, names = focal_means(full, names, focal)
        return f[self.rows, self.cols], names

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(self.features(x)[0])


def feature_importance(model, f: np.ndarray, y: np.ndarray, names: list[str], repeats: int, seed: int) -> pd.DataFrame:
    """scikit-learn's permutation importance of each of the model's features (drop in macro-F1), on at most 20 000
    of the pixels."""
    from sklearn.inspection import permutation_importance

    if len(y) > 20_000:
        keep = np.random.default_rng(seed).choice(len(y), 20_000, replace=False)
        f, y = f[keep], y[keep]
    r = permutation_importance(model.model, f[:, model.columns], y, scoring="f1_macro", n_repeats=repeats,
                               random_state=seed, n_jobs=1)
    used = [n for n, k in zip(names, model.columns) if k]
    return pd.DataFrame({"feature": used, "drop": r.importances_mean, "sd": r.importances_std})


def run_importance(cfg: AreaConfig, variant: str, model: str, protocol: str = "spatial", repeats: int = REPEATS,
                   seed: int = 0, max_pixels: int = MAX_PIXELS, progress: bool = True, note: str = "") -> Importance:
    """Permutation importance of the finished whole-series run ``variant``/``model``/``protocol`` on its test pixels."""
    import joblib

    from rocksoil_nb.learn.series_baseline import MODEL_FILE
    from rocksoil_nb.prepare.steps import load_labels

    if registry.maps_of(model) != "series":
        raise ValueError(f"model {model!r} does not read each pixel's whole series; importance is measured for "
                         f"{[m for m in registry.names() if registry.maps_of(m) == 'series']}")
    run_dir = cfg.layout.run_dir(variant, model, protocol)
    ds_dir = cfg.layout.patches_dir(variant)
    m = DatasetManifest.read(ds_dir)
    labels = load_labels(cfg)
    times, px = split_pixels(ds_dir, protocol, labels, cfg.classes.include_nodata)["test"]
    if not px.any():
        raise ValueError(f"{run_dir}: no labelled test pixel under the {protocol} protocol")
    est = joblib.load(run_dir / MODEL_FILE)
    times = np.sort(times)
    inputs = series_inputs(cube.open_cube(m.cube), times, m.bands)
    x, rr, cc = _test_inputs(m.cube, times, px, inputs, max_pixels, seed)
    y = labels[rr, cc].astype(int)
    units = splits.sample_units(pd.DataFrame({"row": rr, "col": cc}), "spatial", m.spatial.block_px)
    medians = scene_medians(m.cube, times)
    scene = scene_features(m.cube, times, m.bands, medians)[0] if getattr(est, "focal", ()) else None
    local = dataclasses.replace(inputs, bands={k: i for i, k in enumerate(inputs.bands)})  # x's band axis
    probe = SeriesProbe(est, local, medians, rr, cc, scene)
    f, names = probe.features(x)
    intact = est.predict(f)
    tables = [group_drops(probe.predict, x, y, units, groups, repeats, seed, cfg.classes.include_nodata, progress, intact)
              .assign(grouping=grouping) for grouping, groups in input_groups(inputs).items()]
    table = pd.concat(tables, ignore_index=True)[["grouping", "group", "cells", "drop", "lo", "hi", "sd"]]
    feats = feature_importance(est, f, y, names, repeats, seed)
    base = metrics.scores(metrics.confusion(y, intact, None), cfg.classes.include_nodata)["macro_f1"]
    return Importance(run_dir.name, model, float(base), len(y), len(np.unique(units)), table, feats, note)


def best_series_model(cfg: AreaConfig, results: pd.DataFrame, variant: str, protocol: str = "spatial") -> str:
    """The finished whole-series model of the variant with the best test macro-F1 under ``protocol`` (ties to the
    simpler, as 08's mapped model)."""
    from rocksoil_nb.analyse.evaluation import candidates

    r = candidates(cfg, results, variant, protocol)
    r = r[r["model"].map(lambda n: registry.maps_of(n) == "series")]
    if r.empty:
        raise FileNotFoundError(f"no finished whole-series run of {variant}/{protocol} for {cfg.name}: train pixel_series")
    return str(r["model"].iloc[0])


def importance_model(cfg: AreaConfig, results: pd.DataFrame, variant: str, chosen: str, protocol: str = "spatial"
                     ) -> tuple[str, str]:
    """(model whose importance 08 shows, why): the mapped model when it reads whole series, else the best finished
    whole-series model of the variant (test macro-F1 under ``protocol``)."""
    if registry.maps_of(chosen) == "series":
        return chosen, ""
    why = f"; the mapped model ({registry.title(chosen)}) reads windows, not whole series, so this is the best whole-series model"
    return best_series_model(cfg, results, variant, protocol), why


def tae_attention(cfg: AreaConfig, variant: str, protocol: str = "spatial", max_batches: int = 20, run_dir=None) -> pd.DataFrame:
    """The whole-year model's temporal attention on its test samples, per date: one row per (sample, date) present
    with its day of year (UTC; NaN where the cube's dates are unknown), day/night and ``attention`` relative to an even
    spread (the weight, averaged over heads and positions, times the number of present dates: 1 = as much as any
    other date, 2 = twice). ``run_dir``: the run's folder when not the area's ``variant``/``tae``/``protocol`` one."""
    import keras

    from rocksoil_nb.infer.predict import load_run
    from rocksoil_nb.learn.datasets import PatchData
    from rocksoil_nb.learn.inputs import DATE_CHANNELS

    run_dir = run_dir or cfg.layout.run_dir(variant, "tae", protocol)
    net, spec = load_run(run_dir)
    probe = keras.Model(net.inputs, [net.get_layer("temporal_attention").output, net.get_layer("date_planes").output[1]])
    data = PatchData(cfg.layout.patches_dir(spec.variant), spec.protocol, "test", spec.kind, batch_size=16, shuffle=False,
                     include_nodata=cfg.classes.include_nodata, validity_channel=spec.validity_channel)
    rows = []
    for i in range(min(len(data), max_batches)):
        att, code = (np.asarray(a) for a in probe.predict(data[i][0], verbose=0))
        weight = att.mean(axis=(2, 3, 4))  # (B, T)
        present = code[..., DATE_CHANNELS - 1] > 0.5
        known = (code[..., 0] != 0) | (code[..., 1] != 0)
        doy = np.where(known, np.mod(np.arctan2(code[..., 0], code[..., 1]) * 365.25 / (2 * np.pi), 365.25), np.nan)
        n = present.sum(1, keepdims=True)
        for b, t in zip(*np.nonzero(present)):
            rows.append({"sample": i * data.batch_size + b, "doy": doy[b, t], "day": bool(code[b, t, 2] > 0.5),
                         "attention": float(weight[b, t] * n[b, 0])})
    if not rows:
        raise ValueError(f"{run_dir}: no test sample to read the attention of")
    return pd.DataFrame(rows)


def attention_statement(att: pd.DataFrame) -> str:
    """Which dates the whole-year model weighs most, in words."""
    by = att.groupby("day")["attention"].mean()
    parts = [f"U-TAE's attention over {att['sample'].nunique()} test samples"]
    if {True, False} <= set(by.index):
        parts.append(f"night passes get {by[False]:.2f}× and day passes {by[True]:.2f}× an even share")
    if att["doy"].notna().any():
        month = (pd.to_datetime("2023-01-01") + pd.to_timedelta(att["doy"].dropna(), "D")).dt.strftime("%b")
        m = att.loc[month.index].assign(month=month.to_numpy()).groupby("month")["attention"].mean().sort_values()
        parts.append(f"it weighs {m.index[-1]} most ({m.iloc[-1]:.2f}×) and {m.index[0]} least ({m.iloc[0]:.2f}×)")
    else:
        parts.append("the dates of this set are unknown, so no season can be read")
    return "; ".join(parts) + "."
