"""Sentinel exports in ``raw/sentinel1`` and ``raw/sentinel2``: their file names (times UTC) and the one
rule that matches them to the thermal passes (used by the Earth Engine download and by the cube alike)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

S1_PATTERN = re.compile(r"^S1_GRD_IW_(?P<t>\d{8}T\d{6})_(?P<orbit>ASC|DESC)_(?P<pol>VV|VH)\.tif$")
S2_PATTERN = re.compile(r"^S2_NDVI_(?P<t>\d{8}T\d{6})\.tif$")
#: Sentinel-1 within this many calendar days of a thermal pass (0 = the same UTC day).
SAR_WINDOW_DAYS = 0
#: Sentinel-2 NDVI within ± this many days of a thermal pass (the thesis used 16-day windows).
NDVI_WINDOW_DAYS = 8.0
_ORBIT = {"ASCENDING": "ASC", "DESCENDING": "DESC", "ASC": "ASC", "DESC": "DESC"}


S2_CLOUD_SCORE = "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED"
SCL_CLOUD = (3, 8, 9, 10)  # Sentinel-2 scene classes masked as cloud: shadow, cloud medium / high probability, cirrus
SCL_SNOW = 11
CLOUD_MASKS = ("scl", "cloud_score_plus")


def s2_cloud_mask_text(method: str = "scl", score_min: float = 0.6, mask_snow: bool = False) -> str:
    """How Sentinel-2 clouds are masked, in words (NDVI file tags, matching table, 01's table)."""
    if method == "scl":
        classes = SCL_CLOUD + ((SCL_SNOW,) if mask_snow else ())
        return f"SCL classes {', '.join(map(str, classes))} masked (cloud shadow, cloud medium/high, cirrus{', snow' if mask_snow else ''})"
    if method == "cloud_score_plus":
        return f"Cloud Score+ cs_cdf >= {score_min:g} kept ({S2_CLOUD_SCORE})"
    raise ValueError(f"unknown Sentinel-2 cloud mask {method!r}; choose one of {', '.join(CLOUD_MASKS)}")


def s1_name(t: dt.datetime, orbit: str, pol: str) -> str:
    """``S1_GRD_IW_<YYYYMMDDTHHMMSS>_<ASC|DESC>_<VV|VH>.tif``."""
    return f"S1_GRD_IW_{t:%Y%m%dT%H%M%S}_{_ORBIT[orbit.upper()]}_{pol}.tif"


def s2_name(t: dt.datetime) -> str:
    """``S2_NDVI_<YYYYMMDDTHHMMSS>.tif``."""
    return f"S2_NDVI_{t:%Y%m%dT%H%M%S}.tif"


def parse(path: str | Path) -> dict | None:
    """{source, layer, time (UTC), orbit} of a Sentinel export name, or None."""
    name = Path(path).name
    m = S1_PATTERN.match(name)
    if m:
        t = dt.datetime.strptime(m["t"], "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
        return {"source": "Sentinel-1 GRD", "layer": m["pol"], "time": t, "orbit": m["orbit"]}
    m = S2_PATTERN.match(name)
    if m:
        t = dt.datetime.strptime(m["t"], "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
        return {"source": "Sentinel-2 SR", "layer": "NDVI", "time": t, "orbit": ""}
    return None


def sentinel_files(raw: Path) -> pd.DataFrame:
    """Sentinel exports in ``raw/sentinel1`` and ``raw/sentinel2``: one row per file (source, layer, UTC time, path)."""
    rows = []
    for sub in ("sentinel1", "sentinel2"):
        for p in sorted((raw / sub).glob("*.tif")):
            s = parse(p)
            if s:
                rows.append({"source": s["source"], "layer": s["layer"], "time_utc": pd.Timestamp(s["time"]), "path": p})
    return pd.DataFrame(rows, columns=["source", "layer", "time_utc", "path"])


def nearest(t, candidates: pd.Series, window_days: float, same_day: bool):
    """Index label of the candidate time nearest to the pass time ``t`` (UTC) within the window, or None.

    With ``same_day`` the window counts calendar days (0 = the same UTC date: Sentinel-1), else it is
    ± ``window_days`` in time (Sentinel-2 NDVI)."""
    if not len(candidates):
        return None
    t = pd.Timestamp(t)
    if same_day:
        d = (candidates.dt.normalize() - t.normalize()).dt.days.abs()
    else:
        d = (candidates - t).abs().dt.total_seconds() / 86400
    ok = d <= window_days
    if not ok.any():
        return None
    return (candidates[ok] - t).abs().idxmin()


def match_sentinel(times, files: pd.DataFrame, sar_window_days: int = SAR_WINDOW_DAYS,
                   ndvi_window_days: float = NDVI_WINDOW_DAYS) -> pd.DataFrame:
    """For each pass time: the VV, VH files of the S1 scene on the same UTC day (± window days) and the
    nearest NDVI within ± ``ndvi_window_days``. Missing matches are empty strings."""
    out = []
    s1 = files[files["source"].str.startswith("Sentinel-1")]
    s2 = files[files["layer"] == "NDVI"]
    for t in times:
        t = pd.Timestamp(t)
        rec = {"time_utc": t, "VV": "", "VH": "", "NDVI": "", "sar_delta_days": np.nan, "ndvi_delta_days": np.nan}
        i = nearest(t, s1["time_utc"], sar_window_days, same_day=True)
        if i is not None:
            best_t = s1.loc[i, "time_utc"]
            pair = s1[s1["time_utc"] == best_t].set_index("layer")["path"]
            if {"VV", "VH"} <= set(pair.index):
                rec.update(VV=str(pair["VV"]), VH=str(pair["VH"]), sar_delta_days=(best_t - t).total_seconds() / 86400)
        i = nearest(t, s2["time_utc"], ndvi_window_days, same_day=False)
        if i is not None:
            rec.update(NDVI=str(s2.loc[i, "path"]), ndvi_delta_days=(s2.loc[i, "time_utc"] - t).total_seconds() / 86400)
        out.append(rec)
    return pd.DataFrame(out)
