"""Apparent thermal inertia (04_signatures): the product geologists have read from day/night pairs since HCMM.

    ATI = (1 - albedo) / ΔT,   ΔT = LST(day pass) - LST(night pass) of the same pixel, K

for pairs of a day and a night pass at most ``max_gap_h`` hours apart (each day pass with its nearest night pass),
per pixel the median over its pairs. ECOSTRESS rarely sees a place by day and by night within one day (its
orbit precesses): on the simulated thesis areas, with their Appendix C dates, 1-2 pairs lie within 14 h and
8-79 within 8 days. The default gap is therefore 8 days (:data:`MAX_GAP_H`): a pair's ΔT then also holds the
change of weather between its two dates, which the median over pairs damps but does not remove.

High ATI: the ground resists heating and cooling (dense rock, wet soil,
water); low ATI: it swings (dry sand, loose soil). Units: K⁻¹ (a relative index, not thermal inertia in
J m⁻² K⁻¹ s⁻½). The **albedo is a constant** (:data:`ALBEDO`) because the workbook has no broadband optical
albedo: every ATI value is (1 − 0.25) / ΔT, so the map ranks pixels by their day-night swing only; a
dark, absorbing rock and a bright one with the same swing get the same ATI. ECOSTRESS passes are not at the
diurnal extremes (its orbit precesses), so ΔT of a pair is a share of the true diurnal range that changes
with the pair's hours; the median over many pairs damps but does not remove it. Vegetation and soil moisture
after rain also damp ΔT: ATI maps where the surface, not only the rock, resists heating.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes
from rocksoil_nb.prepare import cube

ALBEDO = 0.25  # broadband albedo taken for every pixel (no optical data): typical of bare soil and rock
MAX_GAP_H = 192.0  # a night pass this many hours (8 days) or fewer from a day pass makes a pair
MIN_DT_K = 1.0  # pairs with a smaller day-night difference are left out (ATI would explode; cloud edges, water)


@dataclass
class AtiResult:
    """The ATI map (K⁻¹, NaN where no pair), ΔT median (K), pairs per pixel, the pairs used, and a note when none."""

    ati: np.ndarray
    delta_t: np.ndarray
    pairs_per_pixel: np.ndarray
    pairs: pd.DataFrame
    albedo: float
    note: str = ""
    files: list = field(default_factory=list)

    @property
    def available(self) -> bool:
        return not self.note


def day_night_pairs(times: pd.DatetimeIndex, is_day: np.ndarray, max_gap_h: float = MAX_GAP_H) -> pd.DataFrame:
    """Each day pass with its nearest night pass at most ``max_gap_h`` hours away: columns day, night (cube time
    indices), gap_h (hours, night minus day: negative when the night pass came first)."""
    times = pd.DatetimeIndex(times)
    day, night = np.flatnonzero(is_day), np.flatnonzero(~np.asarray(is_day, bool))
    rows = []
    if len(night):
        tn = times[night].values.astype("datetime64[s]").astype(np.int64)
        for d in day:
            gap = (tn - times[d].to_datetime64().astype("datetime64[s]").astype(np.int64)) / 3600.0
            k = int(np.argmin(np.abs(gap)))
            if abs(gap[k]) <= max_gap_h:
                rows.append({"day": int(d), "night": int(night[k]), "gap_h": round(float(gap[k]), 2)})
    return pd.DataFrame(rows, columns=["day", "night", "gap_h"])


def apparent_thermal_inertia(temp: np.ndarray, valid: np.ndarray, pairs: pd.DataFrame, albedo: float = ALBEDO,
                             min_dt: float = MIN_DT_K) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel, the median over ``pairs`` of (1 − albedo) / ΔT (K⁻¹), the median ΔT (K) and the pairs used;
    ``temp``, ``valid`` (T, H, W) in K. Pairs with ΔT below ``min_dt`` are left out for that pixel."""
    shape = temp.shape[1:]
    if pairs.empty:
        return np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, int)
    dts = []
    for d, n in zip(pairs["day"], pairs["night"]):
        ok = valid[d] & valid[n]
        dt = np.where(ok, temp[d].astype(np.float64) - temp[n], np.nan)
        dts.append(np.where(dt >= min_dt, dt, np.nan))
    dts = np.stack(dts)
    count = np.isfinite(dts).sum(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels give NaN, as wanted
        med_dt = np.nanmedian(dts, axis=0)
        ati = np.nanmedian((1.0 - albedo) / dts, axis=0)
    return ati, med_dt, count


def run(cfg: AreaConfig, albedo: float = ALBEDO, max_gap_h: float = MAX_GAP_H, write: bool = True) -> AtiResult:
    """The area's ATI from its cube, written as ``interim/ati.tif`` (+ ``.qml``) beside the labels; a note instead
    where the cube's dates or day/night are unknown (a thesis import) or no pair exists."""
    from rocksoil_nb.infer import maps

    ds = cube.open_cube(cfg.layout.cube)
    shape = (ds.sizes["y"], ds.sizes["x"])
    empty = AtiResult(np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, int), pd.DataFrame(), albedo)
    if not cube.dates_known(ds) or "is_day" not in cube.flags_known(ds):
        empty.note = (f"No ATI for {cfg.name}: its passes have no published dates or times, so day and night passes close in "
                      "time cannot be paired.")
        return empty
    pairs = day_night_pairs(pd.DatetimeIndex(ds["time"].values), ds["is_day"].values.astype(bool), max_gap_h)
    if pairs.empty:
        empty.note = f"No ATI for {cfg.name}: no night pass lies within {max_gap_h:g} h of a day pass."
        return empty
    band = cube.temperature_band(ds)
    if band != "LST":
        empty.note = f"No ATI for {cfg.name}: the cube holds {band}, not land-surface temperature."
        return empty
    temp = ds["data"].sel(band="LST").values
    valid = ds["valid"].values.astype(bool)
    ati, dt, n = apparent_thermal_inertia(temp, valid, pairs, albedo)
    res = AtiResult(ati, dt, n, pairs, albedo)
    if write:
        fin = ati[np.isfinite(ati)]
        hi = float(np.percentile(fin, 98)) if fin.size else 1.0
        res.files.append(maps.write_continuous_map(
            cfg.layout.ati, ati, cube.grid_of(ds), "1/K", "apparent thermal inertia (1 - albedo) / dT", 0.0, hi,
            {"albedo": f"{albedo} (constant: no optical albedo)", "pairs": str(len(pairs)), "max_gap_h": str(max_gap_h),
             "rule": "median over day/night pass pairs of (1 - albedo) / (LST_day - LST_night); pairs with dT < 1 K left out"}))
    return res


