"""ECOSTRESS file names and QC bits.

AppEEARS names are parsed into (product, layer, UTC timestamp, tile) and layers are
matched exactly, so ``LST_err`` can never be taken for ``LST``. The QC word of the
LSTE products is decoded into named bit fields (bit 0 least significant).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rocksoil_nb.core.grid import Grid

L2T_PRODUCT = "ECO_L2T_LSTE.002"
L2T_LAYERS = ("LST", "LST_err", "QC", "EmisWB", "cloud", "water", "height", "view_zenith")
#: The layers the workbook requests and the simulator writes.
REQUESTED_LAYERS = ("LST", "LST_err", "QC", "EmisWB", "cloud", "water")

# product (may contain dots), layer (may contain underscores), doyYYYYDDDhhmmss, aidNNNN, optional tile
_NAME = re.compile(
    r"^(?P<product>ECO[A-Za-z0-9_]*?\.\d{3})_(?P<layer>[A-Za-z0-9_]+?)_doy(?P<stamp>\d{13})"
    r"_aid(?P<aid>\d{4})(?:_(?P<tile>[A-Za-z0-9]+))?\.tif$"
)

# Layer spelling in other product styles → the L2T layer name.
_LAYER_ALIASES = {
    "SDS_LST": "LST",
    "SDS_LST_err": "LST_err",
    "SDS_QC": "QC",
    "SDS_EmisWB": "EmisWB",
    "SDS_Emis_WB": "EmisWB",
    "cloud_mask": "cloud",
    "water_mask": "water",
    "SDS_cloud_mask": "cloud",
    "SDS_water_mask": "water",
}


@dataclass(frozen=True)
class EcoName:
    """The parts of an AppEEARS ECOSTRESS file name. ``time`` is UTC."""

    product: str
    layer: str  # canonical L2T layer name (aliases resolved)
    time: dt.datetime  # UTC, timezone-aware
    aid: str = "0001"
    tile: str | None = None
    raw_layer: str = ""  # the layer as spelled in the file name

    @property
    def stamp(self) -> str:
        """``YYYYDDDhhmmss`` as in AppEEARS names (UTC)."""
        return self.time.strftime("%Y%j%H%M%S")

    def filename(self) -> str:
        """Format back to the AppEEARS file name."""
        layer = self.raw_layer or self.layer
        tail = f"_{self.tile}" if self.tile else ""
        return f"{self.product}_{layer}_doy{self.stamp}_aid{self.aid}{tail}.tif"


def parse_name(path: str | Path) -> EcoName:
    """Parse an AppEEARS ECOSTRESS file name; raise ``ValueError`` naming the file if it is not one."""
    name = Path(path).name
    m = _NAME.match(name)
    if not m:
        raise ValueError(
            f"{path}: not an AppEEARS ECOSTRESS file name "
            "(expected <product>_<layer>_doy<YYYYDDDhhmmss>_aid<NNNN>[_<tile>].tif)"
        )
    stamp = m["stamp"]
    try:
        t = dt.datetime.strptime(stamp, "%Y%j%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        raise ValueError(f"{path}: timestamp doy{stamp} is not a valid YYYYDDDhhmmss") from None
    raw = m["layer"]
    return EcoName(m["product"], _LAYER_ALIASES.get(raw, raw), t, m["aid"], m["tile"], raw)


def zone_suffix(crs: str) -> str:
    """The UTM zone suffix AppEEARS gives native-projection L2T outputs (``30N`` for EPSG:32630, ``29S`` for
    EPSG:32729); a clear error for a CRS that is not a WGS84 UTM zone."""
    m = re.fullmatch(r"EPSG:32([67])(\d\d)", str(crs).upper())
    if not m or not 1 <= int(m[2]) <= 60:
        raise ValueError(f"{crs}: not a WGS84 UTM zone (EPSG:326NN north, EPSG:327NN south); ECOSTRESS L2T tiles are in UTM")
    return f"{int(m[2])}{'N' if m[1] == '6' else 'S'}"


def format_name(layer: str, time: dt.datetime, tile: str | None = "30N", product: str = L2T_PRODUCT, aid: str = "0001") -> str:
    """AppEEARS file name for a layer at a UTC time (naive times are taken as UTC)."""
    if time.tzinfo is None:
        time = time.replace(tzinfo=dt.UTC)
    return EcoName(product, layer, time.astimezone(dt.UTC), aid, tile).filename()


def find_files(folder: str | Path) -> list[Path]:
    """Every ECOSTRESS GeoTIFF with an AppEEARS name in ``folder`` *or any folder below it* (downloads are often kept
    one subfolder per layer: ``LST/``, ``QC/``, ``cloud_mask/``), sorted; hidden and temporary files left out.
    A folder that does not exist is an error naming it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    out = []
    for p in folder.rglob("*.tif"):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        try:
            parse_name(p)
        except ValueError:
            continue
        out.append(p)
    return sorted(out, key=lambda q: (q.name, str(q)))


