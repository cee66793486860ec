"""The per-date cube (03_preprocess): kept passes aligned on the thermal reference grid, stacked as
(time, band, y, x) float32 in chunked Zarr with CRS, plus a validity mask (time, y, x).

Alignment (documented rule): rasters already on the reference lattice are placed by whole-pixel
offsets (exact); other grids or CRSs (a piece of a pass delivered in the neighbouring UTM zone) are reprojected
with rasterio and fill what the pieces in the area's zone left empty — nearest neighbour for QC, cloud,
water and classes, bilinear for LST and emissivity; Sentinel-1 backscatter is averaged in linear power
(dB → power → mean → dB) and NDVI averaged, from their finer grids onto the 70 m pixels.
Invalid pixels (QC rule, cloud, NaN) are NaN in the cube; normalisation and NaN → 0 happen in 05.

Every cube, built here or imported (:mod:`rocksoil_nb.prepare.thesis_import`), is written by :func:`write_zarr` (one
chunking) and carries the attributes of :class:`CubeAttrs`, read back with :func:`attrs_of` (defaults declared there).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rocksoil_nb.core import ecostress, io
from rocksoil_nb.core.grid import Grid, lattice_offset
from rocksoil_nb.core.sentinel import match_sentinel, sentinel_files

log = logging.getLogger(__name__)

THERMAL_BANDS = ("LST", "EmisWB")
SAR_BANDS = ("VV", "VH")
ALL_BANDS = THERMAL_BANDS + SAR_BANDS + ("NDVI",)
#: what a cube's first band may hold: LST (K), or LST_err (K) in a thesis import, where the thesis's "LST" slot held it
TEMPERATURE_BANDS = ("LST", "LST_err")


class AlignmentError(ValueError):
    """A raster cannot be placed on the reference grid (no CRS, no overlap)."""


def align(arr: np.ndarray, meta: dict, ref: Grid, kind: str = "continuous") -> np.ndarray:
    """``arr`` (with ``meta``: crs, transform) on ``ref``. ``kind``: continuous (bilinear), categorical
    (nearest), power_db (average in linear power), average (area average). NaN / fill outside."""
    from rasterio.warp import Resampling, reproject

    if meta.get("crs") is None:
        raise AlignmentError("no CRS")
    t = meta["transform"]
    fill = np.nan if np.issubdtype(arr.dtype, np.floating) else (ecostress.QC_FILL if arr.dtype == np.uint16 else 255)
    off = lattice_offset(meta["crs"], t, ref)
    if off is not None:
        dr, dc = off
        out = np.full(ref.shape, fill, dtype=arr.dtype)
        r0, c0 = max(0, dr), max(0, dc)
        r1, c1 = min(ref.rows, dr + arr.shape[0]), min(ref.cols, dc + arr.shape[1])
        if r1 <= r0 or c1 <= c0:
            raise AlignmentError("no overlap with the reference grid")
        out[r0:r1, c0:c1] = arr[r0 - dr : r1 - dr, c0 - dc : c1 - dc]
        return out
    if kind == "power_db":
        lin = np.where(np.isfinite(arr), 10 ** (arr.astype(np.float64) / 10), np.nan)
        out = align(lin, meta, ref, "average")
        with np.errstate(divide="ignore", invalid="ignore"):
            return (10 * np.log10(out)).astype(np.float32)
    method = {"continuous": Resampling.bilinear, "categorical": Resampling.nearest, "average": Resampling.average}[kind]
    src = arr.astype(np.float32) if kind != "categorical" else arr
    dst = np.full(ref.shape, np.nan if kind != "categorical" else fill, dtype=src.dtype)
    reproject(src, dst, src_transform=t, src_crs=meta["crs"], dst_transform=ref.transform, dst_crs=ref.crs,
              src_nodata=np.nan if kind != "categorical" else fill, dst_nodata=np.nan if kind != "categorical" else fill,
              resampling=method)
    if kind != "categorical" and not np.isfinite(dst).any():
        raise AlignmentError("no overlap with the reference grid")
    return dst


PIECE_SEP = ";"  # joins the files of one pass and layer in the inventory (pieces of tiles in two UTM zones)


def pieces(cell) -> list[str]:
    """The file(s) of one pass and layer as the inventory lists them (``a.tif`` or ``a.tif;b.tif``)."""
    return [p for p in str(cell or "").split(PIECE_SEP) if p]


def _fill(arr: np.ndarray) -> np.ndarray:
    """Where ``arr`` holds no data: NaN, QC fill (65535) or mask fill (255)."""
    if np.issubdtype(arr.dtype, np.floating):
        return ~np.isfinite(arr)
    return arr == (ecostress.QC_FILL if arr.dtype == np.uint16 else 255)


def read_pass_layer(folder: Path, cell, ref: Grid, kind: str) -> tuple[np.ndarray, list[str]]:
    """One ECOSTRESS layer of one pass on ``ref`` in physical units (``ecostress.read_layer``), its pieces aligned and
    merged: pieces in ``ref``'s CRS first, then the others (reprojected) fill what they left empty. Returns the array
    and the CRS of each piece read."""
    read = []
    for name in pieces(cell):
        arr, meta = ecostress.read_layer(Path(folder) / name)
        read.append((str(meta["crs"]) != ref.crs, name, arr, meta))
    if not read:
        raise ValueError(f"{folder}: no file given for this layer")
    out, crss = None, []
    for _, _, arr, meta in sorted(read, key=lambda r: (r[0], r[1])):
        try:
            a = align(arr, meta, ref, kind)
        except AlignmentError:
            continue
        crss.append(str(meta["crs"]))
        out = a if out is None else np.where(_fill(out), a, out)
    if out is None:
        raise AlignmentError(f"no piece of {cell} overlaps the reference grid")
    return out, crss


def _read_aligned(path: Path, ref: Grid, kind: str) -> np.ndarray:
    import rasterio

    try:
        with rasterio.open(path) as s:
            a = s.read(1).astype(np.float32)
            if s.nodata is not None and not np.isnan(s.nodata):
                a[a == s.nodata] = np.nan
            meta = {"crs": s.crs, "transform": s.transform}
    except rasterio.errors.RasterioIOError as e:
        raise ValueError(f"{path.name}: unreadable ({e})") from None
    return align(a, meta, ref, kind)


def _fingerprint(path: Path) -> list:
    """(path, size in bytes, modification time in ns) of a file, following links; None for a missing one."""
    try:
        st = path.stat()
    except OSError:
        return [str(path), None, None]
    return [str(path), st.st_size, st.st_mtime_ns]


def inputs_hash(inventory: pd.DataFrame, matches: pd.DataFrame, prep, eco: Path | None = None, ref: Grid | None = None) -> str:
    """The cube's content key: the kept passes, every file read for them (names, sizes, modification times: new
    scenes under the same pass times, or edited files, give another key), the Sentinel matches, the validity
    rule and the grid. A cube is reused only when this matches."""
    import dataclasses

    kept = inventory[inventory["kept"]]
    layers = [c for c in ("LST_file", "EmisWB_file", "QC_file", "cloud_file") if c in kept]
    files = [] if eco is None else [_fingerprint(eco / f) for c in layers for cell in kept[c] for f in pieces(cell)]
    files += [_fingerprint(Path(f)) for col in ("VV", "VH", "NDVI") if col in matches for f in matches[col] if f]
    blob = json.dumps({"kept": [str(t) for t in kept["time_utc"]], "sar": list(matches["VV"]), "ndvi": list(matches["NDVI"]),
                       "prep": dataclasses.asdict(prep), "files": files,
                       "grid": None if ref is None else [ref.crs, list(ref.transform)[:6], ref.rows, ref.cols]}, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build(raw_dir: str | Path, inventory: pd.DataFrame, ref: Grid, out_path: str | Path, prep, sar_window_days: int = 0,
          ndvi_window_days: float = 8.0, progress: bool = True, batch: int = 16) -> Path:
    """Write the cube of the kept passes to ``out_path`` (Zarr). Skips when a complete cube of the same
    inputs exists; an incomplete or outdated one is rebuilt. Returns the path."""
    import xarray as xr

    raw, out = Path(raw_dir), Path(out_path)
    eco = raw / "ecostress"
    kept = inventory[inventory["kept"]].sort_values("time_utc").reset_index(drop=True)
    if kept.empty:
        raise ValueError(f"{raw}: no pass was kept by the scene filter; see the inventory's 'reason' column")
    matches = match_sentinel(kept["time_utc"], sentinel_files(raw), sar_window_days, ndvi_window_days)
    h = inputs_hash(inventory, matches, prep, eco, ref)
    if out.exists():
        why = "it is incomplete"
        try:
            attrs = attrs_of(xr.open_zarr(out))
            if attrs.inputs_hash == h and attrs.complete:
                return out
            if attrs.complete:
                why = "its scenes, files, grid or validity rule differ from these"
        except Exception:  # noqa: BLE001 - an unreadable cube is rebuilt
            why = "it cannot be read"
        log.info("%s: rebuilding the cube (%s)", out, why)
        shutil.rmtree(out)
    tmp = partial_path(out)
    x, y = ref.centres()
    bar = tqdm(total=len(kept), desc="cube", unit="pass", disable=not progress)
    first = True
    for b0 in range(0, len(kept), batch):
        part = kept.iloc[b0 : b0 + batch]
        data = np.full((len(part), len(ALL_BANDS), ref.rows, ref.cols), np.nan, dtype=np.float32)
        valid = np.zeros((len(part), ref.rows, ref.cols), dtype=np.uint8)
        for i, (_, row) in enumerate(part.iterrows()):
            lst = read_pass_layer(eco, row["LST_file"], ref, "continuous")[0]
            emis = read_pass_layer(eco, row["EmisWB_file"], ref, "continuous")[0]
            qc = read_pass_layer(eco, row["QC_file"], ref, "categorical")[0]
            cloud = read_pass_layer(eco, row["cloud_file"], ref, "categorical")[0] if row.get("cloud_file") else None
            ok = ecostress.valid_mask(qc, cloud, lst, prep) & np.isfinite(emis)
            valid[i] = ok
            data[i, 0] = np.where(ok, lst, np.nan)
            data[i, 1] = np.where(ok, emis, np.nan)
            m = matches.iloc[b0 + i]
            if m["VV"]:
                data[i, 2] = _read_aligned(Path(m["VV"]), ref, "power_db")
                data[i, 3] = _read_aligned(Path(m["VH"]), ref, "power_db")
            if m["NDVI"]:
                data[i, 4] = _read_aligned(Path(m["NDVI"]), ref, "average")
            bar.update()
        times = pd.to_datetime(part["time_utc"], utc=True).dt.tz_convert(None).values
        mm = matches.iloc[b0 : b0 + len(part)]
        ds = xr.Dataset(
            {"data": (("time", "band", "y", "x"), data), "valid": (("time", "y", "x"), valid)},
            coords={"time": times, "band": list(ALL_BANDS), "y": y, "x": x,
                    "is_day": ("time", (part["daynight"] == "day").values), "is_summer": ("time", (part["season"] == "summer").values),
                    "local_solar_hour": ("time", part["local_solar_hour"].values.astype(float)),
                    "has_sar": ("time", (mm["VV"] != "").values), "has_ndvi": ("time", (mm["NDVI"] != "").values)},
        )
        # every append rewrites the group attributes, so each batch carries them
        ds.attrs.update(CubeAttrs(crs=ref.crs, transform=list(ref.transform)[:6], res_m=ref.res, inputs_hash=h,
                                  alignment="whole-pixel placement on the lattice; else bilinear (LST, EmisWB), nearest (QC, "
                                            "cloud), linear-power average (VV, VH), average (NDVI)").to_attrs())
        write_zarr(ds, tmp, append=not first)
        first = False
    bar.close()
    mark_complete(tmp)
    times_table = kept.merge(matches, on="time_utc", how="left")
    io.write_csv(out.with_name(out.name.replace(".zarr", "") + "_times.csv"), times_table)
    return publish(tmp, out)


CHUNK_PX = 256  # a cube chunk: one date, every band, at most this many pixels a side


@dataclass
class CubeAttrs:
    """The attributes of every cube (Zarr group attributes), with their defaults: what a reader may rely on.

    Acquired cubes leave the import-only fields at their defaults; a thesis import sets them (no dates, which pass flags
    are facts, the one variant it holds, where it came from)."""

    crs: str  # the reference grid's CRS (EPSG code)
    transform: list[float]  # its affine transform (a, b, c, d, e, f), metres
    res_m: float  # pixel size, metres
    inputs_hash: str  # what the cube was built from: a changed input rebuilds it
    alignment: str = ""  # how rasters were placed on the grid
    units: str = "LST K; EmisWB 0-1; VV, VH dB; NDVI"
    time: str = "UTC"  # what the time coordinate is
    complete: bool = False  # set once the last date is written: readers refuse an incomplete cube
    source: str = ""  # the area's source that wrote it ("" = acquired and preprocessed here)
    variant: str = ""  # the one dataset variant an imported cube holds ("" = any variant can be cut from it)
    dates_known: bool = True  # False: passes have an order (``date_idx``) but no dates
    flags_known: list[str] = field(default_factory=lambda: list(PASS_FLAGS))  # pass flags that are facts, not placeholders
    source_path: str = ""  # imports: the published set read
    file_split: str = ""  # imports: what the ``file_split`` codes mean
    notes: str = "[]"  # imports: JSON list of what the import found

    def to_attrs(self) -> dict:
        """The attributes as written to Zarr."""
        return dataclasses.asdict(self)


PASS_FLAGS = ("is_day", "is_summer", "has_sar", "has_ndvi")


def attrs_of(ds) -> CubeAttrs:
    """A cube's attributes (an xarray Dataset's or a Zarr group's), fields it lacks at their declared defaults."""
    names = {f.name for f in dataclasses.fields(CubeAttrs)}
    given = {k: v for k, v in dict(ds.attrs).items() if k in names}
    return CubeAttrs(**{"crs": "", "transform": [], "res_m": 0.0, "inputs_hash": "", **given})


