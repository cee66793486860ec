import datetime as dt

import numpy as np
import pytest

from rocksoil_nb.core import ecostress

UTC = dt.UTC


@pytest.mark.parametrize("layer", ecostress.L2T_LAYERS)
def test_name_round_trip(layer):
    t = dt.datetime(2019, 2, 11, 17, 28, 50, tzinfo=UTC)
    name = ecostress.format_name(layer, t, tile="30N")
    assert name == f"ECO_L2T_LSTE.002_{layer}_doy2019042172850_aid0001_30N.tif"
    n = ecostress.parse_name(name)
    assert (n.product, n.layer, n.time, n.tile) == ("ECO_L2T_LSTE.002", layer, t, "30N")
    assert n.filename() == name


def test_lst_err_is_never_lst():
    files = [ecostress.format_name(x, dt.datetime(2020, 1, 1, 12)) for x in ("LST", "LST_err", "QC")]
    assert [p.name for p in ecostress.find_layer(files, "LST")] == [files[0]]
    assert [p.name for p in ecostress.find_layer(files, "LST_err")] == [files[1]]


def test_other_naming_styles():
    n = ecostress.parse_name("ECO2LSTE.001_SDS_LST_doy2019042172850_aid0001.tif")
    assert n.product == "ECO2LSTE.001" and n.layer == "LST" and n.tile is None
    n = ecostress.parse_name("ECO_L2_LSTE.002_cloud_mask_doy2023001000102_aid0001.tif")
    assert n.layer == "cloud" and n.time == dt.datetime(2023, 1, 1, 0, 1, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="ECO_LST_0312.tif"):
        ecostress.parse_name("ECO_LST_0312.tif")


def test_qc_pack_unpack_round_trip():
    rng = np.random.default_rng(0)
    fields = {n: rng.integers(0, 4, 50) for n, _, _ in ecostress.QC_FIELDS}
    q = ecostress.pack_qc(**fields)
    assert q.dtype == np.uint16
    back = ecostress.unpack_qc(q)
    for n in fields:
        assert np.array_equal(back[n], fields[n])


def test_qc_known_values():
    # mandatory 01 (bits 0-1) and LST accuracy 11 (bits 14-15): 0b11000000_00000001
    assert int(ecostress.pack_qc(mandatory=1, lst_accuracy=3)) == 0xC001
    f = ecostress.unpack_qc(np.uint16(0b0000_1100_0000_0110))  # data quality 01, MMD 11, mandatory 10
    assert (f["mandatory"], f["data_quality"], f["mmd"]) == (2, 1, 3)
    assert ecostress.unpack_qc(ecostress.QC_FILL)["mandatory"] == 3
    with pytest.raises(ValueError):
        ecostress.pack_qc(mandatory=4)


def test_scene_fractions():
    from rocksoil_nb.config import Preprocess

    qc = ecostress.pack_qc(mandatory=np.array([0, 2, 3, 0]), lst_accuracy=np.array([3, 3, 3, 0]))
    cloud = np.array([0, 1, 0, 0], dtype=np.uint8)
    cloudy = ecostress.is_cloudy(qc, cloud)
    valid = ecostress.valid_mask(qc, cloud, np.full(4, 300.0), Preprocess())
    assert cloudy.mean() == 0.25 and (~valid & ~cloudy).mean() == 0.5 and valid.mean() == 0.25


def test_reference_grid_from_real_fixture(fixture_dir, tmp_path):
    import shutil

    t = dt.datetime(2023, 3, 12, 10, 0, tzinfo=UTC)
    shutil.copy(fixture_dir / "ECO_LST_0312.tif", tmp_path / ecostress.format_name("LST", t))
    shutil.copy(fixture_dir / "ECO_EmisWB_0312.tif", tmp_path / ecostress.format_name("EmisWB", t))
    g = ecostress.reference_grid(tmp_path)
    assert (g.rows, g.cols, g.res, g.x0, g.y0) == (1568, 1568, 70.0, 300000.0, 4200000.0)
    assert "32630" in g.crs