def per_class(ati: np.ndarray, labels: np.ndarray, min_pixels: int = 20) -> pd.DataFrame:
    """Long table (code, class, ati) of the finite ATI pixels of each labelled class with at least ``min_pixels``."""
    rows = []
    for k in np.unique(labels):
        if k == classes.NODATA:
            continue
        v = ati[(labels == k) & np.isfinite(ati)]
        if v.size >= min_pixels:
            rows.append(pd.DataFrame({"code": int(k), "class": classes.NAMES[int(k)], "ati": v}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["code", "class", "ati"])


def summary(res: AtiResult, labels: np.ndarray) -> pd.DataFrame:
    """Per class: pixels with an ATI, its median and interquartile range (K⁻¹), and the median ΔT (K)."""
    if not res.available:
        return pd.DataFrame()
    t = per_class(res.ati, labels)
    dt = per_class(res.delta_t, labels).rename(columns={"ati": "dt"})
    out = t.groupby(["code", "class"])["ati"].describe(percentiles=[0.25, 0.5, 0.75])[["count", "25%", "50%", "75%"]]
    out.columns = ["pixels", "ATI q25 (1/K)", "ATI median (1/K)", "ATI q75 (1/K)"]
    out["ΔT median (K)"] = dt.groupby(["code", "class"])["dt"].median()
    return out.round(4).reset_index()


def statement(res: AtiResult) -> str:
    """What the map can and cannot show, with this area's pair count (Markdown)."""
    if not res.available:
        return res.note
    gaps = res.pairs["gap_h"].abs()
    return (f"ATI from {len(res.pairs)} day/night pass pairs (median gap {gaps.median():.0f} h, at most {gaps.max():.0f} h; "
            "the weather of two dates differs, which adds to ΔT), "
            f"median {int(np.median(res.pairs_per_pixel[res.pairs_per_pixel > 0])) if (res.pairs_per_pixel > 0).any() else 0} pairs "
            f"per pixel. **It can show** where the ground swings less between day and night than its surroundings (dense or wet "
            f"ground, high ATI) and where it swings more (dry, loose ground, low ATI). **It cannot show** albedo differences "
            f"(a constant {res.albedo} is used: no optical data), the true diurnal range (ECOSTRESS passes are not at the daily "
            "extremes) or rock under vegetation, which damps the swing: read it with the signatures above, not alone.")
