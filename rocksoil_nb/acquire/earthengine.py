"""Earth Engine exports of Sentinel-1 (VV, VH in dB) and Sentinel-2 NDVI, straight onto the
thermal reference grid (no Drive): ``ee.data.computePixels`` per date, tiled when a request
would pass the size limits, one GeoTIFF per date. Times are UTC.

Collections: ``COPERNICUS/S1_GRD`` (IW, VV+VH, values already in dB), ``COPERNICUS/S2_SR_HARMONIZED``
(NDVI = (B8 - B4) / (B8 + B4), masked with QA60 bits 10 opaque cloud and 11 cirrus, scenes filtered
on CLOUDY_PIXEL_PERCENTAGE). The ``ee`` module is passed in, so tests can use a fake one.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rocksoil_nb.core import ecostress, io
from rocksoil_nb.core.grid import Grid
from rocksoil_nb.core.sentinel import nearest, s1_name, s2_name

S1 = "COPERNICUS/S1_GRD"
S2 = "COPERNICUS/S2_SR_HARMONIZED"
ECO = "NASA/ECOSTRESS/L2T_LSTE/V2"
MAX_REQUEST_BYTES = 48 * 1024 * 1024  # computePixels payload limit
MAX_SIDE_PX = 10000
UTC = dt.UTC


def initialize(auth, ee=None):
    """Initialise Earth Engine for the project (service-account key file when given). Returns the ``ee`` module."""
    if ee is None:
        import ee  # noqa: PLC0415 - optional, heavy
    if auth.key_file is not None:
        import json

        from rocksoil_nb.acquire.credentials import CredentialsError, redact

        try:
            email = json.loads(Path(auth.key_file).read_text()).get("client_email")
            creds = ee.ServiceAccountCredentials(email, str(auth.key_file))
        except Exception as e:  # noqa: BLE001 - any failure of the key is the same advice
            raise CredentialsError(
                "the service-account key file named by EE_SERVICE_ACCOUNT_KEY (or GOOGLE_APPLICATION_CREDENTIALS) cannot be "
                f"used ({type(e).__name__}: {redact(str(e))[:120]}); download a new JSON key of the service account in the "
                "Google Cloud console (IAM > Service accounts > Keys) and point EE_SERVICE_ACCOUNT_KEY at it") from None
        ee.Initialize(credentials=creds, project=auth.project)
    else:
        ee.Initialize(project=auth.project)
    return ee


def region(ee, cfg):
    """The area's WGS84 box as an ``ee.Geometry.Rectangle`` (west, south, east, north)."""
    (n, e), (s, w) = cfg.area.ne, cfg.area.sw
    return ee.Geometry.Rectangle([w, s, e, n], "EPSG:4326", False)


def _listing(coll, props: list[str]) -> pd.DataFrame:
    cols = {p: coll.aggregate_array(p).getInfo() for p in props}
    df = pd.DataFrame(cols)
    if "system:time_start" in df:
        df["time_utc"] = pd.to_datetime(df["system:time_start"], unit="ms", utc=True)
    return df


def sentinel1_images(ee, cfg, orbit_pass: str = "") -> pd.DataFrame:
    """S1 GRD IW scenes with VV and VH over the area in the period (optionally one orbit pass)."""
    coll = (ee.ImageCollection(S1).filterBounds(region(ee, cfg))
            .filterDate(str(cfg.period.start), str(cfg.period.end + dt.timedelta(days=1)))
            .filter(ee.Filter.eq("instrumentMode", "IW"))
            .filter(ee.Filter.listContains("transmitterReceiverPolarisation", "VV"))
            .filter(ee.Filter.listContains("transmitterReceiverPolarisation", "VH")))
    if orbit_pass:
        coll = coll.filter(ee.Filter.eq("orbitProperties_pass", orbit_pass.upper()))
    return _listing(coll, ["system:index", "system:time_start", "orbitProperties_pass"])


def sentinel2_images(ee, cfg, max_cloud_percent: float = 60.0, pad_days: int = 8) -> pd.DataFrame:
    """S2 SR harmonized scenes over the area with scene cloud under ``max_cloud_percent`` (period ± ``pad_days``)."""
    coll = (ee.ImageCollection(S2).filterBounds(region(ee, cfg))
            .filterDate(str(cfg.period.start - dt.timedelta(days=pad_days)), str(cfg.period.end + dt.timedelta(days=pad_days + 1)))
            .filter(ee.Filter.lt("CLOUDY_PIXEL_PERCENTAGE", max_cloud_percent)))
    return _listing(coll, ["system:index", "system:time_start", "CLOUDY_PIXEL_PERCENTAGE"])


