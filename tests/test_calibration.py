"""Calibration measures and calibrators on made-up probabilities whose calibration is known."""

from __future__ import annotations

import numpy as np
import pytest

from rocksoil_nb.learn import calibration as cal


def _calibrated(n=20_000, k=5, seed=0, sharpness=2.0):
    """Labels drawn from the probabilities themselves: calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, sharpness, (n, k))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in p])
    return p, y


def test_ece_is_near_zero_when_calibrated_and_large_when_over_confident():
    p, y = _calibrated()
    assert cal.ece(p, y) < 0.02
    over = cal._softmax_log(p, 0.3)  # sharpened: the same ranking, confidence too high
    assert cal.ece(over, y) > 0.1
    r = cal.reliability(over, y)
    assert len(r) == cal.BINS and r["pixels"].sum() == len(y) and (r["pixels"].max() - r["pixels"].min()) <= 1  # equal mass
    assert (r["mean confidence"] >= r["accuracy"] - 0.02).all()  # over-confident in every bin
    with pytest.raises(ValueError, match="no labelled pixel"):
        cal.ece(np.zeros((0, 3)), np.zeros(0))


def test_temperature_scaling_recovers_the_temperature_and_keeps_the_classes():
    p, y = _calibrated(seed=1)
    over = cal._softmax_log(p, 0.3)
    t = cal.Temperature().fit(over, y)
    assert t.t == pytest.approx(1 / 0.3, rel=0.1)  # undoes the sharpening
    fixed = t.apply(over)
    assert cal.ece(fixed, y) < 0.02 and (fixed.argmax(1) == over.argmax(1)).all()


def test_isotonic_calibration_lowers_the_ece_of_a_per_pixel_model(tmp_path):
    p, y = _calibrated(seed=2)
    over = cal._softmax_log(p, 0.4)
    fit, test = slice(0, 10_000), slice(10_000, None)
    iso = cal.Isotonic().fit(over[fit], y[fit])
    q = iso.apply(over[test])
    assert np.allclose(q.sum(1), 1, atol=1e-5) and cal.ece(q, y[test]) < cal.ece(over[test], y[test]) / 3
    back = cal.load(cal.save(iso, tmp_path / "cal.joblib"))
    assert np.array_equal(back.apply(over[:10]), iso.apply(over[:10]))


def test_the_method_is_chosen_on_held_out_blocks_ties_to_the_simpler():
    p, y = _calibrated(seed=3)
    groups = np.arange(len(y)) // 2000  # ten made-up blocks
    scores = cal.cross_validated(p, y, groups)
    assert set(scores) == set(cal.METHODS) and cal.choose(scores, "temperature") == "none"  # calibrated already: left alone
    over = cal._softmax_log(p, 0.3)
    scores = cal.cross_validated(over, y, groups, methods={**cal.METHODS, "isotonic": cal.Isotonic})
    assert scores["none"] > 0.1 and scores["temperature"] < 0.03 and scores["isotonic"] < 0.05  # held-out blocks see the fix
    assert cal.choose({k: scores[k] for k in cal.METHODS}, "none") == "temperature"
    assert cal.cross_validated(over, y, np.zeros(len(y))) == {} and cal.choose({}, "temperature") == "temperature"
    q = p.copy()
    q[:, 0] = 0.0  # a class the map cannot choose
    q /= q.sum(1, keepdims=True)
    assert (cal.Temperature(3.0).apply(q)[:, 0] == 0).all()  # stays impossible whatever the temperature


def test_entropy_margin_and_probability_maps(tmp_path):
    import rasterio

    from rocksoil_nb.core.grid import Grid
    from rocksoil_nb.infer import maps

    p = np.zeros((2, 3, 14), np.float32)
    p[0, :, 7] = 1.0  # certain
    p[1, :, [7, 8]] = 0.5  # a tie between two classes
    p[1, 2] = np.nan  # not mapped
    h, m = maps.entropy(p), maps.margin(p)
    assert np.allclose(h[0], 0) and np.allclose(h[1, :2], 1.0) and np.isnan(h[1, 2])  # 1 bit for a fair coin
    assert np.allclose(m[0], 1) and np.allclose(m[1, :2], 0) and np.isnan(m[1, 2])
    grid = Grid("EPSG:32630", 500000.0, 4650000.0, 70.0, 2, 3)
    out = maps.write_uncertainty_maps(tmp_path / "consensus", p, grid, [7, 8])
    with rasterio.open(out["probabilities"]) as s:
        assert s.count == 2 and s.descriptions == ("7 Detritic", "8 Carbonate") and s.crs.to_string() == "EPSG:32630"
        assert np.allclose(s.read(1)[0], 1.0)
    assert all(path.with_suffix(".qml").exists() for path in out.values())


def test_a_runs_calibration_is_fitted_on_validation_stored_and_skipped_without_validation(trained_demo, tmp_path, monkeypatch):
    import dataclasses

    from rocksoil_nb.analyse import confidence
    from rocksoil_nb.learn import train

    cfg = dataclasses.replace(trained_demo, workdir=tmp_path)
    (tmp_path / "data").symlink_to(trained_demo.workdir / "data")  # the prepared patches; runs go to tmp_path/models
    train.train(cfg, "thermal_only", "cnn", "spatial", epochs=1, max_samples=32, verbose=0)
    run_dir = cfg.layout.run_dir("thermal_only", "cnn", "spatial")
    c = confidence.calibrate(cfg, "thermal_only", "cnn", "spatial")
    assert type(cal.stored(run_dir)) is type(c.calibrator) and type(c.calibrator) in cal.METHODS.values()
    t = c.table.set_index(["split", "calibration"])
    assert len(t) == 4
    p_val, y_val, g_val = confidence.split_probabilities(cfg, run_dir, "val")
    assert len(g_val) == len(y_val) and len(np.unique(g_val)) >= 1  # each validation pixel knows its block
    temp = cal.Temperature().fit(p_val, y_val)

    def nll(p):
        return -np.log(np.clip(p[np.arange(len(y_val)), y_val], cal.EPS, 1)).mean()

    assert nll(temp.apply(p_val)) <= nll(p_val) + 1e-6  # what temperature scaling minimises on validation
    assert (temp.apply(p_val).argmax(1) == p_val.argmax(1)).all()  # temperature scaling never changes the chosen class
    assert "off by" in c.statement() and list(confidence.calibrate_all(cfg, "thermal_only")["model"]) == ["CNN"]
    assert (cfg.layout.tables_dir / "calibration_thermal_only_spatial.csv").exists()
    real = confidence.split_probabilities

    def no_validation(cfg_, run, split, seed=0):
        if split == "val":
            raise ValueError("no labelled pixel")
        return real(cfg_, run, split, seed)

    monkeypatch.setattr(confidence, "split_probabilities", no_validation)
    c = confidence.calibrate(cfg, "thermal_only", "cnn", "spatial")
    assert c.calibrator is None and cal.stored(run_dir) is None and "no calibration could be fitted" in c.statement()
