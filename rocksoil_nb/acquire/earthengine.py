"""Earth Engine exports of Sentinel-1 (VV, VH in dB), Sentinel-2 NDVI and (optionally) ECOSTRESS L2T LSTE, straight
onto the thermal reference grid (no Drive): ``ee.data.computePixels`` per pass, tiled when a request would pass the
size limits, one GeoTIFF per pass and layer. Times are UTC.

What the service really returns, and what this module does about it:

* **Masked pixels.** ``computePixels`` with ``NUMPY_NDARRAY`` returns a plain structured array (``numpy.load`` of
  the payload) with the server's fill, 0, where a pixel is masked: no NumPy mask. So every request is sent as
  ``image.toFloat().unmask(MASKED_VALUE, False)`` (one type for every band; masked pixels, inside or outside the
  footprint, take a value no layer can hold) and ``MASKED_VALUE`` becomes NaN (float layers) or the layer's
  documented fill (QC 65535, cloud / water 255). A cloud-masked NDVI pixel is missing, never 0.
* **Request size.** 48 MiB per request, counted as pixels x bands x (bytes of the type + 1 mask byte); at most
  32768 pixels a side (REST ``computePixels``; google/Xee#209 for the mask byte).
* **Whole passes.** An area can straddle tiles or slices: the images of one ECOSTRESS overpass (times within
  ``PASS_SECONDS``), one Sentinel-1 pass (UTC date + orbit direction) and one Sentinel-2 datatake (UTC date) are
  mosaicked before the request.
* **Sentinel-2 clouds.** ``QA60`` is masked in ``COPERNICUS/S2_SR_HARMONIZED`` from 2022-01-25 to 2024-02-28, so it
  cannot mask clouds over the whole archive. The default is the scene classification ``SCL`` (classes 3 cloud
  shadow, 8 and 9 cloud medium / high probability, 10 cirrus; 11 snow optional); Cloud Score+
  (``GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED``, ``cs_cdf`` >= a threshold) is selectable. The method is written in
  each NDVI file's tags and in the matching table.
* **Coverage.** ``NASA/ECOSTRESS/L2T_LSTE/V2`` is a partial copy of the archive (catalog status beta; only some
  regions ingested): passes per year are reported and a warning says when they are far below what the full archive
  (AppEEARS) gives.

The ``ee`` module is passed in, so tests can use a fake one (``tests/ee_fake.py``).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import ecostress, io
from rocksoil_nb.core.grid import Grid
from rocksoil_nb.core.sentinel import CLOUD_MASKS, S2_CLOUD_SCORE, SCL_CLOUD, SCL_SNOW, nearest, s1_name, s2_name  # noqa: F401
from rocksoil_nb.core.sentinel import s2_cloud_mask_text as cloud_mask_text

S1 = "COPERNICUS/S1_GRD"
S2 = "COPERNICUS/S2_SR_HARMONIZED"
ECO = "NASA/ECOSTRESS/L2T_LSTE/V2"
MAX_REQUEST_BYTES = 48 * 1024 * 1024  # computePixels payload limit
MASK_BYTES = 1  # Earth Engine counts one mask byte per band per pixel on top of the data type
MAX_SIDE_PX = 10000  # the service allows 32768; smaller tiles fail and retry faster
MASKED_VALUE = -9999.0  # what masked pixels are unmasked to before a request (no layer holds it); exact in float32
PASS_SECONDS = 60.0  # ECOSTRESS images this close in time belong to one overpass (tiles of one orbit scene)
UTC = dt.UTC


def initialize(auth, ee=None):
    """Initialise Earth Engine as its client finds credentials: a service-account key file when
    ``EE_SERVICE_ACCOUNT_KEY`` names one, else ``ee.Initialize``'s own discovery (``earthengine authenticate``'s
    credentials file, then application-default credentials: gcloud, ``GOOGLE_APPLICATION_CREDENTIALS``, Colab or a
    cloud VM). The project is ``auth.project`` or, when empty, the one the credentials carry. Returns the module."""
    from rocksoil_nb.acquire.credentials import CredentialsError, redact

    if ee is None:
        import ee  # noqa: PLC0415 - optional, heavy
    if auth.key_file is not None:
        import json

        try:
            email = json.loads(Path(auth.key_file).read_text()).get("client_email")
            creds = ee.ServiceAccountCredentials(email, str(auth.key_file))
        except Exception as e:  # noqa: BLE001 - any failure of the key is the same advice
            raise CredentialsError(
                "the service-account key file named by EE_SERVICE_ACCOUNT_KEY cannot be "
                f"used ({type(e).__name__}: {redact(str(e))[:120]}); download a new JSON key of the service account in the "
                "Google Cloud console (IAM > Service accounts > Keys) and point EE_SERVICE_ACCOUNT_KEY at it") from None
        ee.Initialize(credentials=creds, project=auth.project or None)
        return ee
    try:
        ee.Initialize(project=auth.project or None)
    except Exception as e:  # noqa: BLE001 - the client's own words, redacted, with where we looked
        raise CredentialsError(
            "Earth Engine could not start with the credentials its client finds "
            "(~/.config/earthengine/credentials from 'earthengine authenticate', then application-default credentials: "
            "'gcloud auth application-default login', GOOGLE_APPLICATION_CREDENTIALS, Colab or a cloud VM), nor was a "
            "service-account key named in EE_SERVICE_ACCOUNT_KEY. Set EE_PROJECT (or acquisition.earthengine_project) "
            f"if no project is known. Earth Engine said: {redact(str(e))[:300]}") from None
    return ee


def region(ee, cfg: AreaConfig):
    """The area's WGS84 box as an ``ee.Geometry.Rectangle`` (west, south, east, north)."""
    (n, e), (s, w) = cfg.area.ne, cfg.area.sw
    return ee.Geometry.Rectangle([w, s, e, n], "EPSG:4326", False)