def match_dates(thermal_times, candidates: pd.DataFrame, window_days: float, same_day: bool) -> pd.DataFrame:
    """For each thermal time (UTC), the nearest candidate image within the window: with ``same_day`` the
    window counts calendar days (0 = the same UTC date), else it is ± ``window_days`` in time."""
    rows = []
    cand = candidates.sort_values("time_utc").reset_index(drop=True) if len(candidates) else candidates
    for t in sorted(pd.to_datetime(pd.Series(list(thermal_times)), utc=True)):
        i = nearest(t, cand["time_utc"], window_days, same_day) if len(cand) else None
        best = None if i is None else cand.loc[i]
        rows.append({"thermal_time_utc": t, "image_id": None if best is None else best["system:index"],
                     "image_time_utc": None if best is None else best["time_utc"],
                     "delta_days": None if best is None else round((best["time_utc"] - t).total_seconds() / 86400, 3)})
    return pd.DataFrame(rows)


def s1_image(ee, image_id: str):
    return ee.Image(f"{S1}/{image_id}").select(["VV", "VH"])


def s2_ndvi(ee, image_id: str):
    img = ee.Image(f"{S2}/{image_id}")
    qa = img.select("QA60")
    clear = qa.bitwiseAnd(1 << 10).eq(0).And(qa.bitwiseAnd(1 << 11).eq(0))
    return img.normalizedDifference(["B8", "B4"]).rename("NDVI").updateMask(clear)


