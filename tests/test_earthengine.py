"""Earth Engine path against a fake ``ee`` that behaves as the service does (tests/ee_fake.py): plain arrays with 0
where masked, the mask byte in the request size, whole passes mosaicked, clouds masked over the whole archive."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
import rasterio

from rocksoil_nb.acquire import credentials
from rocksoil_nb.acquire import earthengine as gee
from rocksoil_nb.core import ecostress
from rocksoil_nb.core.grid import Grid, thermal_grid

from .ee_fake import LIMIT, EEException, FakeEE

UTC = dt.UTC


def _ms(t):
    return int(t.timestamp() * 1000)


def _mid_x(cfg) -> float:
    w, _, e, _ = thermal_grid(cfg.area).bounds
    return (w + e) / 2


def _s1(index, t, orbit="ASCENDING", mode="IW", pols=("VV", "VH"), valid=None):
    return {"system:index": index, "system:time_start": _ms(t), "instrumentMode": mode, "transmitterReceiverPolarisation": list(pols),
            "orbitProperties_pass": orbit, "_bands": {"VV": "f8", "VH": "f8", "angle": "f4"}, "_valid": valid,
            "_values": {"VV": lambda x, y: -10 + 0 * x, "VH": lambda x, y: -17 + 0 * x}}


def _s2(index, t, cloudy=None, cloud_pct=3.0, qa60_masked=None, valid=None):
    """A Sentinel-2 SR image: B4/B8 reflectance (NDVI 0.5 on clear ground), SCL 9 (cloud) where ``cloudy`` and 4
    elsewhere, QA60 masked in 2022-01-25 .. 2024-02-28 as in the archive, Cloud Score+ image with the same index."""
    cloudy = cloudy or (lambda x, y: np.zeros(x.shape, bool))
    if qa60_masked is None:
        qa60_masked = dt.datetime(2022, 1, 25, tzinfo=UTC) <= t < dt.datetime(2024, 2, 29, tzinfo=UTC)
    return {"system:index": index, "system:time_start": _ms(t), "CLOUDY_PIXEL_PERCENTAGE": cloud_pct, "_valid": valid,
            "_bands": {"B4": "u2", "B8": "u2", "SCL": "u1", "QA60": "u2"},
            "_values": {"B4": lambda x, y: 1000 + 0 * x, "B8": lambda x, y: 3000 + 0 * x,
                        "SCL": lambda x, y: np.where(cloudy(x, y), 9, 4), "QA60": lambda x, y: np.where(cloudy(x, y), 1024, 0)},
            "_band_valid": {"QA60": lambda x, y: np.full(x.shape, not qa60_masked)}}


def _cs(index, t, cloudy=None):
    cloudy = cloudy or (lambda x, y: np.zeros(x.shape, bool))
    return {"system:index": index, "system:time_start": _ms(t), "_bands": {"cs": "f4", "cs_cdf": "f4"},
            "_values": {"cs_cdf": lambda x, y: np.where(cloudy(x, y), 0.1, 0.9), "cs": lambda x, y: 0 * x + 0.9}}


def _eco(index, t, valid=None, cloudy=None):
    cloudy = cloudy or (lambda x, y: np.zeros(x.shape, bool))
    return {"system:index": index, "system:time_start": _ms(t), "_valid": valid,
            "_bands": {"LST": "f4", "LST_err": "f4", "QC": "u2", "EmisWB": "f4", "cloud": "u1", "water": "u1", "height": "f4",
                       "view_zenith": "f4"},
            "_values": {"LST": lambda x, y: 300 + 0 * x, "LST_err": lambda x, y: 1 + 0 * x, "QC": lambda x, y: 0 * x + 49344,
                        "EmisWB": lambda x, y: 0.95 + 0 * x, "cloud": lambda x, y: np.where(cloudy(x, y), 1, 0),
                        "water": lambda x, y: 0 * x}}


@pytest.fixture()
def thermal_times():
    return [dt.datetime(2022, 6, 1, 11, 0, tzinfo=UTC), dt.datetime(2022, 6, 10, 2, 30, tzinfo=UTC),
            dt.datetime(2022, 8, 1, 13, 0, tzinfo=UTC)]


@pytest.fixture()
def fake(demo_cfg):
    mid = _mid_x(demo_cfg)
    s1 = [_s1("S1A_IW_A", dt.datetime(2022, 6, 1, 18, 10, tzinfo=UTC), valid=lambda x, y: x < mid),  # footprint: west half
          _s1("S1A_IW_B", dt.datetime(2022, 6, 11, 6, 20, tzinfo=UTC), orbit="DESCENDING"),
          _s1("S1A_EW_C", dt.datetime(2022, 8, 1, 6, 0, tzinfo=UTC), orbit="DESCENDING", mode="EW", pols=("HH",))]
    t2 = dt.datetime(2022, 6, 4, 10, 56, tzinfo=UTC)
    cloudy = lambda x, y: x >= mid  # noqa: E731 - clouds over the east half
    s2 = [_s2("20220604T105631_20220604T110912_T30SVJ", t2, cloudy),
          _s2("20220729T105631_20220729T110912_T30SVJ", dt.datetime(2022, 7, 29, 10, 56, tzinfo=UTC), cloud_pct=95.0)]
    return FakeEE({gee.S1: s1, gee.S2: s2, gee.S2_CLOUD_SCORE: [_cs(s2[0]["system:index"], t2, cloudy)]})


def test_matching_same_day_and_window(fake, demo_cfg, thermal_times):
    s1 = gee.group_passes(gee.sentinel1_images(fake, demo_cfg), "date_orbit")
    assert list(s1["system:index"]) == ["S1A_IW_A", "S1A_IW_B"]  # EW/HH scene filtered out
    m = gee.match_dates(thermal_times, s1, 0, same_day=True)
    assert list(m["image_id"].fillna("-")) == ["S1A_IW_A", "-", "-"]  # 10 June has S1 only on the 11th
    m1 = gee.match_dates(thermal_times, s1, 1, same_day=True)
    assert list(m1["image_id"].fillna("-")) == ["S1A_IW_A", "S1A_IW_B", "-"]
    s2 = gee.group_passes(gee.sentinel2_images(fake, demo_cfg, max_cloud_percent=60), "date")
    m2 = gee.match_dates(thermal_times, s2, 8, same_day=False)
    first = "20220604T105631_20220604T110912_T30SVJ"
    assert list(m2["image_id"].fillna("-")) == [first, first, "-"]  # cloudy 29 July dropped
    assert m2["delta_days"].iloc[0] == pytest.approx(2.996, abs=1e-3)


def test_masked_pixels_are_missing_not_numbers(tmp_path, fake, demo_cfg, thermal_times):
    """The service answers 0 where a pixel is masked; the files must say 'missing' there."""
    grid = thermal_grid(demo_cfg.area)
    res = gee.fetch_sentinel(fake, demo_cfg, grid, thermal_times, tmp_path, progress=False)
    assert res["sentinel1_matched"] == 1 and res["sentinel2_matched"] == 2 and res["exported"] == 2
    for req in fake.requests:
        a = req["grid"]["affineTransform"]
        assert req["grid"]["crsCode"] == grid.crs and a["scaleX"] == grid.res and a["scaleY"] == -grid.res
        assert ("unmask", gee.MASKED_VALUE, False) in req["expression"].ops and ("toFloat",) in req["expression"].ops
    x, _ = grid.centres()
    west = x < _mid_x(demo_cfg)
    # Sentinel-1 outside its footprint (east half): NaN, not 0 dB
    with rasterio.open(tmp_path / "sentinel1" / "S1_GRD_IW_20220601T181000_ASC_VV.tif") as s:
        vv = s.read(1)
        assert s.crs.to_string() == grid.crs and s.transform == grid.transform and s.shape == grid.shape
        assert s.tags()["units"] == "dB"
    assert np.allclose(vv[:, west], -10) and np.isnan(vv[:, ~west]).all()
    # Sentinel-2 under cloud (SCL 9, east half): NaN NDVI, not 0 ('bare rock')
    with rasterio.open(tmp_path / "sentinel2" / "S2_NDVI_20220604T105600.tif") as s:
        nd, tags = s.read(1), s.tags()
    assert np.allclose(nd[:, west], 0.5) and np.isnan(nd[:, ~west]).all()
    assert "SCL" in tags["cloud_mask"] and tags["image_ids"].endswith("T30SVJ")
    # what the service sent back for those pixels was 0: without the sentinel they would have been read as data
    sent = fake.returned[-1]["NDVI"]
    assert np.all(sent[:, ~west] == np.float32(gee.MASKED_VALUE))
    table = pd.read_csv(tmp_path / "matching_sentinel2.csv")
    assert len(table) == 3 and table["cloud_mask"].str.contains("SCL classes 3, 8, 9, 10").all()
    n = len(fake.requests)
    gee.fetch_sentinel(fake, demo_cfg, grid, thermal_times, tmp_path, progress=False)
    assert len(fake.requests) == n  # rerun skips files present


def test_qa60_would_mask_2022_2023_but_scl_and_cloud_score_do_not(tmp_path, fake, demo_cfg):
    """QA60 is masked in the archive from 2022-01-25 to 2024-02-28: a QA60 mask empties every scene of that period."""
    grid = thermal_grid(demo_cfg.area)
    sid = "20220604T105631_20220604T110912_T30SVJ"
    img = fake.Image(f"{gee.S2}/{sid}")
    qa = img.select("QA60")
    qa60_ndvi = img.normalizedDifference(["B8", "B4"]).rename("NDVI").updateMask(qa.bitwiseAnd(1 << 10).eq(0))
    assert np.isnan(gee.compute_pixels(fake, qa60_ndvi, grid, ["NDVI"])).all()  # the old mask: every pixel lost
    x, _ = grid.centres()
    west = x < _mid_x(demo_cfg)
    for method in gee.CLOUD_MASKS:
        nd = gee.compute_pixels(fake, gee.s2_ndvi(fake, [sid], method), grid, ["NDVI"])[0]
        assert np.allclose(nd[:, west], 0.5) and np.isnan(nd[:, ~west]).all(), method
    assert "Cloud Score+" in gee.cloud_mask_text("cloud_score_plus", 0.6)
    cfg = dataclasses.replace(demo_cfg, acquisition=dataclasses.replace(demo_cfg.acquisition, s2_cloud_mask="cloud_score_plus"))
    gee.fetch_sentinel(fake, cfg, grid, [dt.datetime(2022, 6, 1, 11, 0, tzinfo=UTC)], tmp_path, progress=False)
    with rasterio.open(tmp_path / "sentinel2" / "S2_NDVI_20220604T105600.tif") as s:
        assert "Cloud Score+" in s.tags()["cloud_mask"]


def test_request_size_counts_the_mask_byte(fake):
    big = Grid("EPSG:32630", 300000.0, 4500000.0, 10.0, 5000, 4000)  # 5000 x 4000 x 2 bands x (4 + 1) B = 200 MB
    tiles = gee.plan_tiles(big, 2)
    assert len(tiles) > 1
    assert all(h * w * 2 * (4 + 1) <= gee.MAX_REQUEST_BYTES for _, _, h, w in tiles)
    assert sum(h * w for _, _, h, w in tiles) == 5000 * 4000
    # a request sized without the mask byte is refused with the service's own words
    side = int((LIMIT / (2 * 4)) ** 0.5)
    edge = Grid("EPSG:32630", 400000.0, 4300000.0, 70.0, side, side)
    req = {"expression": gee.s1_image(fake, "S1A_IW_A").toFloat(), "fileFormat": "NUMPY_NDARRAY", "bandIds": ["VV", "VH"],
           "grid": {"dimensions": {"width": side, "height": side}, "crsCode": edge.crs,
                    "affineTransform": {"scaleX": 70.0, "shearX": 0, "translateX": edge.x0, "shearY": 0, "scaleY": -70.0,
                                        "translateY": edge.y0}}}
    with pytest.raises(EEException, match=r"Total request size \(\d+ bytes\) must be less than or equal to 50331648 bytes"):
        fake.data.computePixels(req)
    small = Grid("EPSG:32630", 400000.0, 4300000.0, 70.0, 50, 60)
    whole = gee.compute_pixels(fake, gee.s1_image(fake, "S1A_IW_A"), small, ["VV", "VH"])
    n0 = len(fake.requests)
    tiled = gee.compute_pixels(fake, gee.s1_image(fake, "S1A_IW_A"), small, ["VV", "VH"], max_bytes=5000)
    assert len(fake.requests) - n0 > 4
    assert np.array_equal(whole, tiled, equal_nan=True)  # the mosaic of tiles equals one request


def test_ecostress_from_earth_engine_whole_passes_zone_names_and_fills(tmp_path, demo_cfg):
    """Two tiles of one overpass (1 s apart), each covering half the area, give one full pass; masked pixels are
    NaN (LST) and the layers' fills (QC 65535, cloud/water 255); names carry the UTM zone as AppEEARS's do."""
    grid = thermal_grid(demo_cfg.area)
    mid = _mid_x(demo_cfg)
    t = dt.datetime(2022, 6, 1, 11, 0, 5, tzinfo=UTC)
    corner = lambda x, y: (x < mid) & (y > grid.y0 - 5 * grid.res)  # noqa: E731 - masked (cloud-free but no retrieval)
    fake = FakeEE({gee.ECO: [
        _eco("ECOv002_L2T_LSTE_1_30SUJ", t, valid=lambda x, y: (x < mid) & ~corner(x, y)),
        _eco("ECOv002_L2T_LSTE_1_30SVJ", t + dt.timedelta(seconds=1), valid=lambda x, y: x >= mid),
        _eco("ECOv002_L2T_LSTE_2_30SVJ", dt.datetime(2022, 6, 3, 21, 0, tzinfo=UTC))]})
    res = gee.fetch_ecostress(fake, demo_cfg, grid, tmp_path, progress=False)
    assert res["ecostress_passes"] == 2 and res["images"] == 3 and res["exported"] == 2
    assert ("mosaic", (f"{gee.ECO}/ECOv002_L2T_LSTE_1_30SUJ", f"{gee.ECO}/ECOv002_L2T_LSTE_1_30SVJ")) in fake.requests[0]["expression"].ops
    zone = ecostress.zone_suffix(grid.crs)
    files = sorted((tmp_path / "ecostress").glob("*.tif"))
    assert len(files) == 2 * len(ecostress.REQUESTED_LAYERS) and all(f.name.endswith(f"_aid0001_{zone}.tif") for f in files)
    lst, _ = ecostress.read_layer(tmp_path / "ecostress" / ecostress.format_name("LST", t, tile=zone))
    qc, _ = ecostress.read_layer(tmp_path / "ecostress" / ecostress.format_name("QC", t, tile=zone))
    cloud, _ = ecostress.read_layer(tmp_path / "ecostress" / ecostress.format_name("cloud", t, tile=zone))
    x, y = grid.centres()
    masked = corner(*np.meshgrid(x, y))
    assert np.allclose(lst[~masked], 300) and np.isnan(lst[masked]).all()  # both halves present; the gap is NaN, not 0 K
    assert (qc[masked] == ecostress.QC_FILL).all() and (qc[~masked] == 49344).all()  # not QC 0 'best quality'
    assert (cloud[masked] == 255).all() and (cloud[~masked] == 0).all()
    with rasterio.open(tmp_path / "ecostress" / ecostress.format_name("QC", t, tile=zone)) as s:
        assert s.dtypes[0] == "uint16" and s.transform == grid.transform and s.nodata == ecostress.QC_FILL
    assert ecostress.reference_grid(tmp_path / "ecostress") == grid
    n = len(fake.requests)
    assert gee.fetch_ecostress(fake, demo_cfg, grid, tmp_path, progress=False)["exported"] == 0 and len(fake.requests) == n


def test_whole_sentinel_passes_are_mosaicked(tmp_path, demo_cfg):
    """An area across two S1 slices and two S2 tiles of one datatake is full, not half empty."""
    grid = thermal_grid(demo_cfg.area)
    mid = _mid_x(demo_cfg)
    t1, t2 = dt.datetime(2022, 6, 1, 18, 10, tzinfo=UTC), dt.datetime(2022, 6, 2, 10, 56, tzinfo=UTC)
    fake = FakeEE({
        gee.S1: [_s1("S1_SLICE_1", t1, valid=lambda x, y: x < mid),
                 _s1("S1_SLICE_2", t1 + dt.timedelta(seconds=25), valid=lambda x, y: x >= mid)],
        gee.S2: [_s2("20220602_T30SUJ", t2, valid=lambda x, y: x < mid), _s2("20220602_T30SVJ", t2, valid=lambda x, y: x >= mid)]})
    res = gee.fetch_sentinel(fake, demo_cfg, grid, [dt.datetime(2022, 6, 1, 11, 0, tzinfo=UTC)], tmp_path, progress=False)
    assert res["exported"] == 2
    with rasterio.open(tmp_path / "sentinel1" / "S1_GRD_IW_20220601T181000_ASC_VV.tif") as s:
        assert np.allclose(s.read(1), -10)
        assert s.tags()["image_ids"] == "S1_SLICE_1+S1_SLICE_2"
    with rasterio.open(tmp_path / "sentinel2" / "S2_NDVI_20220602T105600.tif") as s:
        assert np.allclose(s.read(1), 0.5)
    assert pd.read_csv(tmp_path / "matching_sentinel1.csv")["image_ids"].iloc[0] == "S1_SLICE_1+S1_SLICE_2"


def test_earth_engine_ecostress_coverage_is_told(demo_cfg):
    floor = gee.full_archive_passes_per_year()
    assert 10 < floor < 200  # from the thesis's Appendix C: clear passes a year the full archive gave each area
    times = [dt.datetime(2022, m, 3, 11, tzinfo=UTC) for m in (2, 5, 8)]
    passes = gee.group_passes(pd.DataFrame({"system:index": ["a", "b", "c"], "time_utc": pd.to_datetime(times, utc=True)}), "overpass")
    per_year, warnings = gee.coverage(passes, dt.date(2022, 1, 1), dt.date(2023, 12, 31))
    assert per_year == {2022: 3, 2023: 0}
    assert len(warnings) == 2 and "partial" in warnings[0] and "AppEEARS" in warnings[0]
    dense = [dt.datetime(2022, 1, 1, tzinfo=UTC) + dt.timedelta(days=2 * i) for i in range(180)]
    passes = gee.group_passes(pd.DataFrame({"system:index": [str(i) for i in range(180)], "time_utc": pd.to_datetime(dense, utc=True)}),
                              "overpass")
    assert gee.coverage(passes, dt.date(2022, 1, 1), dt.date(2022, 12, 31))[1] == []
    with pytest.raises(RuntimeError, match="partial"):
        gee.fetch_ecostress(FakeEE({gee.ECO: []}), demo_cfg, thermal_grid(demo_cfg.area), "/nonexistent", progress=False)


def test_earth_engine_credentials_are_found_as_the_client_finds_them(tmp_path):
    """No pre-check of a file the client does not read: ee.Initialize's own discovery decides; a service-account key
    in GOOGLE_APPLICATION_CREDENTIALS is used as one, an authorized-user file there is left to the client (ADC)."""
    fake = FakeEE({})
    auth = credentials.earthengine("", {"EE_CREDENTIALS_FILE": str(tmp_path / "none")})  # not read by the client
    assert auth.key_file is None and auth.project == ""
    gee.initialize(auth, fake)
    assert fake.credentials == "persistent" and fake.project is None  # the credentials' own project
    user = tmp_path / "adc.json"
    user.write_text('{"type": "authorized_user", "client_id": "x", "refresh_token": "r-123456"}')
    assert credentials.earthengine("p", {"GOOGLE_APPLICATION_CREDENTIALS": str(user)}).key_file is None
    sa = tmp_path / "sa.json"
    sa.write_text('{"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com"}')
    assert credentials.earthengine("p", {"GOOGLE_APPLICATION_CREDENTIALS": str(sa)}).key_file == sa
    assert credentials.earthengine("p", {"EE_PROJECT": "env-wins"}).project == "env-wins"

    class Refusing(FakeEE):
        def Initialize(self, credentials="persistent", project=None, **kw):  # noqa: N802
            raise EEException("Please authorize access to your Earth Engine account by running earthengine authenticate "
                              "(token hunter2-secret-value)")

    with pytest.raises(credentials.CredentialsError, match="application-default credentials") as e:
        gee.initialize(credentials.EarthEngineAuth("proj"), Refusing({}))
    assert "earthengine authenticate" in str(e.value)
    with pytest.raises(credentials.CredentialsError, match="does not exist"):
        credentials.earthengine("p", {"EE_SERVICE_ACCOUNT_KEY": str(tmp_path / "missing.json")})
