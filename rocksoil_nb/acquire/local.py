"""Bring-your-own files (``source: local``): validate a folder holding an AppEEARS bundle (any known
naming style), optional Sentinel-1/2 GeoTIFFs and a geology vector, then link or copy them into
``data/<aoi>/raw/`` without touching the originals.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from rocksoil_nb.core import ecostress, io, sentinel

VECTOR_SUFFIXES = (".gpkg", ".shp")
SHAPEFILE_SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix")
BUNDLE_EXTRAS = ("-QC-lookup.csv", "-request.json", "-granule-list.txt")


class LocalSourceError(RuntimeError):
    """The local folder cannot serve as a source (missing, no ECOSTRESS LST files…)."""


def _readable(path: Path, ecostress_file: bool = False) -> str:
    """'' when the whole raster reads (and, for ECOSTRESS, its values fit the layer), else the problem in words."""
    import rasterio

    try:
        with rasterio.open(path) as s:
            if s.crs is None:
                return "no CRS"
            if not ecostress_file:
                s.read(1)
        if ecostress_file:
            ecostress.read_layer(path)
        return ""
    except ValueError as e:  # read_layer's own message: truncated, wrong content, implausible values
        return str(e).replace(f"{path}: ", "")
    except Exception as e:  # noqa: BLE001 - any reader failure makes the file unusable
        return f"unreadable ({type(e).__name__}: truncated or damaged?)"


def scan(folder: str | Path) -> pd.DataFrame:
    """Every file of the folder with its kind (ecostress, sentinel1, sentinel2, geology, bundle, other),
    layer, UTC time and a problem column (empty when the file is usable)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LocalSourceError(f"{folder}: local source folder does not exist")
    rows = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        rec = {"path": str(p.relative_to(folder)), "kind": "other", "layer": "", "time_utc": pd.NaT, "problem": ""}
        if p.suffix.lower() in (".tif", ".tiff"):
            try:
                n = ecostress.parse_name(p)
                rec.update(kind="ecostress", layer=n.layer, time_utc=pd.Timestamp(n.time), product=n.product)
            except ValueError:
                s = sentinel.parse(p)
                if s:
                    rec.update(kind="sentinel1" if s["source"].startswith("Sentinel-1") else "sentinel2", layer=s["layer"],
                               time_utc=pd.Timestamp(s["time"]))
                else:
                    rec.update(problem="raster name not recognised (neither AppEEARS ECOSTRESS nor S1_GRD_IW_/S2_NDVI_)")
            if rec["kind"] != "other":
                rec["problem"] = _readable(p, rec["kind"] == "ecostress")
        elif p.suffix.lower() in VECTOR_SUFFIXES:
            rec.update(kind="geology", layer=p.stem)
        elif p.suffix.lower() in SHAPEFILE_SIDECARS:
            rec.update(kind="geology-sidecar", layer=p.stem)
        elif any(p.name.endswith(x) for x in BUNDLE_EXTRAS):
            rec.update(kind="bundle", layer=p.name)
        rows.append(rec)
    return pd.DataFrame(rows, columns=["path", "kind", "layer", "time_utc", "problem", "product"])


def layer_table(files: pd.DataFrame) -> pd.DataFrame:
    """One row per ECOSTRESS pass (UTC): which requested layers are present, which are missing."""
    eco = files[(files["kind"] == "ecostress") & (files["problem"] == "")]
    rows = []
    for t, g in eco.groupby("time_utc"):
        have = set(g["layer"])
        rows.append({"time_utc": t, "present": ",".join(sorted(have & set(ecostress.REQUESTED_LAYERS))),
                     "missing": ",".join(sorted(set(ecostress.REQUESTED_LAYERS) - have))})
    return pd.DataFrame(rows, columns=["time_utc", "present", "missing"])


