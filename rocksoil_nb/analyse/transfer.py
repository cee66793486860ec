"""The ``other_areas`` protocol: train on some areas, test on the whole of one never seen — mapping ground without a map.

Per rotation, the test area's every labelled pixel is held out and the model is fitted on the labelled pixels of the
other areas (a seeded sample of at most :data:`MAX_PIXELS`, the same number from each). Only classes some training
area has can be predicted; test pixels of other classes are **not learnable** and are reported with their share, not
scored. Held-out units for the 95 % intervals are the test area's spatial blocks (the block bootstrap of
:mod:`rocksoil_nb.analyse.intervals`); the majority row predicts the test area's most common learnable class everywhere
(the usual majority row: it knows the test area's class shares, which a map of new ground would not).

What makes inputs comparable across areas (climate, elevation, the day's weather):

* **scene anomaly** (always): every pass's LST minus that pass's median over the scene
  (:func:`rocksoil_nb.learn.series_features.anomaly`), so a warmer climate or a hotter day does not shift the features;
  emissivity (0-1) and backscatter (dB) are physical quantities comparable as they are.
* **per-area standardisation** (``area``): every feature minus its median over the area's labelled pixels, divided
  by its inter-quartile range there — removes what the anomaly leaves (a wetter area's smaller day-night contrast) at
  the price of the real difference between areas whose class mix differs.

Only whole-series models take part (their features exist for any area with a cube; the deep models' windows are
normalised with each dataset's own statistics and are not run here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb.analyse.results import cell
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core.classes import NODATA
from rocksoil_nb.learn import metrics, registry
from rocksoil_nb.learn.series_baseline import FOCAL_SETTINGS, PixelSeries, scene_features
from rocksoil_nb.learn.series_features import focal_means
from rocksoil_nb.prepare import cube, splits
from rocksoil_nb.prepare.manifest import DatasetManifest

PROTOCOL = "other_areas"
MAX_PIXELS = 100_000  # training pixels at most, shared equally among the training areas
NORMALISATIONS = {"anomaly": "scene anomaly", "area": "scene anomaly + per-area standardisation"}
MODELS = ("pixel_series", "pixel_focal")


@dataclass
class AreaPixels:
    """The labelled pixels of one area with their whole-series features (own and neighbourhood means)."""

    area: str
    crs: str
    features: np.ndarray  # (N, F) float32
    names: list[str]
    y: np.ndarray  # (N,) class codes
    x_m: np.ndarray  # (N,) pixel centre easting (metres, ``crs``)
    y_m: np.ndarray  # (N,) pixel centre northing
    blocks: np.ndarray  # (N,) spatial block of the area's spatial protocol (the held-out unit)

    def columns(self, model: str) -> np.ndarray:
        """Which feature columns model ``model`` reads (the focal means only for a model with ``focal_px``)."""
        focal = registry.get(model).load("settings").get("focal_px", [])
        keep = [not n.count("_focal") or int(n.rsplit("_focal", 1)[1]) in focal for n in self.names]
        return np.flatnonzero(keep)


def area_pixels(cfg: AreaConfig, variant: str, focal: tuple[int, ...] = tuple(FOCAL_SETTINGS["focal_px"])) -> AreaPixels:
    """Features of every labelled pixel of an area over the passes of its dataset ``variant`` (05_patches), with the
    focal means of sides ``focal`` beside them."""
    from rocksoil_nb.prepare.steps import load_labels

    ds_dir = cfg.layout.patches_dir(variant)
    m = DatasetManifest.read(ds_dir)
    times = np.unique(pd.read_csv(ds_dir / "samples_cnn.csv", usecols=["t"])["t"].to_numpy(int))
    f, names = focal_means(*scene_features(m.cube, times, m.bands), focal)
    labels = load_labels(cfg)
    if labels.shape != f.shape[:2]:
        raise ValueError(f"{cfg.layout.labels}: labels {labels.shape} do not match the cube {f.shape[:2]} of {m.cube}")
    keep = (labels != NODATA) & (f[..., names.index("valid_share")] > 0)
    rr, cc = np.nonzero(keep)
    grid = cube.grid_of(cube.open_cube(m.cube))
    xs, ys = grid.centres()
    blocks = splits.sample_units(pd.DataFrame({"row": rr, "col": cc}), "spatial", m.spatial.block_px)
    return AreaPixels(cfg.name, grid.crs, f[keep], names, labels[keep].astype(int), np.asarray(xs)[cc], np.asarray(ys)[rr],
                      blocks)


def standardise(f: np.ndarray) -> np.ndarray:
    """Each column minus its median, divided by its inter-quartile range (1 where that is 0), NaN kept."""
    with np.errstate(invalid="ignore"):
        q1, med, q3 = np.nanpercentile(f, [25, 50, 75], axis=0)
    iqr = np.where(np.isfinite(q3 - q1) & (q3 - q1 > 0), q3 - q1, 1.0)
    return ((f - np.nan_to_num(med)) / iqr).astype(np.float32)


@dataclass
class Split:
    """One rotation's training and test pixels (indices into each area's :class:`AreaPixels`)."""

    test: str
    train: dict[str, np.ndarray]  # training area -> its sampled pixel indices
    learnable: np.ndarray  # (N_test,) bool: the test pixel's class is in some training area
    classes: list[int]  # classes of the training pixels


def split(areas: dict[str, AreaPixels], test: str, max_pixels: int = MAX_PIXELS, seed: int = 0) -> Split:
    """Training pixels from every area but ``test`` (at most ``max_pixels``, equally shared), and which of the test
    area's pixels are learnable."""
    if test not in areas:
        raise ValueError(f"test area {test!r} is not among {list(areas)}")
    others = [a for a in areas if a != test]
    if not others:
        raise ValueError("the other_areas protocol needs at least two areas")
    rng = np.random.default_rng(seed)
    each = max_pixels // len(others)
    train = {a: np.sort(rng.choice(len(areas[a].y), min(each, len(areas[a].y)), replace=False)) for a in others}
    overlap = {a: int(n) for a in others if (n := inside(areas[a], areas[test]).sum())}
    if overlap:
        raise ValueError(f"other_areas: labelled pixels of {overlap} lie inside test area {test!r}; the areas overlap, so "
                         "the test area would not be unseen")
    classes = sorted(set(np.concatenate([areas[a].y[i] for a, i in train.items()]).tolist()))
    return Split(test, train, np.isin(areas[test].y, classes), classes)


