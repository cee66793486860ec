"""How hard an area is for a per-pixel classifier: a random forest on one clear date
against the same forest on each pixel's whole kept time series, with labels from the
geology map and spatially disjoint blocks as folds (the simulator is designed for a whole-series macro-F1 of
roughly 0.4–0.6 there, one date doing poorly).

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
from rocksoil_nb.prepare import cube, labels
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


def kept_series(raw_dir: str | Path, max_cloud: float = 0.10, max_bad: float = 0.15, temperature: str | None = "LST"):
    """Per-pixel features of the kept passes on the reference grid: the ``temperature`` layer (LST, or LST_err as
    the thesis's code read it; None: left out) minus the scene median (K) and emissivity, with cloudy and bad
    pixels set to 0 (after centring). Returns (grid, X (rows, cols, k·n), valid share per pass)."""

    raw = Path(raw_dir)
    grid = ecostress.reference_grid(raw / "ecostress")
    st = scene_table(raw, max_cloud, max_bad)
    feats, valid_share = [], []
    for _, row in st[st["kept"]].iterrows():
        arr = {}
        for lay in ("LST", "EmisWB", "QC", "cloud") + ((temperature,) if temperature not in (None, "LST") else ()):
            if not row.get(f"{lay}_file"):
                break
            if len(cube.pieces(row[f"{lay}_file"])) > 1:  # pieces in two zones: not on the grid as they are
                break
            with rasterio.open(raw / "ecostress" / row[f"{lay}_file"]) as s:
                if (s.transform, s.shape) != (grid.transform, grid.shape):
                    break
                arr[lay] = s.read(1)
        if len(arr) < 4 + (temperature not in (None, "LST")):
            continue
        good = ecostress.valid_mask(arr["QC"], arr["cloud"], arr["LST"], Preprocess())
        em = np.where(good, arr["EmisWB"] - 0.96, 0.0)
        if temperature is not None:
            temp = arr[temperature]
            feats.append(np.where(good, temp - np.nanmedian(np.where(good, temp, np.nan)), 0.0))
        feats.append(em)
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


def cube_series(cube_path: str | Path, temperature: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel features of every date of a prepared cube: the temperature band (LST, or LST_err in a thesis import;
    left out when ``temperature`` is False) minus the date's median (K) and emissivity, invalid pixels 0 after
    centring. Returns (X (rows, cols, k·n), valid share per date)."""
    from rocksoil_nb.prepare import cube

    ds = cube.open_cube(cube_path)
    names = cube.band_names(ds)
    idx = cube.band_index(names, [cube.temperature_band(ds), "EmisWB"], cube_path)
    data = ds["data"].values[:, idx]  # (time, 2, y, x)
    valid = ds["valid"].values.astype(bool)
    feats = []
    for t in range(data.shape[0]):
        temp = np.where(valid[t], data[t, 0], np.nan)
        med = np.nanmedian(temp) if valid[t].any() else 0.0
        feats += ([np.where(valid[t], temp - med, 0.0)] if temperature else []) + [np.where(valid[t], data[t, 1], 0.0)]
    return np.stack(feats, axis=-1).astype(np.float32), valid.mean(axis=(1, 2))


def measure_cube(cube_path: str | Path, label_map: np.ndarray, n_blocks: int = 3, seed: int = 0, max_pixels: int = 20000,
                 trees: int = 60, temperature: bool = True) -> Difficulty:
    """:func:`measure` on a prepared cube (a thesis import has no raw scenes): one clear date against the whole series,
    labels from the area's label map, n × n spatial blocks as folds, pixels with no valid date left out."""
    X, share = cube_series(cube_path, temperature)
    blocks = spatial_blocks(label_map.shape, n_blocks)
    y, Xf = label_map.ravel(), X.reshape(-1, X.shape[-1])
    return _scores(Xf, y, blocks.ravel(), (y != 0) & (Xf != 0).any(axis=1), share, seed, trees, n_blocks, max_pixels)


def _scores(Xf: np.ndarray, y: np.ndarray, b: np.ndarray, keep: np.ndarray, share: np.ndarray, seed: int, trees: int,
            n_blocks: int, max_pixels: int) -> Difficulty:
    """The forest on the clearest date's features and on all of them, with the majority guess, as a :class:`Difficulty`,
    on the ``keep`` pixels (a seeded sample of ``max_pixels`` at most)."""
    idx = np.flatnonzero(keep)
    if len(idx) > max_pixels:
        idx = np.sort(np.random.default_rng(seed).choice(idx, max_pixels, replace=False))
    y, b, Xf = y[idx], b[idx], Xf[idx]
    k = Xf.shape[1] // len(share)  # features per date
    best = int(np.argmax(share))
    s_oa, s_f1 = _cv(Xf[:, k * best : k * best + k], y, b, seed, trees)
    f_oa, f_f1 = _cv(Xf, y, b, seed, trees)
    maj = np.bincount(y).max() / len(y)
    return Difficulty(len(share), round(s_oa, 3), round(s_f1, 3), round(f_oa, 3), round(f_f1, 3), round(float(maj), 3), n_blocks**2)


def measure(raw_dir: str | Path, vector: str | Path | None = None, class_field: str = "class_code", n_blocks: int = 3,
            seed: int = 0, max_pixels: int = 20000, trees: int = 60, temperature: str | None = "LST") -> Difficulty:
    """Score the per-pixel forest on one clear date and on the whole series (map labels, class 0 left out);
    ``temperature``: LST, LST_err (what the thesis's code read as LST) or None (emissivity only)."""
    grid, X, share = kept_series(raw_dir, temperature=temperature)
    vec = vector or labels.find_geology_vector(raw_dir)
    lab = labels.make_labels(vec, grid, class_field=class_field).labels
    blocks = spatial_blocks(grid.shape, n_blocks)
    y = lab.ravel()
    return _scores(X.reshape(-1, X.shape[-1]), y, blocks.ravel(), y != 0, share, seed, trees, n_blocks, max_pixels)