def _place(src: Path, dest: Path, mode: str) -> str:
    if dest.is_symlink() and not dest.exists():  # our own link of an earlier import whose source moved: no data here
        dest.unlink()
    if dest.is_symlink() or dest.exists():
        same = dest.resolve() == src.resolve() or (dest.stat().st_size == src.stat().st_size and mode == "copy")
        if same:
            return "present"
        raise LocalSourceError(f"{dest}: already holds another file; raw data is immutable (use a new data folder)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if mode == "link":
        os.symlink(src.resolve(), dest)
    else:
        with io.atomic_path(dest) as tmp:
            shutil.copy2(src, tmp)
    return "linked" if mode == "link" else "copied"


def _outside(folder: Path, files: pd.DataFrame, area) -> pd.Series:
    """True for the ECOSTRESS and Sentinel rasters that do not reach ``area`` (a Grid: the area's thermal grid)."""
    import rasterio
    from rasterio.warp import transform_bounds

    w, s, e, n = area.bounds
    out = pd.Series(False, index=files.index)
    for i, r in files[files["kind"].isin(["ecostress", "sentinel1", "sentinel2"]) & (files["problem"] == "")].iterrows():
        with rasterio.open(folder / r["path"]) as src:
            if src.crs is None:
                continue
            x0, y0, x1, y1 = transform_bounds(src.crs, area.crs, *src.bounds)
        out[i] = x1 <= w or x0 >= e or y1 <= s or y0 >= n
    return out


def import_folder(folder: str | Path, raw_dir: str | Path, mode: str = "link", progress: bool = True, area=None) -> dict:
    """Validate ``folder`` and link/copy its usable files into ``raw_dir`` (layout: ecostress/, sentinel1/,
    sentinel2/, geology/). Returns {files, scenes, summary}; unusable files are listed, never imported. With ``area``
    (the area's thermal Grid), rasters that do not reach it are left out, and a folder none of whose passes reaches it
    is refused; two files of one name in different subfolders are refused naming both; all before anything is linked."""
    from tqdm.auto import tqdm

    folder, raw = Path(folder), Path(raw_dir)
    files = scan(folder)
    if area is not None:
        away = _outside(folder, files, area)
        files.loc[away, "problem"] = f"does not reach the area's grid ({area.crs}, bounds {[round(v) for v in area.bounds]})"
        lst = (files["kind"] == "ecostress") & (files["layer"] == "LST")
        if lst.any() and not (lst & (files["problem"] == "")).any() and (lst & away).any():
            raise LocalSourceError(f"{folder}: none of its {int(lst.sum())} ECOSTRESS passes reaches this area's grid "
                                   f"({area.crs}, bounds {[round(v) for v in area.bounds]}); are they another area's? Check "
                                   "acquisition.local_folder and the area's box in its parameters")
    extra = (files["kind"] == "bundle") & pd.Series([Path(p).name for p in files["path"]], index=files.index).duplicated()
    files.loc[extra & (files["problem"] == ""), "problem"] = "another bundle file of this name is imported"
    usable = files[(files["problem"] == "") & (files["kind"] != "other")]
    names = usable.assign(name=[Path(p).name for p in usable["path"]])
    twice = names[names.duplicated("name", keep=False)].sort_values("path")
    if len(twice):
        first = twice.iloc[0]["name"]
        both = twice[twice["name"] == first]["path"].tolist()
        raise LocalSourceError(f"{folder}: {len(twice)} files share a name with another in a different subfolder, e.g. "
                               f"{both[0]} and {both[1]}; keep one copy of each pass (nothing was imported)")
    if not ((usable["kind"] == "ecostress") & (usable["layer"] == "LST")).any():
        raise LocalSourceError(f"{folder}: no readable ECOSTRESS LST file with an AppEEARS name "
                               "(e.g. ECO_L2T_LSTE.002_LST_doy2019042172850_aid0001_30N.tif)")
    sub = {"ecostress": "ecostress", "bundle": "ecostress", "sentinel1": "sentinel1", "sentinel2": "sentinel2",
           "geology": "geology", "geology-sidecar": "geology"}
    actions = []
    for _, r in tqdm(usable.iterrows(), total=len(usable), desc="import local files", unit="file", disable=not progress):
        src = folder / r["path"]
        actions.append(_place(src, raw / sub[r["kind"]] / src.name, mode))
    files["action"] = ""
    files.loc[usable.index, "action"] = actions
    scenes = layer_table(files)
    summary = {"folder": str(folder), "mode": mode, "files": len(files), "imported": int((files["action"] != "").sum()),
               "problems": int((files["problem"] != "").sum()), "ecostress_passes": len(scenes),
               "incomplete_passes": int((scenes["missing"] != "").sum()) if len(scenes) else 0,
               "geology_vector": bool((usable["kind"] == "geology").any())}
    io.write_csv(raw / "local_import.csv", files)
    io.write_json(raw / "manifest.json", {"source": "local", "complete": True, "summary": summary})
    return {"files": files, "scenes": scenes, "summary": summary}