def plan_tiles(grid: Grid, n_bands: int, bytes_per_value: int = 4, max_bytes: int = MAX_REQUEST_BYTES,
               max_side: int = MAX_SIDE_PX) -> list[tuple[int, int, int, int]]:
    """Split ``grid`` into (row0, col0, rows, cols) tiles whose requests stay under the size limits."""
    per_px = n_bands * bytes_per_value
    max_px = max(1, int(max_bytes * 0.9) // per_px)  # 10 % margin for the encoding
    n = 1
    while True:
        ny = nx = n
        th, tw = math.ceil(grid.rows / ny), math.ceil(grid.cols / nx)
        if th * tw <= max_px and th <= max_side and tw <= max_side:
            break
        n += 1
    return [(r, c, min(th, grid.rows - r), min(tw, grid.cols - c)) for r in range(0, grid.rows, th) for c in range(0, grid.cols, tw)]


def compute_pixels(ee, image, grid: Grid, bands: list[str], max_bytes: int = MAX_REQUEST_BYTES) -> np.ndarray:
    """The image's ``bands`` on ``grid`` as float32 (bands, rows, cols), masked pixels NaN; tiled as needed."""
    out = np.full((len(bands), grid.rows, grid.cols), np.nan, dtype=np.float32)
    for r0, c0, h, w in plan_tiles(grid, len(bands), max_bytes=max_bytes):
        request = {
            "expression": image,
            "fileFormat": "NUMPY_NDARRAY",
            "bandIds": list(bands),
            "grid": {"dimensions": {"width": w, "height": h},
                     "affineTransform": {"scaleX": grid.res, "shearX": 0, "translateX": grid.x0 + c0 * grid.res,
                                         "shearY": 0, "scaleY": -grid.res, "translateY": grid.y0 - r0 * grid.res},
                     "crsCode": grid.crs},
        }
        arr = ee.data.computePixels(request)
        for i, b in enumerate(bands):
            band = np.ma.filled(np.ma.asarray(arr[b]).astype(np.float32), np.nan)
            out[i, r0 : r0 + h, c0 : c0 + w] = band
    return out


def fetch_sentinel(ee, cfg, grid: Grid, thermal_times, raw_dir: Path, progress: bool = True) -> dict:
    """Match S1 and S2 dates to the thermal passes, export each matched date onto ``grid`` and save
    the matching tables (``raw/matching_sentinel1.csv``, ``raw/matching_sentinel2.csv``). Skips files present."""
    acq = cfg.acquisition
    raw = Path(raw_dir)
    s1 = sentinel1_images(ee, cfg, acq.s1_orbit_pass)
    s2 = sentinel2_images(ee, cfg, acq.s2_max_cloud_percent, int(math.ceil(acq.ndvi_window_days)))
    m1 = match_dates(thermal_times, s1, acq.sar_window_days, same_day=True)
    m2 = match_dates(thermal_times, s2, acq.ndvi_window_days, same_day=False)
    io.write_csv(raw / "matching_sentinel1.csv", m1)
    io.write_csv(raw / "matching_sentinel2.csv", m2)
    ids1 = s1.set_index("system:index") if len(s1) else s1
    jobs = [("s1", i) for i in m1["image_id"].dropna().unique()] + [("s2", i) for i in m2["image_id"].dropna().unique()]
    written = 0
    for kind, image_id in tqdm(jobs, desc="Earth Engine export", unit="date", disable=not progress):
        if kind == "s1":
            row = ids1.loc[image_id]
            names = {p: s1_name(row["time_utc"].to_pydatetime(), row["orbitProperties_pass"], p) for p in ("VV", "VH")}
            if all((raw / "sentinel1" / n).exists() for n in names.values()):
                continue
            data = compute_pixels(ee, s1_image(ee, image_id), grid, ["VV", "VH"])
            for i, p in enumerate(("VV", "VH")):
                io.write_geotiff(raw / "sentinel1" / names[p], data[i], grid.crs, grid.transform, nodata=np.nan,
                                 tags={"units": "dB", "polarisation": p, "collection": S1, "image_id": image_id,
                                       "orbit_pass": row["orbitProperties_pass"], "time_utc": row["time_utc"].isoformat()},
                                 band_descriptions=[p])
        else:
            t = s2.set_index("system:index").loc[image_id, "time_utc"]
            path = raw / "sentinel2" / s2_name(t.to_pydatetime())
            if path.exists():
                continue
            data = compute_pixels(ee, s2_ndvi(ee, image_id), grid, ["NDVI"])
            io.write_geotiff(path, data[0], grid.crs, grid.transform, nodata=np.nan,
                             tags={"units": "NDVI (B8-B4)/(B8+B4)", "collection": S2, "image_id": image_id,
                                   "cloud_mask": "QA60 bits 10-11", "time_utc": t.isoformat()}, band_descriptions=["NDVI"])
        written += 1
    return {"sentinel1_matched": int(m1["image_id"].notna().sum()), "sentinel2_matched": int(m2["image_id"].notna().sum()),
            "exported": written, "thermal_passes": len(m1)}


def fetch_ecostress(ee, cfg, grid: Grid, raw_dir: Path, progress: bool = True) -> dict:
    """ECOSTRESS L2T LSTE from Earth Engine (``NASA/ECOSTRESS/L2T_LSTE/V2``) for users without an
    Earthdata account, written with AppEEARS names and dtypes into ``raw/ecostress/``."""
    raw = Path(raw_dir) / "ecostress"
    coll = (ee.ImageCollection(ECO).filterBounds(region(ee, cfg))
            .filterDate(str(cfg.period.start), str(cfg.period.end + dt.timedelta(days=1))))
    listing = _listing(coll, ["system:index", "system:time_start"])
    if listing.empty:
        raise RuntimeError(f"Earth Engine has no {ECO} images over {cfg.name} between {cfg.period.start} and {cfg.period.end}")
    layers = list(ecostress.REQUESTED_LAYERS)
    n = 0
    for _, row in tqdm(listing.iterrows(), total=len(listing), desc="Earth Engine ECOSTRESS", unit="pass", disable=not progress):
        t = row["time_utc"].to_pydatetime()
        names = {lay: ecostress.format_name(lay, t, tile="EE") for lay in layers}
        if all((raw / v).exists() for v in names.values()):
            continue
        data = compute_pixels(ee, ee.Image(f"{ECO}/{row['system:index']}").select(layers), grid, layers)
        for i, lay in enumerate(layers):
            a = data[i]
            if lay == "QC":
                arr, nodata = np.where(np.isnan(a), ecostress.QC_FILL, a).astype(np.uint16), ecostress.QC_FILL
            elif lay in ("cloud", "water"):
                arr, nodata = np.where(np.isnan(a), 255, a).astype(np.uint8), 255
            else:
                arr, nodata = a.astype(np.float32), np.nan
            io.write_geotiff(raw / names[lay], arr, grid.crs, grid.transform, nodata=nodata)
        n += 1
    return {"ecostress_passes": len(listing), "exported": n}
