"""Areas near a UTM zone edge: AppEEARS delivers a pass in pieces, one per zone (``…_29N.tif``, ``…_30N.tif``); the
inventory keeps them as one pass and the cube merges them on the area's grid (the piece in another zone
reprojected). Area grids are in the zone they lie in."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import xarray as xr
from pyproj import Transformer

from rocksoil_nb.config import Preprocess, SceneFilter
from rocksoil_nb.config.load import ParameterError, load, utm_zone_crs
from rocksoil_nb.core import ecostress, io
from rocksoil_nb.core.grid import Grid, cover_grid
from rocksoil_nb.prepare import cube, scenes

from .conftest import make_project

QC_GOOD = int(ecostress.pack_qc(lst_accuracy=3))


def _write_pass(folder, t, grid: Grid, zone: str, lst: np.ndarray):
    ok = np.isfinite(lst)
    layers = {"LST": lst.astype(np.float32), "LST_err": np.where(ok, 0.5, np.nan).astype(np.float32),
              "QC": np.where(ok, QC_GOOD, ecostress.QC_FILL).astype(np.uint16),
              "EmisWB": np.where(ok, 0.95, np.nan).astype(np.float32),
              "cloud": np.where(ok, 0, 255).astype(np.uint8), "water": np.where(ok, 0, 255).astype(np.uint8)}
    for lay, a in layers.items():
        nodata = np.nan if a.dtype == np.float32 else (ecostress.QC_FILL if lay == "QC" else 255)
        io.write_geotiff(folder / ecostress.format_name(lay, t, tile=zone), a, grid.crs, grid.transform, nodata=nodata)


@pytest.fixture()
def two_zone_raw(tmp_path):
    """A 40 x 40 area at -6.1° E (zone 29, 10 km from zone 30). The zone-29 piece covers its west half; the zone-30
    piece (AppEEARS's crop of a zone-30 tile, in EPSG:32630) covers all of it."""
    tr = Transformer.from_crs("EPSG:4326", "EPSG:32629", always_xy=True)
    x, y = tr.transform(-6.1, 37.9)
    ref = Grid("EPSG:32629", round(x / 70) * 70.0, round(y / 70) * 70.0, 70.0, 40, 40)
    eco = tmp_path / "raw" / "ecostress"
    t = dt.datetime(2022, 6, 1, 11, 0, 5, tzinfo=dt.UTC)
    west = np.full(ref.shape, np.nan, np.float32)
    west[:, :20] = 300.0
    _write_pass(eco, t, ref, "29N", west)
    w, s, e, n = ref.bounds
    to30 = Transformer.from_crs("EPSG:32629", "EPSG:32630", always_xy=True)
    xs, ys = to30.transform([w, e, w, e], [s, s, n, n])
    extent = Grid("EPSG:32630", min(xs), max(ys), 70.0, int((max(ys) - min(ys)) / 70) + 1, int((max(xs) - min(xs)) / 70) + 1)
    g30 = cover_grid(extent, 70.0, pad=140.0)
    _write_pass(eco, t, g30, "30N", np.full(g30.shape, 310.0, np.float32))
    # a second pass, whole in zone 29
    _write_pass(eco, t + dt.timedelta(days=2), ref, "29N", np.full(ref.shape, 305.0, np.float32))
    return tmp_path / "raw", ref, t


def test_pieces_in_two_zones_are_one_pass_merged_on_the_area_grid(two_zone_raw, tmp_path):
    raw, ref, t = two_zone_raw
    assert ecostress.reference_grid(raw / "ecostress", crs="EPSG:32629") == ref
    inv = scenes.build(raw, Preprocess(), SceneFilter(0.1, 0.15), progress=False, crs="EPSG:32629")
    assert len(inv) == 2 and inv["kept"].all()
    first = inv.iloc[0]
    assert cube.pieces(first["LST_file"]) == [ecostress.format_name("LST", t, tile="29N"), ecostress.format_name("LST", t, tile="30N")]
    assert first["grid"] == "2 pieces merged (EPSG:32629, EPSG:32630)" and first["valid_fraction"] > 0.99
    out = cube.build(raw, inv, ref, tmp_path / "cube.zarr", Preprocess(), progress=False)
    lst = xr.open_zarr(out)["data"].sel(band="LST").values
    assert np.allclose(lst[0][:, :20], 300.0)  # the area's zone first, exact
    assert np.allclose(lst[0][:, 20:], 310.0)  # the neighbouring zone's piece fills the rest, reprojected
    assert np.allclose(lst[1], 305.0)


def test_the_same_piece_twice_is_still_refused(two_zone_raw):
    raw, _, t = two_zone_raw
    sub = raw / "ecostress" / "copy"
    sub.mkdir()
    name = ecostress.format_name("LST", t, tile="29N")
    (sub / name).write_bytes((raw / "ecostress" / name).read_bytes())
    with pytest.raises(ValueError, match="two LST files for the pass"):
        scenes.build(raw, Preprocess(), SceneFilter(0.1, 0.15), progress=False, crs="EPSG:32629")


def test_area_grids_lie_in_their_zone(tmp_path):
    assert utm_zone_crs(37.9, -6.35) == "EPSG:32629" and utm_zone_crs(38.7, -4.0) == "EPSG:32630"
    assert utm_zone_crs(-33.9, 151.2) == "EPSG:32756"
    for aoi, zone in (("santa_olalla", "EPSG:32629"), ("puertollano", "EPSG:32630"), ("villoslada", "EPSG:32630")):
        assert load(aoi, "quick").area.crs == zone
    text = (load.__globals__["project_root"]() / "parameters" / "santa_olalla.yaml").read_text()
    root = make_project(tmp_path / "proj", aoi="santa_olalla", name="wrongzone",
                        text=text.replace("crs: EPSG:32629", "crs: EPSG:32630").replace("name: santa_olalla", "name: wrongzone"))
    with pytest.raises(ParameterError, match="lies in UTM zone 29 .EPSG:32629.; set area.crs: EPSG:32629, or say why not"):
        load("wrongzone", "quick", root=root)
    noted = text.replace("crs: EPSG:32629", "crs: EPSG:32630\n  crs_note: the map series is on zone 30")
    (root / "parameters" / "wrongzone.yaml").write_text(noted.replace("name: santa_olalla", "name: wrongzone"))
    assert load("wrongzone", "quick", root=root).area.crs == "EPSG:32630"