def _listing(coll, props: list[str]) -> pd.DataFrame:
    cols = {p: coll.aggregate_array(p).getInfo() for p in props}
    df = pd.DataFrame(cols)
    if "system:time_start" in df:
        df["time_utc"] = pd.to_datetime(df["system:time_start"], unit="ms", utc=True)
    return df


def group_passes(images: pd.DataFrame, key: str) -> pd.DataFrame:
    """One row per pass from a listing of images (``system:index``, ``time_utc``): ``key`` 'date' (UTC date; one
    Sentinel-2 datatake), 'date_orbit' (UTC date + ``orbitProperties_pass``; one Sentinel-1 pass) or 'overpass'
    (times within ``PASS_SECONDS``; one ECOSTRESS overpass). Columns: ``system:index`` (the pass's first image,
    its id), ``time_utc`` (first image), ``image_ids`` (every image of the pass, time order) and the first image's
    other properties."""
    if images.empty:
        return images.assign(image_ids=pd.Series(dtype=object))
    df = images.sort_values(["time_utc", "system:index"]).reset_index(drop=True)
    if key == "overpass":
        gap = df["time_utc"].diff().dt.total_seconds().fillna(np.inf)
        group = (gap > PASS_SECONDS).cumsum()
    elif key == "date":
        group = df["time_utc"].dt.date
    elif key == "date_orbit":
        group = df["time_utc"].dt.date.astype(str) + "_" + df["orbitProperties_pass"].astype(str)
    else:
        raise ValueError(f"unknown pass key {key!r}")
    rows = []
    for _, g in df.groupby(group, sort=False):
        first = g.iloc[0].to_dict()
        first["image_ids"] = tuple(g["system:index"])
        rows.append(first)
    return pd.DataFrame(rows).sort_values("time_utc").reset_index(drop=True)