def held_variant(path: str | Path) -> str:
    """The one dataset variant the cube at ``path`` holds (a thesis import's), "" where any can be cut from it or there
    is no cube yet."""
    import xarray as xr

    path = Path(path)
    return attrs_of(xr.open_zarr(path)).variant if path.exists() else ""


def write_zarr(ds, out: Path, append: bool = False) -> Path:
    """Write (or, ``append``, extend along time) a cube Dataset to Zarr with the one chunking of every cube: one date,
    every band, :data:`CHUNK_PX` pixels a side; its attributes must be a :class:`CubeAttrs`."""
    CubeAttrs(**ds.attrs)  # an attribute the schema does not declare, or one missing, is an error here
    if append:
        ds.to_zarr(out, append_dim="time", consolidated=True)
        return out
    rows, cols = min(CHUNK_PX, ds.sizes["y"]), min(CHUNK_PX, ds.sizes["x"])
    enc = {k: {"chunks": (1, ds.sizes["band"], rows, cols) if "band" in v.dims else (1, rows, cols)}
           for k, v in ds.data_vars.items() if v.dims[0] == "time"}
    ds.to_zarr(out, mode="w", encoding=enc, consolidated=True, zarr_format=2)
    return out


def mark_complete(path: Path) -> None:
    """Mark a fully written cube complete (the last step before it is published)."""
    import zarr

    root = zarr.open_group(str(path), mode="a", zarr_format=2)
    root.attrs["complete"] = True
    zarr.consolidate_metadata(str(path), zarr_format=2)