def where_found(folder: str | Path, files: list[Path]) -> str:
    """'N files in <folder>' or, for nested folders, 'N files in K folders below <folder> (LST/: a, QC/: b, ...)'."""
    folder = Path(folder)
    by: dict[str, int] = {}
    for f in files:
        key = str(f.parent.relative_to(folder)) if f.parent != folder else "."
        by[key] = by.get(key, 0) + 1
    if list(by) in ([], ["."]):
        return f"{len(files)} ECOSTRESS file(s) in {folder}"
    parts = ", ".join(f"{k}/: {n}" for k, n in sorted(by.items()))
    return f"{len(files)} ECOSTRESS file(s) in {len(by)} folder(s) below {folder} ({parts})"


def find_layer(paths, layer: str) -> list[Path]:
    """The files among ``paths`` whose parsed layer is exactly ``layer`` (never a prefix match)."""
    out = []
    for p in paths:
        try:
            if parse_name(p).layer == layer:
                out.append(Path(p))
        except ValueError:
            continue
    return sorted(out)


# --------------------------------------------------------------------------- QC bits

#: (name, first bit, number of bits) of the LSTE QC word.
QC_FIELDS: tuple[tuple[str, int, int], ...] = (
    ("mandatory", 0, 2),  # 00 best, 01 nominal, 10 cloud/unset (by collection), 11 not produced
    ("data_quality", 2, 2),  # 00 good, 01 missing stripe, 10 not set, 11 missing/bad
    ("cloud_ocean", 4, 2),  # Collection 1 only; not set in Collection 2
    ("iterations", 6, 2),  # 00 slow convergence ... 11 fast
    ("atmos_opacity", 8, 2),  # 00 >=0.3 (humid) ... 11 <0.1 (dry)
    ("mmd", 10, 2),  # 00 >0.15 (silicate rocks) ... 11 <0.03 (vegetation, water)
    ("emis_accuracy", 12, 2),  # 00 >0.02 poor ... 11 <0.01 excellent
    ("lst_accuracy", 14, 2),  # 00 >2 K poor, 01 1.5-2 K, 10 1-1.5 K, 11 <1 K
)
QC_FILL = 65535  # nodata value of QC rasters


def pack_qc(**fields) -> np.ndarray:
    """Pack named QC fields (ints or arrays, each 0-3) into uint16 QC words."""
    known = {n for n, _, _ in QC_FIELDS}
    unknown = set(fields) - known
    if unknown:
        raise ValueError(f"unknown QC field(s) {sorted(unknown)}; known: {sorted(known)}")
    out = np.zeros(np.broadcast(*[np.asarray(v) for v in fields.values()]).shape if fields else (), dtype=np.uint16)
    for n, bit, width in QC_FIELDS:
        if n in fields:
            v = np.asarray(fields[n]).astype(np.int64)
            if np.any((v < 0) | (v >= 1 << width)):
                raise ValueError(f"QC field {n} must be in 0-{(1 << width) - 1}")
            out = out | (v.astype(np.uint16) << np.uint16(bit))
    return out.astype(np.uint16)


