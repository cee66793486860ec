"""Per-pixel surface properties of a simulated area, built on the 10 m true geology and
averaged onto coarser grids (the 70 m thermal grid, the 30 m Sentinel grid).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from rocksoil_nb.core import classes
from rocksoil_nb.simulate.noise import smooth_field

N_KINDS = 4  # vegetation cover kinds: natural, winter cereal, summer crop, fallow


def physical_table() -> pd.DataFrame:
    """The per-class physical parameters (``physical_parameters.csv``), indexed by class code."""
    with resources.files("rocksoil_nb.simulate").joinpath("physical_parameters.csv").open() as fh:
        df = pd.read_csv(fh).set_index("code")
    missing = set(range(1, classes.N_CLASSES)) - set(df.index)
    if missing:
        raise ValueError(f"physical_parameters.csv lacks class codes {sorted(missing)}")
    return df


@dataclass
class Surface:
    """Block-averaged surface properties on one grid (arrays of shape rows × cols, float32)."""

    inertia: np.ndarray  # dry thermal inertia, J m-2 K-1 s-1/2
    albedo: np.ndarray
    emissivity: np.ndarray
    capacity: np.ndarray  # water holding, 0-1
    drying_days: np.ndarray  # e-folding drying time, days
    wet_gain: np.ndarray  # relative TI increase per unit wetness
    roughness_db: np.ndarray
    water: np.ndarray  # open-water fraction
    cover: np.ndarray  # (N_KINDS, rows, cols) vegetation cover per kind

    def window(self, r0: int, c0: int, rows: int, cols: int) -> Surface:
        sl = (slice(r0, r0 + rows), slice(c0, c0 + cols))
        return Surface(**{k: (v[(slice(None),) + sl] if k == "cover" else v[sl]) for k, v in self.__dict__.items()})


def _block_mean(a: np.ndarray, factor: int, r0: int, c0: int, rows: int, cols: int) -> np.ndarray:
    sub = a[r0 : r0 + rows * factor, c0 : c0 + cols * factor]
    return sub.reshape(rows, factor, cols, factor).mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


def fine_properties(true: np.ndarray, climate, rng: np.random.Generator, res_m: float = 10.0) -> dict[str, np.ndarray]:
    """Per-pixel properties on the fine (10 m) grid: class values with spatially correlated
    and white variation (grain size, weathering, jointing, moisture regime)."""
    t = physical_table()
    shape = true.shape

    def lut(col, water=0.0):
        arr = np.zeros(classes.N_CLASSES, dtype=np.float32)
        arr[t.index.values] = t[col].values
        arr[0] = water
        return arr[true]

    def variation(corr_m):
        return 0.8 * smooth_field(shape, corr_m / res_m, rng) + 0.6 * rng.standard_normal(shape).astype(np.float32)

    props = {}
    props["inertia"] = lut("thermal_inertia") * np.exp(lut("ti_cv") * variation(250))
    props["albedo"] = np.clip(lut("albedo") + lut("albedo_sd") * variation(250), 0.04, 0.6)
    props["emissivity"] = np.clip(lut("emissivity") + lut("emissivity_sd") * variation(250), 0.88, 0.995)
    props["capacity"] = np.clip(lut("water_capacity") * np.exp(0.25 * variation(400)), 0, 1)
    props["log_drying"] = np.log(lut("drying_days"))
    props["wet_gain"] = lut("wet_gain")
    props["roughness_db"] = lut("roughness_db") + 1.0 * variation(200)
    water = (true == classes.WATER).astype(np.float32)
    props["water"] = water
    veg = np.clip(lut("vegetation") * climate.vegetation / 0.4 + 0.18 * smooth_field(shape, 500 / res_m, rng), 0, 0.95)
    veg *= 1 - water
    # fields: a brick pattern of parcels, each arable with the class's crop share
    rows, cols = shape
    prow = (np.arange(rows)[:, None] * res_m // 180).astype(np.int64)
    pcol = ((np.arange(cols)[None, :] * res_m + (prow % 2) * 125) // 250).astype(np.int64)
    salt = rng.integers(1, 2**31)
    h = np.sin(prow * 12.9898 + pcol * 78.233 + salt % 1000) * 43758.5453
    u = h - np.floor(h)
    h2 = np.sin(prow * 39.3467 + pcol * 11.135 + salt % 997) * 24634.6345
    u2 = h2 - np.floor(h2)
    arable = u < lut("crop_share")
    kind = np.where(arable, np.select([u2 < 0.65, u2 < 0.8], [1, 2], 3), 0)
    for k in range(N_KINDS):
        props[f"cover{k}"] = veg * (kind == k)
    return props


def surface_on(props: dict[str, np.ndarray], factor: int, r0: int, c0: int, rows: int, cols: int) -> Surface:
    """Average the fine properties onto a coarser grid whose corner is fine pixel (r0, c0)."""
    bm = lambda a: _block_mean(a, factor, r0, c0, rows, cols)  # noqa: E731
    return Surface(
        inertia=bm(props["inertia"]),
        albedo=bm(props["albedo"]),
        emissivity=bm(props["emissivity"]),
        capacity=bm(props["capacity"]),
        drying_days=np.exp(bm(props["log_drying"])),
        wet_gain=bm(props["wet_gain"]),
        roughness_db=bm(props["roughness_db"]),
        water=bm(props["water"]),
        cover=np.stack([bm(props[f"cover{k}"]) for k in range(N_KINDS)]),
    )