def partial_path(out: Path) -> Path:
    """Where a cube is written until it is complete (``<name>.partial``, emptied first): readers never see half a cube."""
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    return tmp


def publish(tmp: Path, out: Path) -> Path:
    """Put a complete cube written at ``tmp`` in place at ``out`` (an older one there is removed first); returns ``out``."""
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def open_cube(path: str | Path):
    """Open a cube lazily (xarray Dataset backed by Dask); raises with the path when it is incomplete."""
    import xarray as xr

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no cube; run 03_preprocess first")
    ds = xr.open_zarr(path)
    if not attrs_of(ds).complete:
        raise ValueError(f"{path}: the cube is incomplete; rerun 03_preprocess")
    return ds


def read_labels(path: str | Path, ref: Grid) -> np.ndarray:
    """The labels raster, checked to be on the reference grid (else a clear error)."""
    import rasterio

    with rasterio.open(path) as s:
        if s.crs is None or s.crs.to_string() != ref.crs or s.transform != ref.transform or s.shape != ref.shape:
            raise ValueError(f"{path}: labels are not on the thermal reference grid ({s.crs}, {s.shape}, {tuple(s.transform)[:6]} "
                             f"vs {ref.crs}, {ref.shape}, {tuple(ref.transform)[:6]}); rerun 02_labels")
        return s.read(1)