def unpack_qc(qc) -> dict[str, np.ndarray]:
    """Decode QC words into {field: uint8 array}; see ``QC_FIELDS`` for meanings."""
    q = np.asarray(qc).astype(np.uint16)
    return {n: ((q >> np.uint16(bit)) & np.uint16((1 << width) - 1)).astype(np.uint8) for n, bit, width in QC_FIELDS}


def qc_lookup_table(values) -> "pd.DataFrame":  # noqa: F821
    """AppEEARS-style QC lookup table: one row per distinct QC value with its decoded fields."""
    import pandas as pd

    vals = np.unique(np.asarray(values, dtype=np.uint16))
    dec = unpack_qc(vals)
    df = pd.DataFrame({"Value": vals.astype(int)})
    for n, _, width in QC_FIELDS:
        df[n] = [format(int(x), f"0{width}b") for x in dec[n]]
    return df


# --------------------------------------------------------------------------- per-scene quality


def is_cloudy(qc, cloud=None) -> np.ndarray:
    """Pixels flagged cloudy: the cloud layer is 1, or QC mandatory bits are 10."""
    cl = unpack_qc(qc)["mandatory"] == 2
    if cloud is not None:
        cl |= np.asarray(cloud) == 1
    return cl


# --------------------------------------------------------------------------- reference grid


def reference_grid(folder_or_paths, layer: str = "LST", crs: str | None = None):
    """The thermal reference grid: the (CRS, transform, shape) shared by most ``layer`` files.

    Grids of different dates may differ by a pixel (AppEEARS crops), so the most common one
    is taken. With ``crs`` (the area's UTM zone), files in that CRS are preferred when there are any: an area near a
    zone edge gets pieces of the neighbouring zone's tiles too (``..._29N.tif`` and ``..._30N.tif`` of one pass), and
    those are reprojected onto the area's grid. Raises ``ValueError`` naming the folder when there are no readable files.
    """
    from collections import Counter

    import rasterio


    if isinstance(folder_or_paths, (str, Path)):
        folder = Path(folder_or_paths)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder, so no ECOSTRESS files (for an area: run 01_acquire first)")
        paths = find_layer(find_files(folder), layer)
        where = str(folder)
    else:
        paths = find_layer(folder_or_paths, layer)
        where = "the given files"
    if not paths:
        raise ValueError(f"{where}: no ECOSTRESS {layer} files (AppEEARS names) found")
    seen = Counter()
    for p in paths:
        try:
            with rasterio.open(p) as src:
                t = src.transform
                if src.crs is None:
                    continue
                seen[(src.crs.to_string(), t.a, t.e, t.c, t.f, src.height, src.width)] += 1
        except rasterio.errors.RasterioIOError:
            continue
    if not seen:
        raise ValueError(f"{where}: none of the {len(paths)} {layer} files is a readable georeferenced raster")
    if crs is not None and any(k[0] == crs for k in seen):
        seen = Counter({k: n for k, n in seen.items() if k[0] == crs})
    (crs, a, e, x0, y0, rows, cols), _ = seen.most_common(1)[0]
    if abs(a + e) > 1e-9 * abs(a):
        raise ValueError(f"{where}: {layer} pixels are not square north-up ({a} x {e})")
    return Grid(crs, x0, y0, a, rows, cols)


# --------------------------------------------------------------------------- reading values