def sentinel1_images(ee, cfg: AreaConfig, orbit_pass: str = "") -> pd.DataFrame:
    """S1 GRD IW scenes with VV and VH over the area in the period (optionally one orbit pass)."""
    coll = (ee.ImageCollection(S1).filterBounds(region(ee, cfg))
            .filterDate(str(cfg.period.start), str(cfg.period.end + dt.timedelta(days=1)))
            .filter(ee.Filter.eq("instrumentMode", "IW"))
            .filter(ee.Filter.listContains("transmitterReceiverPolarisation", "VV"))
            .filter(ee.Filter.listContains("transmitterReceiverPolarisation", "VH")))
    if orbit_pass:
        coll = coll.filter(ee.Filter.eq("orbitProperties_pass", orbit_pass.upper()))
    return _listing(coll, ["system:index", "system:time_start", "orbitProperties_pass"])


def sentinel2_images(ee, cfg: AreaConfig, max_cloud_percent: float = 60.0, pad_days: int = 8) -> pd.DataFrame:
    """S2 SR harmonized scenes over the area with scene cloud under ``max_cloud_percent`` (period ± ``pad_days``)."""
    coll = (ee.ImageCollection(S2).filterBounds(region(ee, cfg))
            .filterDate(str(cfg.period.start - dt.timedelta(days=pad_days)), str(cfg.period.end + dt.timedelta(days=pad_days + 1)))
            .filter(ee.Filter.lt("CLOUDY_PIXEL_PERCENTAGE", max_cloud_percent)))
    return _listing(coll, ["system:index", "system:time_start", "CLOUDY_PIXEL_PERCENTAGE"])


def match_dates(thermal_times, candidates: pd.DataFrame, window_days: float, same_day: bool) -> pd.DataFrame:
    """For each thermal time (UTC), the nearest candidate pass within the window: with ``same_day`` the
    window counts calendar days (0 = the same UTC date), else it is ± ``window_days`` in time."""
    rows = []
    cand = candidates.sort_values("time_utc").reset_index(drop=True) if len(candidates) else candidates
    for t in sorted(pd.to_datetime(pd.Series(list(thermal_times)), utc=True)):
        i = nearest(t, cand["time_utc"], window_days, same_day) if len(cand) else None
        best = None if i is None else cand.loc[i]
        ids = None if best is None else best.get("image_ids", (best["system:index"],))
        rows.append({"thermal_time_utc": t, "image_id": None if best is None else best["system:index"],
                     "image_ids": None if ids is None else "+".join(ids),
                     "image_time_utc": None if best is None else best["time_utc"],
                     "delta_days": None if best is None else round((best["time_utc"] - t).total_seconds() / 86400, 3)})
    return pd.DataFrame(rows)


def mosaic(ee, images: list):
    """One image of a pass: the image itself, or the mosaic of its tiles / slices (later ones on top)."""
    return images[0] if len(images) == 1 else ee.ImageCollection(list(images)).mosaic()


def s1_image(ee, image_ids) -> object:
    """VV and VH (dB) of one Sentinel-1 pass (its slices mosaicked)."""
    ids = [image_ids] if isinstance(image_ids, str) else list(image_ids)
    return mosaic(ee, [ee.Image(f"{S1}/{i}").select(["VV", "VH"]) for i in ids])


def _s2_clear(ee, image_id: str, method: str, score_min: float, mask_snow: bool):
    """1 where the Sentinel-2 pixel is clear under ``method``."""
    if method == "scl":
        scl = ee.Image(f"{S2}/{image_id}").select("SCL")
        clear = None
        for c in SCL_CLOUD + ((SCL_SNOW,) if mask_snow else ()):
            clear = scl.neq(c) if clear is None else clear.And(scl.neq(c))
        return clear
    if method == "cloud_score_plus":
        return ee.Image(f"{S2_CLOUD_SCORE}/{image_id}").select("cs_cdf").gte(score_min)
    cloud_mask_text(method)  # raises with the choices
    return None


