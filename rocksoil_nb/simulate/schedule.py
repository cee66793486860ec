"""When the satellites pass: ECOSTRESS passes (thesis Appendix C or an ISS-like orbit),
Sentinel-1 and Sentinel-2 acquisitions, and the cloud amount of each pass. Times are UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig

UTC = dt.UTC
S1B_END = dt.datetime(2021, 12, 23, tzinfo=UTC)  # Sentinel-1B failure: 12-day revisit afterwards


@dataclass
class Pass:
    """One acquisition: UTC time, cloud fraction (0-1) and whether the thesis listed it."""

    time: dt.datetime
    cloud_fraction: float
    listed: bool = False
    orbit: str = ""


def appendix_c(aoi: str) -> pd.DataFrame:
    """The thesis Appendix C acquisition list for an area (date, UTC time, thesis day/night and season)."""
    with resources.files("rocksoil_nb.data").joinpath("appendix_c_acquisitions.csv").open() as fh:
        df = pd.read_csv(fh)
    df = df[df["aoi"] == aoi].copy()
    df["time"] = pd.to_datetime(df["date"] + " " + df["time_utc"], utc=True)
    return df.reset_index(drop=True)


def _cloudy_fraction(rng: np.random.Generator) -> float:
    """Cloud fraction of a pass the thesis did not keep: mostly well above the 10 % filter, one in ten
    borderline (2-12 %), so a few pass the filter as in the thesis's counts."""
    if rng.random() < 0.1:
        return float(rng.uniform(0.02, 0.12))
    return float(min(1.0, 0.06 + 0.94 * rng.beta(1.3, 1.8)))


def _climate_fraction(cloudiness: float, rng: np.random.Generator) -> float:
    """Cloud fraction of a pass in a month whose mean cloudiness is ``cloudiness`` (0-1)."""
    if rng.random() > cloudiness:
        return float(rng.uniform(0, 0.05)) if rng.random() < 0.7 else 0.0
    return _cloudy_fraction(rng)


def _random_times(start: dt.date, end: dt.date, n: int, rng: np.random.Generator) -> list[dt.datetime]:
    t0 = dt.datetime.combine(start, dt.time(), tzinfo=UTC)
    span = (dt.datetime.combine(end, dt.time(), tzinfo=UTC) - t0).total_seconds() + 86400
    secs = np.sort(rng.uniform(0, span, n))
    return [t0 + dt.timedelta(seconds=int(s)) for s in secs]


def thermal_passes(cfg: AreaConfig, rng: np.random.Generator) -> list[Pass]:
    """ECOSTRESS passes over the area, sorted by time, with cloud fractions from the climate."""
    sc, cl = cfg.simulator.scenes, cfg.simulator.climate
    passes: list[Pass] = []
    if sc.dates == "appendix_c":
        listed = appendix_c(cfg.name)
        if listed.empty:
            raise ValueError(f"simulator.scenes.dates is 'appendix_c' but the thesis lists no dates for {cfg.name!r}")
        for t in listed["time"]:
            cf = 0.0 if rng.random() < 0.6 else float(rng.uniform(0, 0.07))
            passes.append(Pass(t.to_pydatetime(), cf, listed=True))
        for t in _random_times(cfg.period.start, cfg.period.end, sc.rejected_passes, rng):
            passes.append(Pass(t, _cloudy_fraction(rng)))
    else:
        for t in _random_times(cfg.period.start, cfg.period.end, sc.passes, rng):
            passes.append(Pass(t, _climate_fraction(cl.cloudiness[t.month - 1], rng)))
    passes.sort(key=lambda p: p.time)
    return passes


def _regular(start: dt.datetime, end: dt.datetime, first: dt.datetime, every_days: float) -> list[dt.datetime]:
    out, t = [], first
    while t <= end:
        if t >= start:
            out.append(t)
        t += dt.timedelta(days=every_days)
    return out


def sentinel1_passes(cfg: AreaConfig, thermal: list[Pass], rng: np.random.Generator) -> list[Pass]:
    """Sentinel-1 IW acquisitions (ascending ~18:10, descending ~06:20 UTC; 6-day revisit, 12 after S1B)
    within ``sar_window_days`` of a thermal pass: the dates an Earth Engine export would hold."""
    start = dt.datetime.combine(cfg.period.start, dt.time(), tzinfo=UTC)
    end = dt.datetime.combine(cfg.period.end, dt.time(23, 59), tzinfo=UTC)
    ref = dt.datetime(2018, 12, 29, tzinfo=UTC)
    times = []
    for orbit, hour, shift in (("ASC", 18.17, 0), ("DESC", 6.33, 3)):
        base = ref + dt.timedelta(days=shift, hours=hour)
        for t in _regular(start, end, base, 12):  # S1A
            times.append((t, orbit))
        for t in _regular(start, min(end, S1B_END), base + dt.timedelta(days=6), 12):  # S1B
            times.append((t, orbit))
    win = cfg.simulator.scenes.sar_window_days
    tdays = np.array(sorted({p.time.date().toordinal() for p in thermal}))
    out = []
    for t, orbit in sorted(times):
        d = t.date().toordinal()
        if len(tdays) and np.min(np.abs(tdays - d)) <= win:
            jitter = dt.timedelta(seconds=int(rng.integers(-90, 90)))
            out.append(Pass(t + jitter, 0.0, orbit=orbit))
    return out


def sentinel2_passes(cfg: AreaConfig, thermal: list[Pass], rng: np.random.Generator) -> list[Pass]:
    """Sentinel-2 acquisitions (~10:55 UTC, 5-day revisit) nearest each thermal pass within
    ``ndvi_window_days`` and under 50 % cloud: the NDVI dates an export would hold."""
    start = dt.datetime.combine(cfg.period.start, dt.time(), tzinfo=UTC) - dt.timedelta(days=10)
    end = dt.datetime.combine(cfg.period.end, dt.time(23, 59), tzinfo=UTC) + dt.timedelta(days=10)
    first = dt.datetime(2018, 12, 30, 10, 55, tzinfo=UTC)
    cand = [Pass(t, _climate_fraction(cfg.simulator.climate.cloudiness[t.month - 1], rng)) for t in _regular(start, end, first, 5)]
    win = dt.timedelta(days=cfg.simulator.scenes.ndvi_window_days)
    chosen: dict[dt.datetime, Pass] = {}
    for p in thermal:
        near = [c for c in cand if abs(c.time - p.time) <= win and c.cloud_fraction < 0.5]
        if near:
            best = min(near, key=lambda c: (abs(c.time - p.time).total_seconds() / 86400 + 20 * c.cloud_fraction))
            chosen[best.time] = best
    return [chosen[k] for k in sorted(chosen)]
