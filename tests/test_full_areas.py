"""Heavier checks (``make test-slow``): a full-size thesis area simulated end to end."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("aoi,target", [("puertollano", 100)])
def test_thesis_area_keeps_about_the_thesis_count(tmp_path, root, aoi, target):
    from rocksoil_nb import config
    from rocksoil_nb.prepare.scenes import scene_table
    from rocksoil_nb.simulate import schedule, simulate

    cfg = config.load(aoi, root=root)
    res = simulate(cfg, tmp_path / "raw", progress=False)
    assert res["grid_shape"] == cfg.area.shape
    assert res["thesis_listed_passes"] == len(schedule.appendix_c(aoi)) == target
    st = scene_table(tmp_path / "raw")
    kept = int(st["kept"].sum())
    assert 0.9 * target <= kept <= 1.15 * target
    listed = {t.isoformat() for t in schedule.appendix_c(aoi)["time"]}
    assert listed <= {t.isoformat() for t in st["time_utc"]}  # every Appendix C pass is written, with its UTC time
