"""Scene inventory (03_preprocess): one row per ECOSTRESS pass with UTC and local solar time,
day/night, season, grid status, layer completeness, valid / cloud / bad fractions, and whether
the scene is kept — with the reason when it is not.

Day/night: by local solar time by default (sun-based, right for any longitude); the thesis's
rule, the clock time 06:00-17:59 in UTC, is ``daynight_rule: clock``. Seasons: the thesis's
winter (22 Sep-21 Mar) and summer (22 Mar-21 Sep), and the four astronomical seasons.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import ecostress
from .grid import Grid
from .simulate.thermal import local_solar_hours

KEY_LAYERS = ("LST", "EmisWB", "QC")


def season_thesis(d: dt.date) -> str:
    """'summer' from 22 March to 21 September, else 'winter' (thesis §3.4)."""
    md = (d.month, d.day)
    return "summer" if (3, 22) <= md <= (9, 21) else "winter"


def season4(d: dt.date) -> str:
    """Astronomical season (northern hemisphere, approximate equinox/solstice dates)."""
    md = (d.month, d.day)
    if (3, 20) <= md < (6, 21):
        return "spring"
    if (6, 21) <= md < (9, 22):
        return "summer"
    if (9, 22) <= md < (12, 21):
        return "autumn"
    return "winter"


def day_or_night(t_utc: dt.datetime, lon_deg: float, rule: str = "solar", start: float = 6.0, end: float = 18.0) -> str:
    """'day' when the hour (local solar time, or the UTC clock for ``rule='clock'``) is in [start, end)."""
    if rule == "clock":
        h = t_utc.hour + t_utc.minute / 60 + t_utc.second / 3600
    else:
        h = local_solar_hours(t_utc, lon_deg)
    return "day" if start <= h < end else "night"


def grid_centre_lonlat(grid: Grid) -> tuple[float, float]:
    from pyproj import Transformer

    w, s, e, n = grid.bounds
    return Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform((w + e) / 2, (s + n) / 2)


def _grid_status(meta: dict, ref: Grid) -> tuple[str, str]:
    """(status, problem) of a raster's grid against the reference grid."""
    if meta["crs"] is None:
        return "no CRS", "no CRS: cannot be placed on the map"
    t = meta["transform"]
    rows, cols = meta["shape"]
    if meta["crs"].to_string() != ref.crs:
        return f"other CRS ({meta['crs'].to_string()})", ""
    w, n = t.c, t.f
    e, s = w + cols * t.a, n + rows * t.e
    rw, rs, re_, rn = ref.bounds
    if e <= rw or w >= re_ or n <= rs or s >= rn:
        return "no overlap", "no overlap with the reference grid"
    if (abs(t.a - ref.res) > 1e-6) or abs(t.e + ref.res) > 1e-6:
        return f"other pixel size ({t.a:g} m)", ""
    dc, dr = (w - ref.x0) / ref.res, (ref.y0 - n) / ref.res
    if abs(dc - round(dc)) > 1e-3 or abs(dr - round(dr)) > 1e-3:
        return "off-lattice", ""
    if round(dc) == 0 and round(dr) == 0 and (rows, cols) == ref.shape:
        return "reference", ""
    return f"shifted ({int(round(dr))}, {int(round(dc))}) px", ""


