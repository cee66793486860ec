"""Local-folder source (files made in the test, real fixture included) and credential handling."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import numpy as np
import pytest

from rocksoil_nb.acquire import credentials, local
from rocksoil_nb.core import ecostress, io
from rocksoil_nb.core.grid import Grid

UTC = dt.UTC


@pytest.fixture()
def bundle(tmp_path, fixture_dir, demo_raw):
    """A user folder: two passes in different naming styles, one missing layer, one corrupt file,
    one real ECOSTRESS file (the shared fixture), a Sentinel-1 pair and the geology map."""
    f = tmp_path / "my_download"
    f.mkdir()
    g = Grid("EPSG:32630", 400000.0, 4300000.0, 70.0, 8, 8)
    t1 = dt.datetime(2021, 7, 1, 12, 0, tzinfo=UTC)
    for lay in ecostress.REQUESTED_LAYERS:
        dtype = {"QC": np.uint16, "cloud": np.uint8, "water": np.uint8}.get(lay, np.float32)
        value = {"LST": 300.0, "LST_err": 1.0, "EmisWB": 0.97}.get(lay, 0)  # plausible values: the whole file is checked
        io.write_geotiff(f / ecostress.format_name(lay, t1, "30SVJ"), np.full((8, 8), value, dtype), g.crs, g.transform)
    t2 = dt.datetime(2019, 8, 2, 21, 5, tzinfo=UTC)  # Collection 1 style, no QC layer
    io.write_geotiff(f / f"ECO2LSTE.001_SDS_LST_doy{t2:%Y%j%H%M%S}_aid0001.tif", np.full((8, 8), 15000, np.uint16), g.crs, g.transform)
    (f / ecostress.format_name("EmisWB", t2, None, product="ECO2LSTE.001").replace("EmisWB", "SDS_EmisWB")).write_bytes(b"not a tiff")
    t3 = dt.datetime(2023, 3, 12, 10, 0, tzinfo=UTC)
    shutil.copy(fixture_dir / "ECO_LST_0312.tif", f / ecostress.format_name("LST", t3))
    (f / "sar").mkdir()
    for pol in ("VV", "VH"):
        io.write_geotiff(f / "sar" / f"S1_GRD_IW_20210701T181000_ASC_{pol}.tif", np.full((8, 8), -12, np.float32), g.crs, g.transform)
    (f / "notes.txt").write_text("field notes")
    (f / "random.tif").write_bytes(b"xx")
    shutil.copy(demo_raw / "geology" / "geology_map.gpkg", f / "geology.gpkg")
    return f


def test_scan_reports_layers_missing_and_unreadable(bundle):
    files = local.scan(bundle)
    by = files.set_index("path")
    assert by.loc["random.tif", "problem"].startswith("raster name not recognised")
    emis_bad = [p for p in by.index if "SDS_EmisWB" in p][0]
    assert by.loc[emis_bad, "problem"].startswith("unreadable")
    scenes = local.layer_table(files).set_index("time_utc")
    assert scenes.iloc[0]["missing"]  # the 2019 Collection 1 pass lacks most layers
    assert (scenes["missing"] == "").sum() == 1  # only the 2021 pass is complete


def test_import_links_without_touching_originals(bundle, tmp_path):
    before = {p: p.stat().st_mtime_ns for p in bundle.rglob("*") if p.is_file()}
    raw = tmp_path / "raw"
    res = local.import_folder(bundle, raw, mode="link", progress=False)
    s = res["summary"]
    assert s["problems"] == 2 and s["ecostress_passes"] == 3 and s["geology_vector"]
    assert (raw / "ecostress" / ecostress.format_name("LST", dt.datetime(2023, 3, 12, 10, 0, tzinfo=UTC))).is_symlink()
    assert (raw / "sentinel1" / "S1_GRD_IW_20210701T181000_ASC_VV.tif").exists()
    assert (raw / "geology" / "geology.gpkg").exists()
    assert not (raw / "ecostress" / "random.tif").exists()
    assert {p: p.stat().st_mtime_ns for p in bundle.rglob("*") if p.is_file()} == before
    again = local.import_folder(bundle, raw, mode="link", progress=False)  # idempotent
    assert set(again["files"]["action"]) <= {"", "present"}


def test_import_copy_and_no_lst_is_an_error(bundle, tmp_path):
    res = local.import_folder(bundle, tmp_path / "raw", mode="copy", progress=False)
    p = tmp_path / "raw" / "sentinel1" / "S1_GRD_IW_20210701T181000_ASC_VH.tif"
    assert p.exists() and not p.is_symlink() and res["summary"]["mode"] == "copy"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(local.LocalSourceError, match="no readable ECOSTRESS LST"):
        local.import_folder(empty, tmp_path / "raw2", progress=False)
    with pytest.raises(local.LocalSourceError, match="does not exist"):
        local.import_folder(tmp_path / "nope", tmp_path / "raw3", progress=False)


def test_earthdata_from_env_then_netrc(tmp_path):
    c = credentials.earthdata({"EARTHDATA_USERNAME": "ann", "EARTHDATA_PASSWORD": "s3cret-pw"})
    assert c.username == "ann" and "s3cret-pw" not in repr(c) and "ann" not in repr(c)
    both = credentials.earthdata({"APPEEARS_TOKEN": "tok-123", "EARTHDATA_USERNAME": "x", "EARTHDATA_PASSWORD": "y-pass"})
    assert (both.token, both.username) == ("tok-123", "x") and "tok-123" not in repr(both)  # the pair kept beside the token
    rc = tmp_path / "netrc"
    rc.write_text("machine urs.earthdata.nasa.gov login bob password pw-from-netrc\n")
    os.chmod(rc, 0o600)
    c = credentials.earthdata({"NETRC": str(rc)})
    assert (c.username, c.password, c.origin) == ("bob", "pw-from-netrc", str(rc))
    with pytest.raises(credentials.CredentialsError, match="EARTHDATA_USERNAME and EARTHDATA_PASSWORD"):
        credentials.earthdata({"NETRC": str(tmp_path / "missing")})


def test_redact_and_earthengine_auth(tmp_path):
    env = {"EARTHDATA_PASSWORD": "hunter2-long", "EE_PROJECT": "my-proj"}
    assert credentials.redact("login with hunter2-long failed", credentials.known_secrets(env)) == "login with *** failed"
    # the Earth Engine client's own discovery decides (tests/test_earthengine.py); no file is pre-checked here
    assert credentials.earthengine("", {"EE_PROJECT": "p", "EE_CREDENTIALS_FILE": str(tmp_path / "none")}).key_file is None
    key = tmp_path / "key.json"
    key.write_text('{"client_email": "sa@p.iam.gserviceaccount.com"}')
    a = credentials.earthengine("from-params", {"EE_SERVICE_ACCOUNT_KEY": str(key)})
    assert a.project == "from-params" and a.key_file == key and str(key) not in repr(a)
    assert credentials.earthengine("", {}).project == ""  # the project the credentials carry


def test_the_same_pass_twice_is_refused_naming_both_and_nothing_is_linked(bundle, tmp_path):
    shutil.copytree(bundle / "sar", bundle / "sar_copy")
    raw = tmp_path / "raw"
    with pytest.raises(local.LocalSourceError, match=r"sar/S1_GRD_IW_20210701T181000_ASC_VH.tif and sar_copy/S1_GRD"):
        local.import_folder(bundle, raw, progress=False)
    assert not raw.exists() or not any(raw.rglob("*.tif"))


def test_a_rerun_after_a_source_folder_moved_replaces_the_dangling_links(bundle, tmp_path):
    raw = tmp_path / "raw"
    local.import_folder(bundle, raw, progress=False)
    moved = tmp_path / "moved"
    shutil.move(str(bundle / "sar"), moved)  # the links to sar/ now point nowhere
    (bundle / "sar").mkdir()
    for p in moved.glob("*.tif"):
        shutil.copy(p, bundle / "sar" / p.name)
    res = local.import_folder(bundle, raw, progress=False)
    assert (raw / "sentinel1" / "S1_GRD_IW_20210701T181000_ASC_VV.tif").exists() and res["summary"]["imported"]


def test_another_areas_folder_is_refused_before_anything_is_linked(bundle, tmp_path):
    elsewhere = Grid("EPSG:32630", 700000.0, 4100000.0, 70.0, 50, 50)  # 300 km away
    with pytest.raises(local.LocalSourceError, match="none of its .* ECOSTRESS passes reaches this area's grid"):
        local.import_folder(bundle, tmp_path / "raw", progress=False, area=elsewhere)
    near = Grid("EPSG:32630", 400000.0, 4300000.0, 70.0, 8, 8)
    res = local.import_folder(bundle, tmp_path / "raw2", progress=False, area=near)
    assert res["summary"]["ecostress_passes"] >= 1


def test_an_empty_geology_layer_says_so(tmp_path):
    import geopandas as gpd

    from rocksoil_nb.prepare import labels

    empty = gpd.GeoDataFrame({"class_code": []}, geometry=[], crs="EPSG:25830")
    with pytest.raises(labels.LabelError, match="has no polygons"):
        labels.rasterize(empty, Grid("EPSG:32630", 400000.0, 4300000.0, 70.0, 8, 8))