def band_names(ds_or_group) -> list[str]:
    """The band names of a cube (an xarray Dataset or its Zarr group), in order."""
    return [str(b) for b in np.asarray(ds_or_group["band"][:] if not hasattr(ds_or_group, "sizes") else ds_or_group["band"].values)]


def band_index(cube_bands: list[str], wanted: list[str], where: str | Path = "cube") -> list[int]:
    """Positions of ``wanted`` bands in a cube's band list; a clear error naming ``where`` when one is missing."""
    missing = [b for b in wanted if b not in cube_bands]
    if missing:
        raise ValueError(f"{where}: needs bands {missing}; the cube holds {cube_bands}")
    return [cube_bands.index(b) for b in wanted]


def resolve_bands(cube_bands: list[str], wanted: tuple[str, ...] | list[str]) -> list[str]:
    """A variant's band names on this cube: ``LST`` is the cube's temperature slot (``LST_err`` in a thesis import)."""
    temp = next((b for b in TEMPERATURE_BANDS if b in cube_bands), "LST")
    return [temp if b == "LST" else b for b in wanted]


def temperature_band(ds) -> str:
    """The cube's temperature band: LST, or LST_err where that is what the data holds (a thesis import)."""
    return resolve_bands(band_names(ds), ["LST"])[0]