#: (scale, offset, fill) of integer-coded layers in the older products: DN * scale + offset, fill = no data.
INTEGER_CODING = {
    "LST": (0.02, 0.0, 0),  # K
    "LST_err": (0.04, 0.0, 0),  # K
    "EmisWB": (0.002, 0.49, 0),
}
CONTINUOUS = ("LST", "LST_err", "EmisWB", "height", "view_zenith")
PLAUSIBLE = {"LST": (150.0, 400.0), "LST_err": (0.0, 20.0), "EmisWB": (0.3, 1.0)}


def read_layer(path: str | Path, window=None) -> tuple[np.ndarray, dict]:
    """Read one ECOSTRESS layer in physical units: LST and LST_err in K, EmisWB 0-1 (float32, NaN = no data);
    QC as uint16 (65535 = fill), cloud/water as uint8 (255 = fill).

    Scale and offset come from the file's metadata when present, else from the product's integer
    coding (``ECO2LSTE.001``, ``ECO_L2_LSTE.002``: LST = DN × 0.02 K). A file whose values are
    outside the plausible range after scaling is an error naming the file.
    """
    import rasterio

    name = parse_name(path)
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as e:
        raise ValueError(f"{path}: not a readable GeoTIFF ({e})") from None
    with src:
        try:
            raw = src.read(1, window=window)
        except rasterio.errors.RasterioError as e:  # the header reads, the pixel data does not: a cut download
            raise ValueError(f"{path}: truncated or damaged GeoTIFF: the header reads but the pixel data does not "
                             f"({e}); download the file again") from None
        meta = {"crs": src.crs, "transform": src.window_transform(window) if window is not None else src.transform,
                "shape": raw.shape, "nodata": src.nodata, "dtype": src.dtypes[0]}
        scale, offset = src.scales[0], src.offsets[0]
    layer = name.layer
    check_content(path, layer, raw, src.nodata)
    if layer in CONTINUOUS:
        out = raw.astype(np.float32)
        fill = src.nodata
        if np.issubdtype(raw.dtype, np.integer):
            if (scale, offset) == (1.0, 0.0) and layer in INTEGER_CODING:
                scale, offset, default_fill = INTEGER_CODING[layer]
                fill = default_fill if fill is None else fill
            if fill is not None:
                out[raw == fill] = np.nan
            out = out * np.float32(scale) + np.float32(offset)
        else:
            if fill is not None and not np.isnan(fill):
                out[raw == fill] = np.nan
            if (scale, offset) != (1.0, 0.0):
                out = out * np.float32(scale) + np.float32(offset)
        lo_hi = PLAUSIBLE.get(layer)
        if lo_hi is not None:
            finite = out[np.isfinite(out)]
            if finite.size and (np.nanmedian(finite) < lo_hi[0] or np.nanmedian(finite) > lo_hi[1]):
                raise ValueError(f"{path}: {layer} values (median {np.nanmedian(finite):.3g}) are outside {lo_hi} "
                                 f"after scaling; wrong units or an unknown integer coding")
        return out, meta
    if layer == "QC":
        out = raw.astype(np.uint16)
        if src.nodata is not None and src.nodata != QC_FILL:
            out[raw == src.nodata] = QC_FILL
        return out, meta
    out = raw.astype(np.uint8) if raw.dtype != np.uint8 else raw
    return out, meta


def check_content(path: str | Path, layer: str, raw: np.ndarray, nodata) -> None:
    """The file's values fit its layer, else a ``ValueError`` naming the file: QC holds integer bit words; cloud
    and water hold integer flags 0/1 (255 or the file's nodata = fill). Catches a right name on wrong content (LST
    data saved as QC or cloud)."""
    if layer == "QC" and not np.issubdtype(raw.dtype, np.integer):
        raise ValueError(f"{path}: a QC layer must hold integer bit words, but the file holds {raw.dtype} values "
                         f"(median {np.nanmedian(raw):.4g}); is another layer saved under this name?")
    if layer in ("cloud", "water"):
        if not np.issubdtype(raw.dtype, np.integer):
            raise ValueError(f"{path}: a {layer} layer must hold integer 0/1 flags, but the file holds {raw.dtype} values; "
                             "is another layer saved under this name?")
        fill = {255} | ({int(nodata)} if nodata is not None and np.isfinite(nodata) else set())
        vals = np.unique(raw)
        bad = [int(v) for v in vals if int(v) not in (0, 1) and int(v) not in fill]
        if bad:
            raise ValueError(f"{path}: a {layer} layer must hold 0/1 flags (255 = fill), but it holds values "
                             f"{bad[:5]}{' ...' if len(bad) > 5 else ''}; is another layer saved under this name?")