def inside(a: AreaPixels, b: AreaPixels) -> np.ndarray:
    """(N_a,) which pixel centres of ``a`` lie within the extent (bounding box of pixel centres) of ``b``; areas in
    different CRSs (UTM zones) are compared in ``b``'s CRS."""
    x, y = a.x_m, a.y_m
    if a.crs != b.crs:
        from pyproj import Transformer

        x, y = Transformer.from_crs(a.crs, b.crs, always_xy=True).transform(x, y)
    return (x >= b.x_m.min()) & (x <= b.x_m.max()) & (y >= b.y_m.min()) & (y <= b.y_m.max())


def rotation(areas: dict[str, AreaPixels], test: str, model: str, normalisation: str = "anomaly", seed: int = 0,
             max_pixels: int = MAX_PIXELS) -> tuple[dict, np.ndarray, np.ndarray]:
    """Fit ``model`` on the other areas and score it on the learnable pixels of ``test``: (result row, test block ids,
    per-block confusions)."""
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {list(NORMALISATIONS)}, got {normalisation!r}")
    s = split(areas, test, max_pixels, seed)
    t = areas[test]
    cols = t.columns(model)

    def inputs(a: AreaPixels, idx=slice(None)) -> np.ndarray:
        f = a.features[:, cols]
        return (standardise(f) if normalisation == "area" else f)[idx]

    x_train = np.concatenate([inputs(areas[a], i) for a, i in s.train.items()])
    y_train = np.concatenate([areas[a].y[i] for a, i in s.train.items()])
    est = PixelSeries(seed, max_pixels=len(y_train), **registry.get(model).load("settings"))
    est.fit(x_train, y_train, [t.names[c] for c in cols])
    x_test = inputs(t)[s.learnable]
    pred = est.predict(x_test)
    y = t.y[s.learnable]
    ids, confs = metrics.unit_confusions(y[:, None], pred[:, None], np.ones((len(y), 1), bool), t.blocks[s.learnable])
    absent = sorted(set(t.y[~s.learnable].tolist()))
    row = {"test_area": test, "trained_on": " + ".join(s.train), "model": model, "normalisation": normalisation,
           "train_pixels": len(y_train), "test_pixels": int(s.learnable.sum()),
           "not_learnable_share": float((~s.learnable).mean()), "not_learnable": absent}
    return row, ids, confs


