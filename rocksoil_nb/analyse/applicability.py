"""Where does a run's map apply? Its area of applicability on the area's grid (08), after Meyer & Pebesma (2021).

Features: every pixel's whole-series features (:mod:`rocksoil_nb.learn.series_features`: LST anomaly statistics, day
and night, the annual harmonic, emissivity, SAR where the variant has it) over every date of the variant. They
describe what any of the models sees of a pixel through the year — the whole-series model reads exactly them, the
deep models read the series they summarise — so one feature space serves every run. Training samples: the labelled
pixels of the run's training windows; folds: the spatial blocks they lie in (a training pixel's dissimilarity is to
the nearest training pixel of another block, so the threshold says how unlike the training ground new ground may be
before the model extrapolates). Weights: each feature's permutation importance for classifying the training pixels
(scikit-learn's ``permutation_importance`` of a histogram gradient boosting fitted on a sample of them), so a
feature that does not help tell the classes apart adds no dissimilarity.

Written beside the run's maps: ``consensus_di.tif`` (the dissimilarity index, 0 = like a training pixel) and
``consensus_aoa.tif`` (1 inside, 0 outside the area of applicability), each with a QGIS style.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb.analyse import aoa
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import io
from rocksoil_nb.infer import maps
from rocksoil_nb.infer.maps import read_map
from rocksoil_nb.infer.reconstruct import map_scores
from rocksoil_nb.learn.runs import RunName
from rocksoil_nb.learn.series_baseline import cube_features, split_pixels
from rocksoil_nb.prepare.cube import grid_of, open_cube
from rocksoil_nb.prepare.manifest import DatasetManifest
from rocksoil_nb.prepare.splits import sample_units
from rocksoil_nb.prepare.steps import load_labels

IMPORTANCE_PIXELS = 20_000  # training pixels the importance weights are measured on (a seeded sample)
AOA_FILE = "aoa.npz"  # the training side (TrainDI) kept beside the run's maps


def _weights(x: np.ndarray, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Permutation importance (drop in balanced accuracy) of each feature for telling the classes of ``y`` apart."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(y), min(len(y), IMPORTANCE_PIXELS), replace=False)
    half = len(idx) // 2
    fit, score = idx[:half], idx[half:]
    model = HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=15, min_samples_leaf=50, random_state=seed).fit(x[fit], y[fit])
    imp = permutation_importance(model, x[score], y[score], scoring="balanced_accuracy", n_repeats=3, random_state=seed)
    return np.clip(imp.importances_mean, 0, None)


@dataclass
class Applicability:
    """What :func:`area_of_applicability` measured for a run's map."""

    di: np.ndarray  # (y, x) dissimilarity index, NaN where a pixel has no valid date
    inside: np.ndarray  # (y, x) bool
    train: aoa.TrainDI
    table: pd.DataFrame  # where (test blocks inside / outside, the whole area): share, OA, macro-F1, pixels
    files: list[Path]

    def pixel(self, row: int, col: int) -> str:
        """One pixel's DI against the threshold, for 08's look inside."""
        d = self.di[row, col]
        if not np.isfinite(d):
            return f"pixel ({row}, {col}) has no valid date: no DI"
        where = "inside" if d <= self.train.threshold else "outside"
        return (f"pixel ({row}, {col}): DI {d:.2f} against the threshold {self.train.threshold:.2f} — {where} the area of "
                "applicability (its nearest training pixel, in the weighted feature space, is "
                f"{d:.2f} × the mean distance between training pixels away)")

    def statement(self) -> str:
        """One sentence for 08: the share of the area outside and how accuracy differs inside and outside."""
        t = self.table.set_index("where")
        area = t.loc["whole area", "share of pixels"]
        text = (f"{1 - area:.0%} of the mapped area lies outside the area of applicability (DI above {self.train.threshold:.2f}, "
                "the upper whisker of the training pixels' DI across blocks): there the inputs are unlike any training pixel.")
        if {"test blocks, inside", "test blocks, outside"} <= set(t.index):
            i, o = t.loc["test blocks, inside"], t.loc["test blocks, outside"]
            text += (f" On the test blocks the map is right for {i['OA']:.0%} of the pixels inside (macro-F1 {i['macro-F1']:.2f}) "
                     f"and {o['OA']:.0%} outside (macro-F1 {o['macro-F1']:.2f}).")
        return text


