"""``make check-live``: ask the real services the questions the test doubles answer, for whoever has accounts.

No test here reaches AppEEARS or Earth Engine; the fakes in ``tests/`` are written from the services' documentation
and their maintainers' client code. This check runs the few calls that decide whether the fakes are right and writes
what it saw to one JSON file, so the recordings can be refreshed from it:

* AppEEARS (with Earthdata credentials): a one-week ``ECO_L2T_LSTE.002`` task for a 3 x 3 km box, every status seen
  while waiting, the bundle listing, one file name and the QC layer's nodata; then a garbage bearer token, and the
  HTTP code it gets (403 expected).
* Earth Engine (when ``ee.Initialize`` finds credentials): ``computePixels`` of one cloudy 2022 Sentinel-2 scene,
  once raw (what the service sends for masked pixels: dtype, count of zeros) and once through
  :func:`rocksoil_nb.acquire.earthengine.compute_pixels` with the default cloud mask (masked share).

A service without credentials is skipped with a message; the exit code is 0 unless a check that ran failed.
Secrets are redacted from everything printed or written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from rocksoil_nb.acquire import credentials, earthengine
from rocksoil_nb.acquire.appeears import AppEEARS, AppEEARSError
from rocksoil_nb.core import ecostress, io
from rocksoil_nb.core.grid import Grid

#: the box (Santa Olalla del Cala, UTM 29N), the week and the Sentinel-2 search of the check
SITE = {"lat": 37.9, "lon": -6.35, "half_km": 1.5, "crs": "EPSG:32629"}
WEEK = (dt.date(2023, 7, 3), dt.date(2023, 7, 9))
S2_SEARCH = (dt.date(2022, 1, 1), dt.date(2022, 12, 31), 30.0, 70.0)  # cloudy scenes: 30-70 % CLOUDY_PIXEL_PERCENTAGE


def _box_cfg(name: str, start: dt.date, end: dt.date):
    """A minimal area config for the request builders: the 3 x 3 km box and the dates."""
    dlat = SITE["half_km"] / 111.0
    dlon = SITE["half_km"] / (111.0 * np.cos(np.radians(SITE["lat"])))
    area = SimpleNamespace(ne=[SITE["lat"] + dlat, SITE["lon"] + dlon], sw=[SITE["lat"] - dlat, SITE["lon"] - dlon],
                           crs=SITE["crs"], pixel_size_m=70.0, shape=[43, 43])
    return SimpleNamespace(name=name, area=area, period=SimpleNamespace(start=start, end=end))


def check_appeears(log: list[str], session=None, base_url: str | None = None, sleep=None, max_wait_s: float = 6 * 3600) -> dict:
    """The AppEEARS questions (see module docstring); raises ``CredentialsError`` without Earthdata credentials."""
    import time

    creds = credentials.earthdata()
    client = AppEEARS(creds, session=session, base_url=base_url, sleep=sleep or time.sleep, max_wait_s=max_wait_s)
    cfg = _box_cfg("rocksoil-live-check", *WEEK)
    request = ecostress.task_request(cfg)
    out: dict = {"request": request}
    task_id = client.submit(request)
    out["task_id"] = task_id
    statuses = []
    real_status = client.status

    def status(tid):
        st = real_status(tid)
        statuses.append(st)
        log.append(f"AppEEARS task {tid}: {st.get('status')}")
        return st

    client.status = status
    try:
        out["final_status"] = client.wait(task_id, progress=False)
    except AppEEARSError as e:
        out["error"] = str(e)
    out["statuses"] = statuses
    if "error" not in out:
        files = client.bundle(task_id)
        out["bundle"] = files
        qc = next((f for f in files if ecostress.find_layer([Path(f["file_name"]).name], "QC")), None)
        if qc is not None:
            out["one_file_name"] = qc["file_name"]
            with tempfile.TemporaryDirectory() as tmp:
                path, _ = client.download(task_id, qc, Path(tmp))
                import rasterio

                with rasterio.open(path) as s:
                    out["qc_nodata"], out["qc_dtype"], out["qc_crs"] = s.nodata, s.dtypes[0], str(s.crs)
            log.append(f"AppEEARS bundle: {len(files)} files, e.g. {qc['file_name']}; QC nodata {out['qc_nodata']} ({out['qc_dtype']})")
    garbage = client.session.request("GET", client.base + "task", headers={"Authorization": "Bearer not-a-real-token-0000"},
                                     timeout=client.timeout_s)
    out["garbage_token_http_status"] = garbage.status_code
    out["garbage_token_body"] = client._message(garbage)
    log.append(f"AppEEARS with a garbage token: HTTP {garbage.status_code}")
    return out


def check_earthengine(log: list[str], ee=None) -> dict:
    """The Earth Engine questions (see module docstring); raises ``CredentialsError`` when Earth Engine cannot start."""
    ee = earthengine.initialize(credentials.earthengine(), ee)
    start, end, lo, hi = S2_SEARCH
    cfg = _box_cfg("rocksoil-live-check", start, end)
    images = earthengine.sentinel2_images(ee, cfg, max_cloud_percent=hi, pad_days=0)
    cloudy = images[images["CLOUDY_PIXEL_PERCENTAGE"] >= lo].sort_values("time_utc")
    if cloudy.empty:
        return {"error": f"no Sentinel-2 scene with {lo}-{hi} % cloud over the box in {start.year}"}
    row = cloudy.iloc[0]
    from rocksoil_nb.core.grid import thermal_grid

    grid: Grid = thermal_grid(cfg.area)
    raw_ndvi = (ee.Image(f"{earthengine.S2}/{row['system:index']}").normalizedDifference(["B8", "B4"]).rename("NDVI")
                .updateMask(earthengine._s2_clear(ee, row["system:index"], "scl", 0.6, False)))
    a = grid.transform
    raw = ee.data.computePixels({"expression": raw_ndvi, "fileFormat": "NUMPY_NDARRAY", "bandIds": ["NDVI"],
                                 "grid": {"dimensions": {"width": grid.cols, "height": grid.rows}, "crsCode": grid.crs,
                                          "affineTransform": {"scaleX": a.a, "shearX": 0, "translateX": a.c, "shearY": 0,
                                                              "scaleY": a.e, "translateY": a.f}}})
    ours = earthengine.compute_pixels(ee, earthengine.s2_ndvi(ee, [row["system:index"]]), grid, ["NDVI"])[0]
    out = {"image_id": row["system:index"], "cloudy_pixel_percentage": float(row["CLOUDY_PIXEL_PERCENTAGE"]),
           "cloud_mask": earthengine.cloud_mask_text(), "raw_type": type(raw).__name__, "raw_dtype": str(raw.dtype),
           "raw_is_masked_array": bool(np.ma.isMaskedArray(raw)), "raw_zeros": int((np.asarray(raw["NDVI"]) == 0).sum()),
           "pixels": int(grid.rows * grid.cols), "masked_share": round(float(np.isnan(ours).mean()), 4)}
    log.append(f"Earth Engine {row['system:index']} ({out['cloudy_pixel_percentage']:.0f} % cloud): raw {out['raw_type']} "
               f"{out['raw_dtype']}, {out['raw_zeros']} zeros of {out['pixels']}; with the default mask "
               f"{out['masked_share']:.1%} masked")
    return out


def run(out_path: Path, session=None, ee=None, base_url: str | None = None, sleep=None) -> dict:
    """Run both checks (each skipped with a message without credentials) and write what was seen to ``out_path``."""
    log: list[str] = []
    result: dict = {"when_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "site": SITE}
    for name, check in (("appeears", lambda: check_appeears(log, session, base_url, sleep)),
                        ("earthengine", lambda: check_earthengine(log, ee))):
        try:
            result[name] = check()
        except credentials.CredentialsError as e:
            result[name] = {"skipped": credentials.redact(str(e))}
            log.append(f"{name}: skipped ({credentials.redact(str(e))[:160]})")
        except Exception as e:  # noqa: BLE001 - report any failure of a live service, redacted
            result[name] = {"error": credentials.redact(f"{type(e).__name__}: {e}")}
            log.append(f"{name}: FAILED {credentials.redact(str(e))[:300]}")
    result["log"] = log
    text = credentials.redact(json.dumps(result, indent=1, default=str))
    io.write_text(Path(out_path), text + "\n")
    return json.loads(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rocksoil_nb.acquire.live", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="reports/live_check.json", help="where to write what the services answered")
    a = p.parse_args(argv)
    res = run(Path(a.out))
    for line in res["log"]:
        print(line)
    print(f"written: {a.out}")
    return 1 if any("error" in res[k] for k in ("appeears", "earthengine")) else 0


if __name__ == "__main__":
    sys.exit(main())