def s2_ndvi(ee, image_ids, method: str = "scl", score_min: float = 0.6, mask_snow: bool = False):
    """NDVI = (B8 - B4) / (B8 + B4) of one Sentinel-2 datatake (its tiles mosaicked), clouds masked by ``method``."""
    ids = [image_ids] if isinstance(image_ids, str) else list(image_ids)
    parts = [ee.Image(f"{S2}/{i}").normalizedDifference(["B8", "B4"]).rename("NDVI")
             .updateMask(_s2_clear(ee, i, method, score_min, mask_snow)) for i in ids]
    return mosaic(ee, parts)


def plan_tiles(grid: Grid, n_bands: int, bytes_per_value: int = 4, max_bytes: int = MAX_REQUEST_BYTES,
               max_side: int = MAX_SIDE_PX) -> list[tuple[int, int, int, int]]:
    """Split ``grid`` into (row0, col0, rows, cols) tiles whose requests stay under the size limits (each value
    counts ``bytes_per_value`` plus the mask byte; 10 % margin)."""
    per_px = n_bands * (bytes_per_value + MASK_BYTES)
    max_px = max(1, int(max_bytes * 0.9) // per_px)
    n = 1
    while True:
        ny = nx = n
        th, tw = math.ceil(grid.rows / ny), math.ceil(grid.cols / nx)
        if th * tw <= max_px and th <= max_side and tw <= max_side:
            break
        n += 1
    return [(r, c, min(th, grid.rows - r), min(tw, grid.cols - c)) for r in range(0, grid.rows, th) for c in range(0, grid.cols, tw)]


def compute_pixels(ee, image, grid: Grid, bands: list[str], max_bytes: int = MAX_REQUEST_BYTES) -> np.ndarray:
    """The image's ``bands`` on ``grid`` as float32 (bands, rows, cols), every masked pixel NaN; tiled as needed.

    The request carries ``image.toFloat().unmask(MASKED_VALUE, False)``: the service fills masked pixels with 0,
    which would read as data (NDVI 0, 0 dB, QC 0 'best quality')."""
    expression = image.toFloat().unmask(MASKED_VALUE, False)
    out = np.full((len(bands), grid.rows, grid.cols), np.nan, dtype=np.float32)
    for r0, c0, h, w in plan_tiles(grid, len(bands), max_bytes=max_bytes):
        request = {
            "expression": expression,
            "fileFormat": "NUMPY_NDARRAY",
            "bandIds": list(bands),
            "grid": {"dimensions": {"width": w, "height": h},
                     "affineTransform": {"scaleX": grid.res, "shearX": 0, "translateX": grid.x0 + c0 * grid.res,
                                         "shearY": 0, "scaleY": -grid.res, "translateY": grid.y0 - r0 * grid.res},
                     "crsCode": grid.crs},
        }
        arr = ee.data.computePixels(request)
        for i, b in enumerate(bands):
            field = arr[b]
            band = np.asarray(field, dtype=np.float32).copy()
            band[band == np.float32(MASKED_VALUE)] = np.nan
            if np.ma.isMaskedArray(field):  # never sent by the service; honoured if a caller's client does
                band[np.ma.getmaskarray(field)] = np.nan
            out[i, r0 : r0 + h, c0 : c0 + w] = band
    return out


def fetch_sentinel(ee, cfg: AreaConfig, grid: Grid, thermal_times, raw_dir: Path, progress: bool = True) -> dict:
    """Match S1 passes and S2 datatakes to the thermal passes, export each matched one onto ``grid`` (its
    slices / tiles mosaicked) and save the matching tables (``raw/matching_sentinel1.csv``,
    ``raw/matching_sentinel2.csv``, with the cloud mask used). Skips files present."""
    acq = cfg.acquisition
    raw = Path(raw_dir)
    mask = cloud_mask_text(acq.s2_cloud_mask, acq.s2_cloud_score_min, acq.s2_mask_snow)
    s1 = group_passes(sentinel1_images(ee, cfg, acq.s1_orbit_pass), "date_orbit")
    s2 = group_passes(sentinel2_images(ee, cfg, acq.s2_max_cloud_percent, int(math.ceil(acq.ndvi_window_days))), "date")
    m1 = match_dates(thermal_times, s1, acq.sar_window_days, same_day=True)
    m2 = match_dates(thermal_times, s2, acq.ndvi_window_days, same_day=False).assign(cloud_mask=mask)
    io.write_csv(raw / "matching_sentinel1.csv", m1)
    io.write_csv(raw / "matching_sentinel2.csv", m2)
    by1 = s1.set_index("system:index") if len(s1) else s1
    by2 = s2.set_index("system:index") if len(s2) else s2
    jobs = [("s1", i) for i in m1["image_id"].dropna().unique()] + [("s2", i) for i in m2["image_id"].dropna().unique()]
    written = 0
    for kind, pass_id in tqdm(jobs, desc="Earth Engine export", unit="pass", disable=not progress):
        if kind == "s1":
            row = by1.loc[pass_id]
            names = {p: s1_name(row["time_utc"].to_pydatetime(), row["orbitProperties_pass"], p) for p in ("VV", "VH")}
            if all(io.raster_intact(raw / "sentinel1" / n) for n in names.values()):  # read through, not trusted by name
                continue
            data = compute_pixels(ee, s1_image(ee, row["image_ids"]), grid, ["VV", "VH"])
            for i, p in enumerate(("VV", "VH")):
                io.write_geotiff(raw / "sentinel1" / names[p], data[i], grid.crs, grid.transform, nodata=np.nan,
                                 tags={"units": "dB", "polarisation": p, "collection": S1, "image_ids": "+".join(row["image_ids"]),
                                       "orbit_pass": row["orbitProperties_pass"], "time_utc": row["time_utc"].isoformat()},
                                 band_descriptions=[p])
        else:
            row = by2.loc[pass_id]
            path = raw / "sentinel2" / s2_name(row["time_utc"].to_pydatetime())
            if io.raster_intact(path):
                continue
            data = compute_pixels(ee, s2_ndvi(ee, row["image_ids"], acq.s2_cloud_mask, acq.s2_cloud_score_min, acq.s2_mask_snow),
                                  grid, ["NDVI"])
            io.write_geotiff(path, data[0], grid.crs, grid.transform, nodata=np.nan,
                             tags={"units": "NDVI (B8-B4)/(B8+B4)", "collection": S2, "image_ids": "+".join(row["image_ids"]),
                                   "cloud_mask": mask, "time_utc": row["time_utc"].isoformat()}, band_descriptions=["NDVI"])
        written += 1
    return {"sentinel1_matched": int(m1["image_id"].notna().sum()), "sentinel2_matched": int(m2["image_id"].notna().sum()),
            "exported": written, "thermal_passes": len(m1), "sentinel2_cloud_mask": mask}


def full_archive_passes_per_year() -> float:
    """Clear ECOSTRESS passes per year and area that the thesis kept from the full archive (AppEEARS) over its three
    Spanish areas, 2019-2024 (Appendix C; the median of the areas): a floor for what the full archive delivers."""
    from importlib import resources

    with resources.files("rocksoil_nb.data").joinpath("appendix_c_acquisitions.csv").open() as fh:
        ac = pd.read_csv(fh)
    t = pd.to_datetime(ac["date"] + " " + ac["time_utc"], utc=True)
    passes = ac.assign(t=t).sort_values("t").groupby("aoi")["t"].apply(
        lambda s: int(((s.diff().dt.total_seconds().fillna(np.inf)) > PASS_SECONDS).sum()))
    years = ac.groupby("aoi")["date"].apply(lambda d: pd.to_datetime(d).dt.year.nunique())
    return float((passes / years).median())


def coverage(passes: pd.DataFrame, period_start: dt.date, period_end: dt.date) -> tuple[dict[int, int], list[str]]:
    """Passes per calendar year (UTC) of an Earth Engine ECOSTRESS listing and warnings for years far below the full
    archive (under half of :func:`full_archive_passes_per_year`, pro rata for partial years)."""
    per_year = {y: 0 for y in range(period_start.year, period_end.year + 1)}
    for t in passes["time_utc"]:
        per_year[t.year] = per_year.get(t.year, 0) + 1
    floor = full_archive_passes_per_year()
    warnings = []
    for y, n in per_year.items():
        lo, hi = max(period_start, dt.date(y, 1, 1)), min(period_end, dt.date(y, 12, 31))
        expected = floor * ((hi - lo).days + 1) / 365.25
        if n < 0.5 * expected:
            warnings.append(f"Earth Engine holds {n} ECOSTRESS pass(es) over the area in {y}, under half the ~{expected:.0f} "
                            f"clear passes the full archive gave the thesis's Spanish areas for that span: {ECO} is a partial "
                            "copy (catalog status beta, only some regions ingested). For the full archive use AppEEARS "
                            "(acquisition.ecostress_from: appeears, an Earthdata account)")
    return per_year, warnings


def _eco_arrays(data: np.ndarray, layers: list[str]) -> list[tuple[str, np.ndarray, float]]:
    """(layer, array in the AppEEARS type, nodata) for each layer: float32 with NaN, QC uint16 with 65535, cloud /
    water uint8 with 255 where the pixel was masked."""
    out = []
    for i, lay in enumerate(layers):
        a = data[i]
        if lay == "QC":
            out.append((lay, np.where(np.isnan(a), ecostress.QC_FILL, a).astype(np.uint16), ecostress.QC_FILL))
        elif lay in ("cloud", "water"):
            out.append((lay, np.where(np.isnan(a), 255, a).astype(np.uint8), 255))
        else:
            out.append((lay, a.astype(np.float32), np.nan))
    return out


def fetch_ecostress(ee, cfg: AreaConfig, grid: Grid, raw_dir: Path, progress: bool = True) -> dict:
    """ECOSTRESS L2T LSTE from Earth Engine (``NASA/ECOSTRESS/L2T_LSTE/V2``) for users without an Earthdata account:
    one file per overpass and layer (its tiles mosaicked), written with AppEEARS names (the grid's UTM zone as the
    suffix, as AppEEARS names native-projection outputs) and dtypes into ``raw/ecostress/``. Reports passes per year
    and warns where the Earth Engine copy is far below the full archive."""
    raw = Path(raw_dir) / "ecostress"
    coll = (ee.ImageCollection(ECO).filterBounds(region(ee, cfg))
            .filterDate(str(cfg.period.start), str(cfg.period.end + dt.timedelta(days=1))))
    passes = group_passes(_listing(coll, ["system:index", "system:time_start"]), "overpass")
    per_year, warnings = coverage(passes, cfg.period.start, cfg.period.end)
    if passes.empty:
        raise RuntimeError(f"Earth Engine has no {ECO} images over {cfg.name} between {cfg.period.start} and {cfg.period.end}: "
                           "its copy of the archive is partial (only some regions are ingested); use AppEEARS "
                           "(acquisition.ecostress_from: appeears) for the full archive")
    layers = list(ecostress.REQUESTED_LAYERS)
    zone = ecostress.zone_suffix(grid.crs)
    n = 0
    for _, row in tqdm(passes.iterrows(), total=len(passes), desc="Earth Engine ECOSTRESS", unit="pass", disable=not progress):
        t = row["time_utc"].to_pydatetime()
        names = {lay: ecostress.format_name(lay, t, tile=zone) for lay in layers}
        if all(io.raster_intact(raw / v) for v in names.values()):
            continue
        image = mosaic(ee, [ee.Image(f"{ECO}/{i}").select(layers) for i in row["image_ids"]])
        for lay, arr, nodata in _eco_arrays(compute_pixels(ee, image, grid, layers), layers):
            io.write_geotiff(raw / names[lay], arr, grid.crs, grid.transform, nodata=nodata,
                             tags={"collection": ECO, "image_ids": "+".join(row["image_ids"]), "time_utc": t.isoformat()})
        n += 1
    return {"ecostress_passes": len(passes), "exported": n, "images": int(sum(len(i) for i in passes["image_ids"])),
            "passes_per_year": per_year, "warnings": warnings}
