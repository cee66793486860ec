"""How hard an area is for a per-pixel classifier: a random forest on one clear date
against the same forest on each pixel's whole kept time series, with labels from the
geology map and spatially disjoint blocks as folds (DESIGN §5, §6).

This is a check of the data (simulated or real), not the workbook's baseline model.
Scenes whose grid differs from the reference grid are left out here (03_preprocess aligns them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio

from rocksoil_nb.config import Preprocess
from rocksoil_nb.core import ecostress
from rocksoil_nb.prepare import labels
from rocksoil_nb.prepare.scenes import scene_table


@dataclass
class Difficulty:
    """Scores (0-1) of the per-pixel forest; ``majority_oa`` always predicts the most frequent class."""

    scenes_used: int
    single_date_oa: float
    single_date_macro_f1: float
    series_oa: float
    series_macro_f1: float
    majority_oa: float
    folds: int


def kept_series(raw_dir: str | Path, max_cloud: float = 0.10, max_bad: float = 0.15):
    """Per-pixel features of the kept passes on the reference grid: LST minus the scene median (K)
    and emissivity, with cloudy and bad pixels set to 0 (after centring). Returns (grid, X (rows, cols, 2·n), n)."""

    raw = Path(raw_dir)
    grid = ecostress.reference_grid(raw / "ecostress")
    st = scene_table(raw, max_cloud, max_bad)
    feats, valid_share = [], []
    for _, row in st[st["kept"]].iterrows():
        arr = {}
        for lay in ("LST", "EmisWB", "QC", "cloud"):
            if not row[f"{lay}_file"]:
                break
            with rasterio.open(raw / "ecostress" / row[f"{lay}_file"]) as s:
                if (s.transform, s.shape) != (grid.transform, grid.shape):
                    break
                arr[lay] = s.read(1)
        if len(arr) < 4:
            continue
        good = ecostress.valid_mask(arr["QC"], arr["cloud"], arr["LST"], Preprocess())
        lst = np.where(good, arr["LST"] - np.nanmedian(np.where(good, arr["LST"], np.nan)), 0.0)
        em = np.where(good, arr["EmisWB"] - 0.96, 0.0)
        feats += [lst, em]
        valid_share.append(good.mean())
    if not feats:
        raise ValueError(f"{raw}: no kept ECOSTRESS pass on the reference grid")
    return grid, np.stack(feats, axis=-1).astype(np.float32), np.array(valid_share)


def spatial_blocks(shape: tuple[int, int], n: int = 3) -> np.ndarray:
    """Block id (0 … n²-1) of each pixel for an n × n tiling of the area."""
    rows, cols = shape
    return (np.arange(rows)[:, None] * n // rows) * n + (np.arange(cols)[None, :] * n // cols)


def _cv(X, y, blocks, seed, trees):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, f1_score

    yt, yp = [], []
    for b in np.unique(blocks):
        tr, te = blocks != b, blocks == b
        if len(np.unique(y[tr])) < 2 or not te.any():
            continue
        m = RandomForestClassifier(n_estimators=trees, min_samples_leaf=2, n_jobs=2, random_state=seed).fit(X[tr], y[tr])
        yp.append(m.predict(X[te]))
        yt.append(y[te])
    yt, yp = np.concatenate(yt), np.concatenate(yp)
    return accuracy_score(yt, yp), f1_score(yt, yp, average="macro")


def measure(raw_dir: str | Path, vector: str | Path | None = None, class_field: str = "class_code", n_blocks: int = 3,
            seed: int = 0, max_pixels: int = 20000, trees: int = 60) -> Difficulty:
    """Score the per-pixel forest on one clear date and on the whole series (map labels, class 0 left out)."""
    grid, X, share = kept_series(raw_dir)
    vec = vector or labels.find_geology_vector(raw_dir)
    lab = labels.make_labels(vec, grid, class_field=class_field).labels
    blocks = spatial_blocks(grid.shape, n_blocks)
    y, b, Xf = lab.ravel(), blocks.ravel(), X.reshape(-1, X.shape[-1])
    keep = y != 0
    idx = np.flatnonzero(keep)
    if len(idx) > max_pixels:
        idx = np.sort(np.random.default_rng(seed).choice(idx, max_pixels, replace=False))
    y, b, Xf = y[idx], b[idx], Xf[idx]
    best = int(np.argmax(share))
    s_oa, s_f1 = _cv(Xf[:, 2 * best : 2 * best + 2], y, b, seed, trees)
    f_oa, f_f1 = _cv(Xf, y, b, seed, trees)
    maj = np.bincount(y).max() / len(y)
    return Difficulty(len(share), round(s_oa, 3), round(s_f1, 3), round(f_oa, 3), round(f_f1, 3), round(float(maj), 3), n_blocks**2)
