"""Earth Engine path against a fake ``ee``: grids, tiling, date matching, files written."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import rasterio

from rocksoil_nb.acquire import earthengine as gee
from rocksoil_nb.core import ecostress
from rocksoil_nb.core.grid import Grid, thermal_grid

from .ee_fake import FakeEE

UTC = dt.UTC


def _ms(t):
    return int(t.timestamp() * 1000)


@pytest.fixture()
def thermal_times():
    return [dt.datetime(2022, 6, 1, 11, 0, tzinfo=UTC), dt.datetime(2022, 6, 10, 2, 30, tzinfo=UTC),
            dt.datetime(2022, 8, 1, 13, 0, tzinfo=UTC)]


@pytest.fixture()
def fake(thermal_times):
    s1 = [{"system:index": "S1A_IW_A", "system:time_start": _ms(dt.datetime(2022, 6, 1, 18, 10, tzinfo=UTC)), "instrumentMode": "IW",
           "transmitterReceiverPolarisation": ["VV", "VH"], "orbitProperties_pass": "ASCENDING"},
          {"system:index": "S1A_IW_B", "system:time_start": _ms(dt.datetime(2022, 6, 11, 6, 20, tzinfo=UTC)), "instrumentMode": "IW",
           "transmitterReceiverPolarisation": ["VV", "VH"], "orbitProperties_pass": "DESCENDING"},
          {"system:index": "S1A_EW_C", "system:time_start": _ms(dt.datetime(2022, 8, 1, 6, 0, tzinfo=UTC)), "instrumentMode": "EW",
           "transmitterReceiverPolarisation": ["HH"], "orbitProperties_pass": "DESCENDING"}]
    s2 = [{"system:index": "20220604T105631_T30SVJ", "system:time_start": _ms(dt.datetime(2022, 6, 4, 10, 56, tzinfo=UTC)),
           "CLOUDY_PIXEL_PERCENTAGE": 3.0},
          {"system:index": "20220729T105631_T30SVJ", "system:time_start": _ms(dt.datetime(2022, 7, 29, 10, 56, tzinfo=UTC)),
           "CLOUDY_PIXEL_PERCENTAGE": 95.0}]
    return FakeEE({gee.S1: s1, gee.S2: s2})


def test_matching_same_day_and_window(fake, demo_cfg, thermal_times):
    s1 = gee.sentinel1_images(fake, demo_cfg)
    assert list(s1["system:index"]) == ["S1A_IW_A", "S1A_IW_B"]  # EW/HH scene filtered out
    m = gee.match_dates(thermal_times, s1, 0, same_day=True)
    assert list(m["image_id"].fillna("-")) == ["S1A_IW_A", "-", "-"]  # 10 June has S1 only on the 11th
    m1 = gee.match_dates(thermal_times, s1, 1, same_day=True)
    assert list(m1["image_id"].fillna("-")) == ["S1A_IW_A", "S1A_IW_B", "-"]
    s2 = gee.sentinel2_images(fake, demo_cfg, max_cloud_percent=60)
    m2 = gee.match_dates(thermal_times, s2, 8, same_day=False)
    assert list(m2["image_id"].fillna("-")) == ["20220604T105631_T30SVJ", "20220604T105631_T30SVJ", "-"]  # cloudy 29 July dropped
    assert m2["delta_days"].iloc[0] == pytest.approx(2.996, abs=1e-3)


def test_fetch_writes_on_the_thermal_grid(tmp_path, fake, demo_cfg, thermal_times):
    grid = thermal_grid(demo_cfg.area)
    res = gee.fetch_sentinel(fake, demo_cfg, grid, thermal_times, tmp_path, progress=False)
    assert res["sentinel1_matched"] == 1 and res["sentinel2_matched"] == 2 and res["exported"] == 2
    for req in fake.requests:
        a = req["grid"]["affineTransform"]
        assert req["grid"]["crsCode"] == grid.crs and a["scaleX"] == grid.res and a["scaleY"] == -grid.res
    vv = sorted((tmp_path / "sentinel1").glob("*_VV.tif"))
    assert [p.name for p in vv] == ["S1_GRD_IW_20220601T181000_ASC_VV.tif"]
    with rasterio.open(vv[0]) as s:
        assert s.crs.to_string() == grid.crs and s.transform == grid.transform and s.shape == grid.shape
        assert s.tags()["units"] == "dB"
    nd = sorted((tmp_path / "sentinel2").glob("*.tif"))
    assert [p.name for p in nd] == ["S2_NDVI_20220604T105600.tif"]
    ops = [o for r in fake.requests for o in r["expression"].ops]
    assert ("normalizedDifference", ("B8", "B4")) in ops
    mask = next(o for o in ops if o[0] == "updateMask")
    assert "('bitwiseAnd', 1024)" in repr(mask) and "('bitwiseAnd', 2048)" in repr(mask)  # QA60 opaque + cirrus
    table = pd.read_csv(tmp_path / "matching_sentinel2.csv")
    assert len(table) == 3
    n = len(fake.requests)
    gee.fetch_sentinel(fake, demo_cfg, grid, thermal_times, tmp_path, progress=False)
    assert len(fake.requests) == n  # rerun skips files present


def test_over_limit_requests_are_tiled(fake):
    big = Grid("EPSG:32630", 300000.0, 4500000.0, 10.0, 5000, 4000)  # 5000 x 4000 x 2 bands x 4 B = 160 MB
    tiles = gee.plan_tiles(big, 2)
    assert len(tiles) > 1
    assert all(h * w * 2 * 4 <= gee.MAX_REQUEST_BYTES for _, _, h, w in tiles)
    assert sum(h * w for _, _, h, w in tiles) == 5000 * 4000
    small = Grid("EPSG:32630", 400000.0, 4300000.0, 70.0, 50, 60)
    whole = gee.compute_pixels(fake, gee.s1_image(fake, "x"), small, ["VV", "VH"])
    n0 = len(fake.requests)
    tiled = gee.compute_pixels(fake, gee.s1_image(fake, "x"), small, ["VV", "VH"], max_bytes=4000)
    assert len(fake.requests) - n0 > 4
    assert np.array_equal(whole, tiled)  # the mosaic of tiles equals one request


def test_ecostress_from_earth_engine_uses_appeears_names(tmp_path, demo_cfg):
    t = dt.datetime(2022, 6, 1, 11, 0, 5, tzinfo=UTC)
    fake = FakeEE({gee.ECO: [{"system:index": "ECOv002_L2T_LSTE_1", "system:time_start": _ms(t)}]})
    grid = thermal_grid(demo_cfg.area)
    res = gee.fetch_ecostress(fake, demo_cfg, grid, tmp_path, progress=False)
    assert res == {"ecostress_passes": 1, "exported": 1}
    files = sorted((tmp_path / "ecostress").glob("*.tif"))
    assert sorted(ecostress.parse_name(p).layer for p in files) == sorted(ecostress.REQUESTED_LAYERS)
    with rasterio.open(tmp_path / "ecostress" / ecostress.format_name("QC", t, tile="EE")) as s:
        assert s.dtypes[0] == "uint16" and s.transform == grid.transform
    assert ecostress.reference_grid(tmp_path / "ecostress") == grid