def run(cfgs: list[AreaConfig], variant: str, models=MODELS, normalisations=tuple(NORMALISATIONS), seed: int = 0,
        progress: bool = True) -> pd.DataFrame:
    """Every rotation of ``cfgs`` (each area the test area once) for ``models`` × ``normalisations``, with the
    majority row of each test area: one row per (test area, model, normalisation) with OA and macro-F1 and their
    95 % block-bootstrap intervals."""
    from tqdm.auto import tqdm

    from rocksoil_nb.analyse import intervals

    names = [c.name for c in cfgs]
    if len(set(names)) != len(names) or len(names) < 2:
        raise ValueError(f"the other_areas protocol needs two or more different areas, got {names}")
    areas = {c.name: area_pixels(c, variant) for c in tqdm(cfgs, desc="area features", unit="area", disable=not progress)}
    rows = []
    todo = [(a, m, n) for a in names for m in models for n in normalisations]
    for test, model, norm in tqdm(todo, desc="rotations", unit="fit", disable=not progress):
        row, _, confs = rotation(areas, test, model, norm, seed)
        rows.append({**row, **_stats(intervals.bootstrap(confs))})
        if model == models[0] and norm == normalisations[0]:
            cls = int(confs.sum(0).sum(1).argmax())  # the test area's most common learnable class
            rows.append({**row, "model": "majority", "normalisation": "-", "train_pixels": 0,
                         **_stats(intervals.bootstrap(intervals.majority_confusions(confs, cls)))})
    out = pd.DataFrame(rows)
    out["variant"] = variant
    return out


def _stats(b: dict) -> dict:
    return {f"{k}{s}": b[k][i] for k in ("oa", "macro_f1") for i, s in enumerate(("", "_lo", "_hi"))}


def write(res: pd.DataFrame, path: Path) -> Path:
    """The results as CSV (the classes not learnable as space-separated codes)."""
    from rocksoil_nb.core import io

    return io.write_csv(path, res.assign(not_learnable=res["not_learnable"].map(lambda c: " ".join(map(str, c)))))


def read(path: Path) -> pd.DataFrame:
    """Results written by :func:`write`; a missing file is an error naming the command that makes it."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no other_areas results; run `make transfer` first")
    res = pd.read_csv(path, keep_default_na=False)
    res["not_learnable"] = res["not_learnable"].map(lambda s: [int(c) for c in str(s).split()])
    return res


def out_dir(cfg: AreaConfig) -> Path:
    """``reports/other_areas/<profile>/`` of the work folder."""
    return cfg.layout.reports_root / PROTOCOL / cfg.profile_name


def table(res: pd.DataFrame) -> pd.DataFrame:
    """The results as shown: one row per (test area, model, normalisation), values with their intervals."""
    rows = []
    for _, r in res.iterrows():
        rows.append({"test area": r.test_area, "trained on": r.trained_on,
                     "model": registry.title(r.model) if r.model != "majority" else "majority (of the test area)",
                     "inputs": NORMALISATIONS.get(r.normalisation, "-"),
                     "OA": cell(r.oa, r.oa_lo, r.oa_hi), "macro-F1": cell(r.macro_f1, r.macro_f1_lo, r.macro_f1_hi),
                     "not learnable": f"{r.not_learnable_share:.0%} ({', '.join(map(str, r.not_learnable)) or 'none'})"})
    return pd.DataFrame(rows)


def _lines(t: pd.DataFrame) -> list[str]:
    return ["| " + " | ".join(t.columns) + " |", "|---" * len(t.columns) + "|"] + [
        "| " + " | ".join(str(v) for v in row) + " |" for row in t.itertuples(index=False)]


def caption(res: pd.DataFrame) -> str:
    """How the table was made and how long it took (``seconds``: the whole command, features included)."""
    return (f"*{res['variant'].iloc[0]}, `{res['profile'].iloc[0]}`; macro-F1 on the test area's learnable pixels, 95 % "
            "interval from its spatial blocks; not learnable: share of its labelled pixels whose class no training area "
            f"has. `make transfer`, {res['seconds'].iloc[0] / 60:.0f} min on 2 cores.*")


def markdown(res: pd.DataFrame) -> str:
    """Every row (both normalisations, OA and macro-F1): the documentation's table."""
    return "\n".join(_lines(table(res))) + "\n\n" + caption(res)


def summary(res: pd.DataFrame) -> str:
    """The README's table: one row per test area, macro-F1 of the majority guess and of each model on scene anomalies
    (the per-area standardised rows are in :func:`markdown`'s table), and the share not learnable."""
    rows = []
    for area, g in res[res["normalisation"].isin(["anomaly", "-"])].groupby("test_area", sort=False):
        row = {"test area (trained on the others)": area}
        for _, r in g.sort_values("model", key=lambda m: m != "majority", kind="stable").iterrows():
            name = "majority" if r.model == "majority" else registry.title(r.model)
            row[name] = cell(r.macro_f1, r.macro_f1_lo, r.macro_f1_hi)
        row["not learnable"] = f"{g['not_learnable_share'].iloc[0]:.0%}"
        rows.append(row)
    return "\n".join(_lines(pd.DataFrame(rows))) + "\n\n" + caption(res)