def scene_median(band: np.ndarray, valid: np.ndarray) -> float:
    """Median of one date's band (K for a temperature) over its valid, finite pixels: the date's weather, which the
    scene anomaly (band minus this) removes. 0.0 when no pixel is valid. ``band`` and ``valid`` (y, x) or (n,)."""
    vals = band[np.asarray(valid, bool) & np.isfinite(band)]
    return float(np.median(vals)) if vals.size else 0.0


def scene_offsets(data: np.ndarray, valid: np.ndarray, band_index: list[int], temp_pos: int) -> np.ndarray:
    """(time, len(band_index)) what an anomaly input subtracts from each date: the scene median of the temperature
    band (at ``temp_pos`` among the selected bands, K), 0 for the other bands. ``data`` (time, band, y, x)."""
    out = np.zeros((len(data), len(band_index)), np.float64)
    for t in range(len(data)):
        out[t, temp_pos] = scene_median(np.asarray(data[t][band_index[temp_pos]]), np.asarray(valid[t]))
    return out


def dates_known(ds) -> bool:
    """Whether the cube's passes have dates (a thesis import has only their order, ``date_idx``)."""
    return attrs_of(ds).dates_known


#: dates in one stand-in "year" where a cube's dates are unknown (a thesis import): consecutive blocks of this many
#: dates in their published order (``date_idx``) take the place of calendar years for the whole-year models
UNDATED_YEAR_DATES = 24


def year_ids(ds) -> np.ndarray:
    """Per date of a cube, the year a whole-year model groups it in: the calendar year (UTC) where the dates are
    known, else the block ``date_idx // UNDATED_YEAR_DATES`` of consecutive dates (no season can be read then)."""
    if dates_known(ds):
        return pd.DatetimeIndex(ds["time"].values).year.to_numpy()
    return np.asarray(ds["date_idx"].values, dtype=np.int64) // UNDATED_YEAR_DATES


def flags_known(ds) -> set[str]:
    """The pass flags (is_day, is_summer, has_sar, has_ndvi) that are facts of this cube, not placeholders."""
    return set(attrs_of(ds).flags_known)


def pass_flags(ds) -> pd.DataFrame:
    """Per pass of a cube: is_day, is_summer, has_sar, has_ndvi (what the dataset variants select on)."""
    return pd.DataFrame({k: ds[k].values for k in PASS_FLAGS})


def grid_of(ds) -> Grid:
    """The reference grid a cube was built on."""
    a = attrs_of(ds)
    t = a.transform
    return Grid(a.crs, t[2], t[5], t[0], ds.sizes["y"], ds.sizes["x"])