def area_of_applicability(cfg: AreaConfig, variant: str, model: str, protocol: str = "spatial", seed: int = 0) -> Applicability:
    """The DI and AOA of a run's consensus map on the area's grid, written as COGs beside it, with the map's accuracy
    inside and outside the AOA on the spatial protocol's test blocks (also ``tables/aoa_<variant>.csv``)."""
    ds_dir = cfg.layout.patches_dir(variant)
    m = DatasetManifest.read(ds_dir)
    ds = open_cube(m.cube)
    grid = grid_of(ds)
    feats, names = cube_features(m.cube, np.arange(ds.sizes["time"]), m.bands)
    h, w, _ = feats.shape
    labels = load_labels(cfg)
    include0 = cfg.classes.include_nodata
    has_data = np.isfinite(feats).any(-1)
    px = split_pixels(ds_dir, protocol, labels, include0)["train"][1] & has_data  # labelled pixels of the training windows
    if px.sum() < 2:
        raise ValueError(f"{ds_dir}: fewer than 2 labelled training pixels under the {protocol} protocol")
    rr, cc = np.nonzero(px)
    folds = sample_units(pd.DataFrame({"row": rr, "col": cc}), "spatial", m.spatial.block_px)
    cols = np.isfinite(feats[px]).any(0)  # features with no value anywhere (no dates: no harmonic, no day/night) are left out
    feats, names = feats[..., cols], [n for n, k in zip(names, cols) if k]
    x_train = feats[px]
    weights = _weights(x_train, labels[px].astype(int), seed)
    if not weights.any():
        weights = np.ones(len(names))
    train = aoa.train_di(x_train, folds, weights, names, seed)
    di = np.full((h, w), np.nan)
    di[has_data] = train.di(feats[has_data])
    inside = train.inside(np.nan_to_num(di, nan=np.inf))
    out_dir = cfg.layout.maps_dir(variant, model, protocol)
    out_dir.mkdir(parents=True, exist_ok=True)
    tags = {"model": model, "variant": variant, "protocol": protocol, "threshold": f"{train.threshold:.4f}",
            "features": ", ".join(names), "method": "Meyer & Pebesma 2021 (rocksoil_nb.analyse.applicability)"}
    top = float(np.nanpercentile(di, 99)) if np.isfinite(di).any() else 1.0
    files = [maps.write_continuous_map(out_dir / "consensus_di.tif", di.astype(np.float32), grid, "ratio",
                                       "dissimilarity index (distance to training data / mean training distance)", 0.0,
                                       max(top, train.threshold), tags)]
    files.append(maps.write_aoa_map(out_dir / "consensus_aoa.tif", inside, has_data, grid, tags))
    train.save(out_dir / AOA_FILE)
    table = _accuracy(cfg, variant, out_dir, labels, inside, has_data)
    io.write_csv(cfg.layout.tables_dir / f"aoa_{variant}.csv",
                 table.assign(run=str(RunName(variant, model, protocol)), threshold=round(train.threshold, 4)))
    return Applicability(di, inside & has_data, train, table, files)


def _accuracy(cfg: AreaConfig, variant: str, out_dir: Path, labels: np.ndarray, inside: np.ndarray, has_data: np.ndarray
              ) -> pd.DataFrame:
    """The consensus map's OA and macro-F1 on the spatial test blocks inside and outside the AOA, and the shares."""
    codes, _ = read_map(out_dir / "consensus_classes.tif")
    region = np.load(cfg.layout.patches_dir(variant) / "spatial_split.npy")
    include0 = cfg.classes.include_nodata
    lab = ((labels != 0) | include0) & (codes != maps.NOT_MAPPED)
    rows = [{"where": "whole area", "share of pixels": float(inside[has_data].mean()) if has_data.any() else np.nan,
             "pixels": int(has_data.sum())}]
    for name, sel in (("test blocks, inside", (region == 2) & inside & lab), ("test blocks, outside", (region == 2) & ~inside & lab)):
        row = {"where": name, "share of pixels": float(sel.sum() / max(((region == 2) & lab).sum(), 1)), "pixels": int(sel.sum())}
        if sel.any():
            s = map_scores(codes, labels, sel, include0)
            row.update({"OA": s["oa"], "macro-F1": s["macro_f1"]})
        rows.append(row)
    return pd.DataFrame(rows).round(3)
