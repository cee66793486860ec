"""Smooth Gaussian random fields (unit variance) with a given correlation length."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def smooth_field(shape: tuple[int, int], corr_px: float, rng: np.random.Generator) -> np.ndarray:
    """A float32 field of ``shape`` with zero mean, unit std and correlation length ``corr_px`` pixels.

    Made on a coarse lattice (4 nodes per correlation length), smoothed, then
    interpolated up with cubic splines, so large fields stay cheap.
    """
    rows, cols = shape
    corr_px = max(float(corr_px), 1.0)
    step = max(corr_px / 4.0, 1.0)
    cr, cc = int(np.ceil(rows / step)) + 4, int(np.ceil(cols / step)) + 4
    coarse = ndimage.gaussian_filter(rng.standard_normal((cr, cc)), sigma=1.2, mode="wrap")
    if step > 1.0:
        rr = (np.arange(rows) + 0.5) / step + 1.5
        cc_ = (np.arange(cols) + 0.5) / step + 1.5
        out = _bicubic(coarse, rr, cc_)
    else:
        out = coarse[:rows, :cols]
    out = out - out.mean()
    sd = out.std()
    return (out / sd if sd > 0 else out).astype(np.float32)


def _bicubic(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Separable cubic interpolation of ``a`` at fractional row and column positions."""
    tmp = ndimage.map_coordinates(a, np.meshgrid(rows, np.arange(a.shape[1]), indexing="ij"), order=3, mode="nearest")
    out = ndimage.map_coordinates(tmp, np.meshgrid(np.arange(len(rows)), cols, indexing="ij"), order=3, mode="nearest")
    return out


def threshold_for_fraction(field: np.ndarray, fraction: float) -> float:
    """The value above which ``fraction`` (0-1) of ``field`` lies."""
    fraction = float(np.clip(fraction, 0.0, 1.0))
    if fraction <= 0:
        return np.inf
    if fraction >= 1:
        return -np.inf
    return float(np.quantile(field, 1.0 - fraction))