def build(raw_dir: str | Path, prep, scene_filter, ref: Grid | None = None, progress: bool = True) -> pd.DataFrame:
    """The scene inventory of ``raw_dir/ecostress`` (or a bare folder of ECOSTRESS files)."""
    raw = Path(raw_dir)
    folder = raw / "ecostress" if (raw / "ecostress").is_dir() else raw
    by_time: dict[dt.datetime, dict[str, Path]] = {}
    for p in sorted(folder.glob("*.tif")):
        try:
            n = ecostress.parse_name(p)
        except ValueError:
            continue
        by_time.setdefault(n.time, {})[n.layer] = p
    if not by_time:
        raise FileNotFoundError(f"{folder}: no ECOSTRESS files with AppEEARS names")
    ref = ref or ecostress.reference_grid(folder)
    lon, _ = grid_centre_lonlat(ref)
    rows = []
    for t in tqdm(sorted(by_time), desc="inventory", unit="pass", disable=not progress):
        files = by_time[t]
        rec = {"time_utc": t, "local_solar_hour": round(local_solar_hours(t, lon), 2),
               "daynight": day_or_night(t, lon, prep.daynight_rule, prep.day_start_hour, prep.day_end_hour),
               "daynight_solar": day_or_night(t, lon, "solar"), "daynight_clock": day_or_night(t, lon, "clock"),
               "season": season_thesis(t.date()), "season4": season4(t.date()),
               "product": ecostress.parse_name(next(iter(files.values()))).product}
        rec.update({f"{lay}_file": files[lay].name if lay in files else "" for lay in ecostress.REQUESTED_LAYERS})
        missing = [lay for lay in KEY_LAYERS if lay not in files]
        reasons = [f"missing layer(s): {', '.join(missing)}"] if missing else []
        rec.update(grid="", cloud_fraction=np.nan, bad_fraction=np.nan, valid_fraction=np.nan)
        if not missing:
            try:
                lst, meta = ecostress.read_layer(files["LST"])
                qc, _ = ecostress.read_layer(files["QC"])
                cloud = ecostress.read_layer(files["cloud"])[0] if "cloud" in files else None
                status, problem = _grid_status(meta, ref)
                rec["grid"] = status
                if problem:
                    reasons.append(problem)
                if qc.shape != lst.shape or (cloud is not None and cloud.shape != lst.shape):
                    reasons.append("layers of the pass differ in shape")
                else:
                    cl = ecostress.is_cloudy(qc, cloud if prep.use_cloud_layer else None)
                    valid = ecostress.valid_mask(qc, cloud, lst, prep)
                    rec["cloud_fraction"] = float(cl.mean())
                    rec["bad_fraction"] = float((~valid & ~cl).mean())
                    rec["valid_fraction"] = float(valid.mean())
                    if not valid.any():
                        reasons.append("no valid pixel (all NaN, cloud or bad quality)")
                    if rec["cloud_fraction"] > scene_filter.max_cloud_fraction:
                        reasons.append(f"cloud {rec['cloud_fraction']:.0%} > {scene_filter.max_cloud_fraction:.0%}")
                    if rec["bad_fraction"] > scene_filter.max_bad_fraction:
                        reasons.append(f"bad quality {rec['bad_fraction']:.0%} > {scene_filter.max_bad_fraction:.0%}")
            except ValueError as e:
                reasons.append(str(e).replace(str(folder) + "/", ""))
        rec["kept"] = not reasons
        rec["reason"] = "; ".join(reasons)
        rows.append(rec)
    return pd.DataFrame(rows)


def value_ranges(folder: str | Path, sample: int = 50) -> pd.DataFrame:
    """Per layer: files, and min / median / max of values in physical units over up to ``sample`` files."""
    folder = Path(folder)
    by_layer: dict[str, list[Path]] = {}
    for p in sorted(folder.glob("*.tif")):
        try:
            by_layer.setdefault(ecostress.parse_name(p).layer, []).append(p)
        except ValueError:
            continue
    rows = []
    units = {"LST": "K", "LST_err": "K", "EmisWB": "0-1", "QC": "bits", "cloud": "0/1", "water": "0/1"}
    for lay, paths in sorted(by_layer.items()):
        pick = paths[:: max(1, len(paths) // sample)]
        vals, problems = [], 0
        for p in pick:
            try:
                a, _ = ecostress.read_layer(p)
            except ValueError:
                problems += 1
                continue
            a = a.astype(float)
            if lay == "QC":
                a = a[a != ecostress.QC_FILL]
            elif lay in ("cloud", "water"):
                a = a[a != 255]
            a = a[np.isfinite(a)]
            if a.size:
                vals.append(np.percentile(a, [0, 50, 100]))
        v = np.array(vals) if vals else np.full((1, 3), np.nan)
        rows.append({"layer": lay, "units": units.get(lay, ""), "files": len(paths), "read": len(pick) - problems,
                     "unreadable": problems, "min": round(float(np.min(v[:, 0])), 4), "median": round(float(np.median(v[:, 1])), 4),
                     "max": round(float(np.max(v[:, 2])), 4)})
    return pd.DataFrame(rows)
