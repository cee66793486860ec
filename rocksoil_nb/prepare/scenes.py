"""Scene inventory (03_preprocess): one row per ECOSTRESS pass with UTC and local solar time,
day/night, season, grid status, layer completeness, valid / cloud / bad-quality / outside-footprint fractions (fill
with no value, e.g. beyond the swath of a reprojected pass, is not bad quality), and whether
the scene is kept — with the reason when it is not.

Day/night: by local solar time by default (sun-based, right for any longitude); the thesis's
rule, the clock time 06:00-17:59 in UTC, is ``daynight_rule: clock``. Seasons: the thesis's
winter (22 Sep-21 Mar) and summer (22 Mar-21 Sep), and the four astronomical seasons.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rocksoil_nb.config import Preprocess, SceneFilter
from rocksoil_nb.core import ecostress, io
from rocksoil_nb.core.grid import Grid, grid_status
from rocksoil_nb.core.solar import day_or_night, local_solar_hours, season4, season_thesis
from rocksoil_nb.prepare.cube import PIECE_SEP, read_pass_layer

KEY_LAYERS = ("LST", "EmisWB", "QC")


def grid_centre_lonlat(grid: Grid) -> tuple[float, float]:
    from pyproj import Transformer

    w, s, e, n = grid.bounds
    return Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform((w + e) / 2, (s + n) / 2)


def build(raw_dir: str | Path, prep, scene_filter, ref: Grid | None = None, progress: bool = True,
          crs: str | None = None) -> pd.DataFrame:
    """The scene inventory of ``raw_dir/ecostress`` (or a bare folder of ECOSTRESS files). A pass delivered in pieces
    (tiles of two UTM zones: ``…_29N.tif`` and ``…_30N.tif``) is one row, its files joined by ``;`` and merged on the
    reference grid (``crs``: the area's zone, preferred for the reference grid)."""
    raw = Path(raw_dir)
    if not raw.is_dir():
        raise FileNotFoundError(f"{raw}: no such folder")
    folder = raw / "ecostress" if (raw / "ecostress").is_dir() else raw
    note = incomplete(raw)
    if note:
        warnings.warn(note, stacklevel=2)
    by_time: dict[dt.datetime, dict[str, list[Path]]] = {}
    for p in ecostress.find_files(folder):
        n = ecostress.parse_name(p)
        same = [q for q in by_time.get(n.time, {}).get(n.layer, []) if ecostress.parse_name(q).tile == n.tile]
        if same:  # pieces of one pass differ by tile / zone suffix (…_29N.tif, …_30N.tif); the same name twice is a copy
            raise ValueError(f"{folder}: two {n.layer} files for the pass of {n.time:%Y-%m-%d %H:%M:%S} UTC: "
                             f"{same[0].relative_to(folder)} and {p.relative_to(folder)}; keep one")
        by_time.setdefault(n.time, {}).setdefault(n.layer, []).append(p)
    if not by_time:
        raise FileNotFoundError(f"{folder}: no ECOSTRESS files with AppEEARS names in it or any folder below it "
                                "(e.g. ECO_L2T_LSTE.002_LST_doy2019042172850_aid0001_30N.tif)")
    ref = ref or ecostress.reference_grid(folder, crs=crs)
    lon, _ = grid_centre_lonlat(ref)
    rows = []
    for t in tqdm(sorted(by_time), desc="inventory", unit="pass", disable=not progress):
        files = by_time[t]
        rec = {"time_utc": t, "local_solar_hour": round(local_solar_hours(t, lon), 2),
               "daynight": day_or_night(t, lon, prep.daynight_rule, prep.day_start_hour, prep.day_end_hour),
               "daynight_solar": day_or_night(t, lon, "solar"), "daynight_clock": day_or_night(t, lon, "clock"),
               "season": season_thesis(t.date()), "season4": season4(t.date()),
               "product": ecostress.parse_name(next(iter(files.values()))[0]).product}
        rec.update({f"{lay}_file": PIECE_SEP.join(str(q.relative_to(folder)) for q in files[lay]) if lay in files else ""
                    for lay in ecostress.REQUESTED_LAYERS})
        split = any(len(files.get(lay, [])) > 1 for lay in KEY_LAYERS + ("cloud",))
        missing = [lay for lay in KEY_LAYERS if lay not in files]
        reasons = [f"missing layer(s): {', '.join(missing)}"] if missing else []
        rec.update(grid="", cloud_fraction=np.nan, bad_fraction=np.nan, outside_fraction=np.nan, valid_fraction=np.nan)
        if not missing:
            try:
                if split:  # pieces in two zones: merged on the reference grid
                    lst, crss = read_pass_layer(folder, rec["LST_file"], ref, "continuous")
                    qc = read_pass_layer(folder, rec["QC_file"], ref, "categorical")[0]
                    read_pass_layer(folder, rec["EmisWB_file"], ref, "continuous")
                    cloud = read_pass_layer(folder, rec["cloud_file"], ref, "categorical")[0] if "cloud" in files else None
                    status, problem = f"{len(crss)} pieces merged ({', '.join(sorted(set(crss)))})", ""
                else:
                    lst, meta = ecostress.read_layer(files["LST"][0])  # whole layers: a cut or mislabelled file drops the pass here
                    qc, _ = ecostress.read_layer(files["QC"][0])
                    ecostress.read_layer(files["EmisWB"][0])
                    cloud = ecostress.read_layer(files["cloud"][0])[0] if "cloud" in files else None
                    status, problem = grid_status(meta["crs"], meta["transform"], meta["shape"], ref)
                rec["grid"] = status
                if problem:
                    reasons.append(problem)
                if qc.shape != lst.shape or (cloud is not None and cloud.shape != lst.shape):
                    reasons.append("layers of the pass differ in shape")
                else:
                    cl = ecostress.is_cloudy(qc, cloud if prep.use_cloud_layer else None)
                    valid = ecostress.valid_mask(qc, cloud, lst, prep)
                    outside = (qc == ecostress.QC_FILL) & ~np.isfinite(lst)  # no data at all: outside the swath or tile
                    rec["cloud_fraction"] = float(cl.mean())
                    rec["bad_fraction"] = float((~valid & ~cl & ~outside).mean())
                    rec["outside_fraction"] = float((outside & ~cl).mean())
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


def incomplete(raw_dir: str | Path) -> str:
    """A warning when the folder's acquisition did not finish (its ``manifest.json`` says so), else ''."""
    man = io.read_json_or(Path(raw_dir) / "manifest.json", {})
    if isinstance(man, dict) and man.get("complete") is False:
        return (f"{raw_dir}: the acquisition of this folder did not finish (manifest.json: complete = false); passes may be "
                "missing. Rerun 01_acquire (or `rocksoil simulate` with the same --out) to complete it")
    return ""


def value_ranges(folder: str | Path, sample: int = 50) -> pd.DataFrame:
    """Per layer: files, and min / median / max of values in physical units over up to ``sample`` files."""
    folder = Path(folder)
    by_layer: dict[str, list[Path]] = {}
    for p in ecostress.find_files(folder):
        by_layer.setdefault(ecostress.parse_name(p).layer, []).append(p)
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


def scene_table(raw_dir: str | Path, max_cloud: float = 0.10, max_bad: float = 0.15) -> pd.DataFrame:
    """One row per ECOSTRESS pass with its layer files (``<layer>_file``), cloud / bad / valid fractions from
    the cloud layer and decoded QC bits, and whether the scene filter keeps it (the reason when not).

    The same table as 03's inventory (:func:`build`) with the default validity rule.
    """
    return build(raw_dir, Preprocess(), SceneFilter(max_cloud, max_bad), progress=False)


def explain_pass(inv: pd.DataFrame, i: int, rule: str = "solar", start: float = 6.0, end: float = 18.0) -> str:
    """The day/night and season rules on one pass of an inventory, in words."""
    r = inv.iloc[i]
    t = pd.Timestamp(r["time_utc"])
    return (f"pass {i}: {t:%Y-%m-%d %H:%M} UTC, local solar time {r['local_solar_hour']:.2f} h -> {r['daynight']} "
            f"(rule '{rule}': day is [{start:g}, {end:g}) h of {'local solar time' if rule == 'solar' else 'the UTC clock'}); "
            f"{t:%d %b} -> thesis season {r['season']} (summer 22 Mar-21 Sep); "
            + ("kept" if r["kept"] else f"dropped: {r['reason']}"))
