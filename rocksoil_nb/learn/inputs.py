"""What a deep model reads, as plain arrays (NumPy only: importing this loads no Keras): physical frames normalised
into model input, the ``tae`` date planes, and the dates of a cube's passes. :mod:`rocksoil_nb.learn.datasets` (training
batches) and :mod:`rocksoil_nb.infer.reconstruct` (whole-scene maps) both build their inputs from these."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: planes appended to every date of a ``tae`` input: sin(doy), cos(doy) (doy scaled to 2 pi per 365.25 days), day pass, present
DATE_CHANNELS = 4


def normalise(x: np.ndarray, valid: np.ndarray, mean: np.ndarray, std: np.ndarray, validity_channel: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
    """Frames (..., bands, y, x) in physical units → model input (..., y, x, C) float32: standardised with the
    training ``mean``/``std`` (bands, 1, 1); pixels not valid or not finite in every band set to 0 (plus a
    0/1 validity channel when asked). ``valid`` is (..., y, x). Returns (input, finite mask (..., y, x)).
    Leading axes (batch, time) are handled at once."""
    finite = np.isfinite(x).all(axis=-3) & valid
    z = (x - mean) / std
    z = np.where(finite[..., None, :, :], z, np.float32(0.0))
    if validity_channel:
        z = np.concatenate([z, finite[..., None, :, :].astype(np.float32)], axis=-3)
    return np.moveaxis(z, -3, -1).astype(np.float32, copy=False), finite


def date_planes(doy: np.ndarray, is_day: np.ndarray, present: np.ndarray, size: int) -> np.ndarray:
    """The ``tae`` date planes (..., T, size, size, 4): sin and cos of the day of year (2 pi per 365.25 days), 1 for a
    day pass, 1 for a present date (all 0 for padding). ``doy``, ``is_day``, ``present`` (..., T); a NaN day of year
    (dates unknown) gives sin = cos = 0: the date is present, its season is not told."""
    w = 2 * np.pi * np.asarray(doy, np.float64) / 365.25
    known = np.isfinite(w)
    code = np.stack([np.where(known, np.sin(w), 0.0), np.where(known, np.cos(w), 0.0), np.asarray(is_day, np.float64),
                     np.ones_like(w)], axis=-1)
    code = np.where(np.asarray(present, bool)[..., None], code, 0.0).astype(np.float32)
    return np.broadcast_to(code[..., None, None, :], code.shape[:-1] + (size, size, code.shape[-1]))


def pass_dates(cube_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Day of year (fractional, UTC) and day-pass flag of every date of a cube; NaN and False where the cube does not
    know them (a thesis import: no dates, and day/night only for its ``day`` / ``night`` sets)."""
    from rocksoil_nb.prepare.cube import flags_known, open_cube

    ds = open_cube(cube_path)
    t = pd.DatetimeIndex(ds["time"].values)
    doy = (t.dayofyear + t.hour / 24.0 + t.minute / 1440.0).to_numpy(float)  # NaN for NaT
    is_day = ds["is_day"].values.astype(bool) if "is_day" in flags_known(ds) else np.zeros(len(t), bool)
    return doy, is_day
