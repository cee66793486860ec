import datetime as dt
import json

import numpy as np
import pytest
import rasterio

from rocksoil_nb.core import ecostress
from rocksoil_nb.core.grid import thermal_grid
from rocksoil_nb.prepare import scenes
from rocksoil_nb.simulate import AreaModel, RawDataConflict, geology, simulate


def test_layout_names_and_dtypes(demo_raw, demo_cfg):
    eco = sorted((demo_raw / "ecostress").glob("*.tif"))
    assert len(eco) == 64 * 6
    by_layer = {}
    for p in eco:
        n = ecostress.parse_name(p)
        assert n.product == "ECO_L2T_LSTE.002" and n.tile == "30N"
        by_layer.setdefault(n.layer, []).append(p)
    assert sorted(by_layer) == sorted(ecostress.REQUESTED_LAYERS)
    g = thermal_grid(demo_cfg.area)
    with rasterio.open(by_layer["LST"][0]) as s:
        assert s.dtypes[0] == "float32" and np.isnan(s.nodata) and s.crs.to_epsg() == 32630 and s.res == (70.0, 70.0)
        assert s.shape == (96, 96)
    with rasterio.open(by_layer["QC"][0]) as s:
        assert s.dtypes[0] == "uint16" and s.nodata == 65535
    with rasterio.open(by_layer["cloud"][0]) as s:
        assert s.dtypes[0] == "uint8"
    ref = ecostress.reference_grid(demo_raw / "ecostress")
    assert ref == g
    s1 = sorted((demo_raw / "sentinel1").glob("*_VV.tif"))
    s2 = sorted((demo_raw / "sentinel2").glob("*.tif"))
    assert len(s1) > 5 and len(s2) > 10
    with rasterio.open(s1[0]) as s:
        vv = s.read(1)
        assert s.res == (30.0, 30.0) and s.tags()["units"] == "dB"
        assert -30 < np.nanmedian(vv) < 0
    with rasterio.open(s2[0]) as s:
        nd = s.read(1)
        assert np.nanmin(nd) >= -1 and np.nanmax(nd) <= 1
    assert (demo_raw / "geology" / "geology_map.gpkg").exists()
    assert json.loads((demo_raw / "manifest.json").read_text())["complete"]


def test_values_are_physical(demo_raw):
    t = scenes.scene_table(demo_raw)
    kept = t[t["kept"]]
    assert 30 <= len(kept) <= 50  # "about 40 scenes" pass the thesis filter
    for time in kept["time_utc"][:10]:
        with rasterio.open(demo_raw / "ecostress" / ecostress.format_name("LST", time.to_pydatetime())) as s:
            lst = s.read(1)
        with rasterio.open(demo_raw / "ecostress" / ecostress.format_name("EmisWB", time.to_pydatetime())) as s:
            em = s.read(1)
        assert 240 < np.nanmedian(lst) < 340
        assert 0.9 < np.nanmedian(em) < 1.0


def test_geology_map_is_generalised_and_displaced(demo_raw):
    import geopandas as gpd

    gdf = gpd.read_file(demo_raw / "geology" / "geology_map.gpkg")
    assert gdf.crs.to_epsg() == 25830
    assert set(gdf["class_code"]) <= set(range(1, 14))
    assert int((~gdf.geometry.is_valid).sum()) == 1  # the one digitising error
    summary = json.loads((demo_raw / "truth" / "summary.json").read_text())
    assert len(summary["true_class_fractions"]) == 13  # every class 1-13 is in the demo truth
    assert 40 < summary["map"]["displacement_m_rms"] < 200


def test_skip_resume_and_immutability(tmp_path, demo_cfg):
    import dataclasses

    small = dataclasses.replace(demo_cfg, simulator=dataclasses.replace(demo_cfg.simulator, scenes=dataclasses.replace(
        demo_cfg.simulator.scenes, passes=4)))
    out = tmp_path / "raw"
    first = simulate(small, out, progress=False)
    assert not first["skipped"]
    assert simulate(small, out, progress=False)["skipped"]
    victim = sorted((out / "ecostress").glob("*_LST_*.tif"))[0]
    before = victim.read_bytes()
    victim.unlink()
    (out / "manifest.json").unlink()
    again = simulate(small, out, progress=False)  # resumes: rewrites only the missing file
    assert not again["skipped"] and victim.read_bytes() == before
    other = dataclasses.replace(small, simulator=dataclasses.replace(small.simulator, seed=999))
    with pytest.raises(RawDataConflict, match="immutable"):
        simulate(other, out, progress=False)


def test_deterministic_for_a_seed(demo_cfg):
    a, b = AreaModel(demo_cfg), AreaModel(demo_cfg)
    assert np.array_equal(a.true, b.true)
    from rocksoil_nb.simulate import schedule

    p = schedule.Pass(dt.datetime(2022, 6, 1, 12, 0, tzinfo=dt.UTC), 0.05)
    ga, la, _ = a.ecostress_pass(p, 3)
    gb, lb, _ = b.ecostress_pass(p, 3)
    assert ga == gb
    for k in la:
        assert np.array_equal(la[k], lb[k], equal_nan=True)


@pytest.fixture(scope="module")
def demo_model(demo_cfg):
    return AreaModel(demo_cfg)


def _class_stat(model, when, fn):
    maj = geology.block_mode(model.true, model.factor)
    states = [model.surface_state(model.surface70, when + dt.timedelta(hours=h), 0.3) for h in range(24)]
    lst = np.stack([s[0] for s in states])
    eps = states[12][1]
    val = fn(lst, eps)
    return {c: float(np.median(val[maj == c])) for c in range(1, 14) if (maj == c).sum() > 5}


@pytest.mark.parametrize("day", [dt.datetime(2022, 7, 10), dt.datetime(2023, 1, 15), dt.datetime(2022, 4, 20)])
def test_physics_diurnal_amplitude(demo_model, day):
    amp = _class_stat(demo_model, day, lambda lst, eps: lst.max(0) - lst.min(0))
    assert amp[1] > amp[2] + 2.0  # sand heats and cools more than clay (thesis §1.4)
    assert amp[13] == min(amp.values()) and amp[13] < 3.0  # water barely changes


def test_physics_emissivity(demo_model):
    eps = _class_stat(demo_model, dt.datetime(2022, 7, 10), lambda lst, eps: eps)
    assert eps[1] < eps[2] and eps[12] < eps[2]  # quartz-rich sand and quartzite below clay
    assert eps[13] > 0.98


def test_difficulty_on_demo(demo_raw):
    """One clear date gives a per-pixel forest little; the time series carries the information."""
    from rocksoil_nb.analyse import difficulty

    d = difficulty.measure(demo_raw, n_blocks=2, trees=40)
    assert d.scenes_used >= 25
    assert d.single_date_oa < 0.5
    assert d.series_oa > d.single_date_oa + 0.15
    assert d.series_macro_f1 > d.single_date_macro_f1 + 0.15
    assert d.series_oa > d.majority_oa + 0.2
