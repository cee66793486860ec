"""File names of the Sentinel exports in ``raw/sentinel1`` and ``raw/sentinel2`` (times UTC)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

S1_PATTERN = re.compile(r"^S1_GRD_IW_(?P<t>\d{8}T\d{6})_(?P<orbit>ASC|DESC)_(?P<pol>VV|VH)\.tif$")
S2_PATTERN = re.compile(r"^S2_NDVI_(?P<t>\d{8}T\d{6})\.tif$")
_ORBIT = {"ASCENDING": "ASC", "DESCENDING": "DESC", "ASC": "ASC", "DESC": "DESC"}


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
