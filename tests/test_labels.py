import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import Polygon, box

from rocksoil_nb.core.grid import Grid
from rocksoil_nb.prepare import labels

GRID = Grid("EPSG:32630", 400000.0, 4300000.0, 70.0, 4, 4)  # 4 x 4 pixels of 70 m


def _gpkg(tmp_path, geoms, codes, crs="EPSG:32630"):
    gdf = gpd.GeoDataFrame({"class_code": codes}, geometry=geoms, crs=crs)
    p = tmp_path / "geo.gpkg"
    gdf.to_file(p, driver="GPKG")
    return p


def test_two_halves_by_majority(tmp_path):
    # left 2 columns clay (2), right 2 columns carbonate (8); third column split 60/40 → carbonate wins
    x0, y0 = GRID.x0, GRID.y0
    left = box(x0, y0 - 280, x0 + 140 + 28, y0)  # 0.4 of column 2 is clay
    right = box(x0 + 140 + 28, y0 - 280, x0 + 280, y0)
    res = labels.make_labels(_gpkg(tmp_path, [left, right], [2, 8]), GRID, tmp_path / "labels.tif")
    expect = np.array([[2, 2, 8, 8]] * 4, dtype=np.uint8)
    assert res.labels.dtype == np.uint8
    assert np.array_equal(res.labels, expect)
    with rasterio.open(tmp_path / "labels.tif") as s:
        assert s.crs.to_epsg() == 32630 and s.transform == GRID.transform and s.dtypes[0] == "uint8"
        assert np.array_equal(s.read(1), expect)
        assert s.colormap(1)[8][:3] == (0x81, 0xB1, 0xD5)


def test_outside_polygons_is_zero_and_reprojected_vector(tmp_path):
    x0, y0 = GRID.x0, GRID.y0
    sq = gpd.GeoSeries([box(x0, y0 - 140, x0 + 140, y0)], crs="EPSG:32630").to_crs("EPSG:4326")
    res = labels.make_labels(_gpkg(tmp_path, list(sq), [13], crs="EPSG:4326"), GRID)
    assert res.labels[:2, :2].tolist() == [[13, 13], [13, 13]]
    assert int((res.labels == 0).sum()) == 12
    assert res.counts().set_index("code").loc[13, "pixels"] == 4


def test_invalid_polygon_is_repaired_and_reported(tmp_path):
    x0, y0 = GRID.x0, GRID.y0
    bowtie = Polygon([(x0, y0), (x0 + 280, y0 - 280), (x0 + 280, y0), (x0, y0 - 280)])
    assert not bowtie.is_valid
    res = labels.make_labels(_gpkg(tmp_path, [bowtie], [7]), GRID)
    assert len(res.repaired) == 1 and "Self-intersection" in res.repaired[0][1]
    assert (res.labels == 7).sum() >= 6  # both triangles kept, not dropped


def test_errors_name_the_problem(tmp_path):
    x0, y0 = GRID.x0, GRID.y0
    sq = box(x0, y0 - 140, x0 + 140, y0)
    with pytest.raises(labels.LabelError, match="outside 0-13"):
        labels.make_labels(_gpkg(tmp_path, [sq], [14]), GRID)
    far = box(0, 0, 100, 100)
    with pytest.raises(labels.LabelError, match="do not overlap"):
        labels.make_labels(_gpkg(tmp_path, [far], [3]), GRID)
    nocrs = tmp_path / "nocrs.gpkg"
    gpd.GeoDataFrame({"class_code": [3]}, geometry=[sq]).to_file(nocrs, driver="GPKG")
    with pytest.raises(labels.LabelError, match="no CRS"):
        labels.make_labels(nocrs, GRID)
    with pytest.raises(labels.LabelError, match="no class field 'litho'"):
        labels.make_labels(_gpkg(tmp_path, [sq], [3]), GRID, class_field="litho")
