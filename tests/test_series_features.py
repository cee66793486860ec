"""Whole-series pixel features, the pixel_series baseline and apparent thermal inertia, on made-up series with
known answers and on the demo area."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rocksoil_nb.analyse import thermal_inertia
from rocksoil_nb.learn import series_features as sf


def test_harmonic_of_a_pure_sinusoid_gives_its_amplitude_and_peak_day_with_gaps():
    doy = np.linspace(0, 360, 46)
    a = 5.0 + 3.0 * np.cos(sf.OMEGA * (doy - 200.0))
    a[::3] = np.nan  # missing passes are ignored
    mean, amp, peak = sf.harmonic(a[:, None], doy)
    assert mean[0] == pytest.approx(5.0, abs=1e-6) and amp[0] == pytest.approx(3.0, abs=1e-6) and peak[0] == pytest.approx(200.0, abs=1e-3)
    few = np.full(46, np.nan)
    few[:3] = 1.0
    assert np.isnan(sf.harmonic(few[:, None], doy)[1][0])  # fewer than MIN_PASSES values: no fit


def test_anomaly_removes_a_scene_wide_offset_and_day_minus_night_is_read():
    rng = np.random.default_rng(0)
    t, h, w = 12, 6, 5
    ground = rng.normal(0, 1, (h, w))
    is_day = np.arange(t) % 2 == 0
    base = np.where(is_day, 2.0, -1.0)[:, None, None] * (1 + (ground > 0))  # warm pixels swing twice as much
    weather = rng.normal(290, 8, t)[:, None, None]  # each pass's own air temperature
    temp = weather + base
    valid = np.ones((t, h, w), bool)
    emis = np.full((t, h, w), 0.96)
    doy = np.linspace(10, 350, t)
    f1, names = sf.pixel_features(temp, emis, valid, is_day, doy)
    f2, _ = sf.pixel_features(temp + 30.0, emis, valid, is_day, doy)
    assert np.allclose(f1, f2, equal_nan=True)  # a scene-wide offset changes nothing
    dn = f1[..., names.index("day_minus_night")]
    swing = np.where(ground > 0, 6.0, 3.0)
    assert np.allclose(dn - dn.mean(), swing - swing.mean())  # known day-night differences, up to the median's level
    assert np.allclose(f1[..., names.index("emis_mean")], 0.96) and np.allclose(f1[..., names.index("valid_share")], 1.0)
    g, names_unknown = sf.pixel_features(temp, emis, valid, None, None)
    assert np.isnan(g[..., names_unknown.index("day_minus_night")]).all()  # no flags: no day/night features
    assert np.isnan(g[..., names_unknown.index("harmonic_amp")]).all()  # no dates: no harmonic


def test_ati_of_a_made_up_pair():
    times = pd.DatetimeIndex(["2022-07-01 13:00", "2022-07-01 23:00", "2022-07-05 12:00", "2022-07-20 02:00"])
    is_day = np.array([True, False, True, False])
    pairs = thermal_inertia.day_night_pairs(times, is_day, max_gap_h=14)
    assert pairs[["day", "night"]].values.tolist() == [[0, 1]] and pairs["gap_h"].iloc[0] == 10.0
    temp = np.zeros((4, 2, 2))
    temp[0] = [[310.0, 300.0], [295.0, 320.0]]
    temp[1] = [[290.0, 290.0], [294.5, 300.0]]
    valid = np.ones((4, 2, 2), bool)
    valid[1, 1, 1] = False
    ati, dt, n = thermal_inertia.apparent_thermal_inertia(temp, valid, pairs, albedo=0.25)
    assert ati[0, 0] == pytest.approx(0.75 / 20) and ati[0, 1] == pytest.approx(0.75 / 10) and dt[0, 0] == 20
    assert np.isnan(ati[1, 0]) and np.isnan(ati[1, 1])  # ΔT 0.5 K below the 1 K floor; an invalid night pixel
    assert n.tolist() == [[1, 1], [0, 0]]


def test_pixel_series_run_on_the_demo_area(trained_demo, tmp_path):
    from rocksoil_nb.analyse import signatures
    from rocksoil_nb.learn import train
    from rocksoil_nb.prepare import steps

    cfg = trained_demo
    r = train.train(cfg, "thermal_only", "pixel_series", "spatial", out_dir=tmp_path / "series", verbose=0)
    assert r.model == "pixel_series" and 0.0 <= r.score("oa") <= 1.0 and r.test_samples > 0
    assert (tmp_path / "series" / "pixel_series.joblib").exists()
    again = train.train(cfg, "thermal_only", "pixel_series", "spatial", out_dir=tmp_path / "series", verbose=0)
    assert again.score("macro_f1") == r.score("macro_f1")  # reused, and deterministic
    feats = signatures.series_features(cfg, per_class=200)
    assert {"day_minus_night", "harmonic_amp", "emis_mean"} <= set(feats["feature"]) and np.isfinite(feats["value"]).all()
    res = thermal_inertia.run(cfg)
    assert res.available and len(res.pairs) > 0 and cfg.layout.ati.exists() and cfg.layout.ati.with_suffix(".qml").exists()
    fin = res.ati[np.isfinite(res.ati)]
    assert fin.size > 0.3 * res.ati.size and (fin > 0).all()
    assert not thermal_inertia.summary(res, steps.load_labels(cfg)).empty