def valid_mask(qc: np.ndarray, cloud: np.ndarray | None, lst: np.ndarray | None, rule) -> np.ndarray:
    """Pixels usable for learning under ``rule`` (a ``config.Preprocess``): mandatory QA and data-quality
    codes accepted, LST accuracy at least ``min_lst_accuracy``, no cloud flag, finite LST."""
    f = unpack_qc(qc)
    ok = np.isin(f["mandatory"], rule.valid_mandatory) & np.isin(f["data_quality"], rule.valid_data_quality)
    ok &= f["lst_accuracy"] >= rule.min_lst_accuracy
    ok &= np.asarray(qc) != QC_FILL
    if cloud is not None and rule.use_cloud_layer:
        ok &= np.asarray(cloud) != 1
    if lst is not None:
        ok &= np.isfinite(lst)
    return ok


def area_polygon(cfg) -> dict:
    """The area's WGS84 box as a GeoJSON FeatureCollection (lon, lat order)."""
    (n, e), (s, w) = cfg.area.ne, cfg.area.sw
    return {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": cfg.name},
            "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}}]}


def task_request(cfg) -> dict:
    """The AppEEARS area-task request for the area: product, the six layers, dates, GeoTIFF, native projection."""
    return {"task_type": "area", "task_name": f"rocksoil-{cfg.name}",
            "params": {"dates": [{"startDate": f"{cfg.period.start:%m-%d-%Y}", "endDate": f"{cfg.period.end:%m-%d-%Y}"}],
                       "layers": [{"product": L2T_PRODUCT, "layer": lay} for lay in REQUESTED_LAYERS],
                       "output": {"format": {"type": "geotiff"}, "projection": "native"}, "geo": area_polygon(cfg)}}


#: what each value of a QC field means (L2 LSTE user guide), for teaching and reports
QC_MEANINGS: dict[str, tuple[str, str, str, str]] = {
    "mandatory": ("produced, best quality", "produced, nominal quality", "cloud-affected or not set", "not produced"),
    "data_quality": ("good", "missing stripe", "not set", "missing or bad"),
    "cloud_ocean": ("not set", "not set", "not set", "not set"),
    "iterations": ("slow convergence", "nominal", "nominal", "fast"),
    "atmos_opacity": (">= 0.3 (humid)", "0.2-0.3", "0.1-0.2", "< 0.1 (dry)"),
    "mmd": ("> 0.15 (silicate rocks)", "0.1-0.15", "0.03-0.1", "< 0.03 (vegetation, water)"),
    "emis_accuracy": ("> 0.02 (poor)", "0.015-0.02", "0.01-0.015", "< 0.01 (excellent)"),
    "lst_accuracy": ("> 2 K (poor)", "1.5-2 K", "1-1.5 K", "< 1 K"),
}


def qc_table(value: int):
    """One QC word decoded field by field: bits, value and meaning (a teaching view of :func:`unpack_qc`)."""
    import pandas as pd

    fields = unpack_qc(np.uint16(value))
    rows = [{"field": n, "bits": f"{bit}-{bit + width - 1}", "value": format(int(fields[n]), f"0{width}b"),
             "meaning": QC_MEANINGS[n][int(fields[n])]} for n, bit, width in QC_FIELDS]
    return pd.DataFrame(rows).set_index("field")
