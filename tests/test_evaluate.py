"""Evaluation, reconstruction, map files, prediction checks and the NDVI analysis on made-up data."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
import rasterio

from rocksoil_nb.analyse import ndvi
from rocksoil_nb.analyse import results as tables
from rocksoil_nb.core import classes
from rocksoil_nb.core.grid import Grid
from rocksoil_nb.infer import maps, predict, reconstruct
from rocksoil_nb.learn.decision import decide
from rocksoil_nb.learn.runs import RunSpec

GRID = Grid("EPSG:32630", 500000.0, 4650000.0, 70.0, 40, 48)


# --------------------------------------------------------------------------- stitching and seams


def test_stitch_averages_overlapping_windows():
    pos = [(0, 0), (0, 2), (2, 0), (2, 2)]
    probs = np.zeros((4, 4, 4, 3), np.float32)
    for i in range(4):
        probs[i, ..., 0] = i  # window i predicts the value i everywhere
    acc = reconstruct.StitchAccumulator((6, 6), 3)
    acc.add(probs, pos)
    mean, count = acc.result()
    assert count[0, 0] == 1 and count[2, 2] == 4 and count[0, 3] == 2 and count[5, 5] == 1
    assert mean[0, 0, 0] == 0 and mean[2, 2, 0] == pytest.approx(1.5)  # (0+1+2+3)/4
    assert mean[0, 3, 0] == pytest.approx(0.5) and mean[3, 0, 0] == pytest.approx(1.0) and mean[5, 5, 0] == 3
    acc = reconstruct.StitchAccumulator((6, 6), 3)
    acc.add(probs, pos, mode="last")
    last, _ = acc.result()
    assert last[2, 2, 0] == 3 and last[0, 3, 0] == 1


def test_seam_score_sees_window_borders():
    rng = np.random.default_rng(0)
    size, pos = 8, [(r, c) for r in range(0, 33, 8) for c in range(0, 41, 8)]
    blocky = np.zeros((40, 48), np.uint8)
    for k, (r, c) in enumerate(pos):
        blocky[r : r + size, c : c + size] = k % 13 + 1
    noisy = np.where(rng.random(blocky.shape) < 0.1, rng.integers(1, 14, blocky.shape), blocky).astype(np.uint8)
    s = reconstruct.seam_score(noisy, pos, size)
    assert s["border_disagreement"] > 0.9 and s["other_disagreement"] < 0.25 and s["ratio"] > 4
    smooth = rng.integers(1, 14, (40, 48)).astype(np.uint8)  # no window structure
    assert reconstruct.seam_score(smooth, pos, size)["ratio"] == pytest.approx(1.0, abs=0.1)
    masked = noisy.copy()
    masked[:, :] = maps.NOT_MAPPED
    assert np.isnan(reconstruct.seam_score(masked, pos, size)["ratio"])


def test_sequence_frames():
    vt = np.array([0, 2, 3, 5, 8, 9])
    assert reconstruct.sequence_frames(vt, 8, 3) == [3, 5, 8]
    assert reconstruct.sequence_frames(vt, 2, 3) is None
    assert reconstruct.sequence_frames(vt, 4, 1) is None  # not a date of the variant


# --------------------------------------------------------------------------- map files


def test_class_and_confidence_cogs_carry_the_grid(tmp_path):
    codes = np.arange(GRID.rows * GRID.cols).reshape(GRID.shape) % 14
    codes = codes.astype(np.uint8)
    codes[0, :5] = maps.NOT_MAPPED
    p = maps.write_class_map(tmp_path / "c.tif", codes, GRID, {"model": "cnn"})
    with rasterio.open(p) as s:
        assert s.crs.to_string() == "EPSG:32630" and s.transform == GRID.transform and s.shape == GRID.shape
        assert s.nodata == 255 and s.tags()["model"] == "cnn" and s.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        cmap = s.colormap(1)
        assert cmap[1] == (0xF4, 0xE2, 0x85, 255) and cmap[13] == (0x1D, 0x4E, 0xD8, 255)
        assert (s.read(1) == codes).all()
    q = ET.parse(p.with_suffix(".qml")).getroot()
    entries = q.findall(".//paletteEntry")
    assert len(entries) == 14 and entries[5].get("label") == "5 Peat" and entries[5].get("color") == classes.NAMES_COLOR[5]
    conf = np.linspace(0, 1, GRID.rows * GRID.cols, dtype=np.float32).reshape(GRID.shape)
    conf[3, 3] = np.nan
    pc = maps.write_confidence_map(tmp_path / "p.tif", conf, GRID)
    with rasterio.open(pc) as s:
        a = s.read(1)
        assert s.dtypes[0] == "float32" and np.isnan(a[3, 3]) and a[-1, -1] == pytest.approx(1.0)
    assert ET.parse(pc.with_suffix(".qml")).getroot().find(".//colorrampshader").get("maximumValue") == "1"
    with pytest.raises(ValueError, match="does not match the grid"):
        maps.write_class_map(tmp_path / "bad.tif", codes[:10], GRID)


# --------------------------------------------------------------------------- reconstruction of a made-up cube


class PatternModel:
    """Predicts, per pixel, class round(first input channel) with probability 0.9 (as a trained model would)."""

    def predict_proba(self, x):
        v = x[:, -1] if x.ndim == 5 else x
        k = np.clip(np.rint(v[..., 0]), 1, 13).astype(int)
        p = np.full((*k.shape, 14), 0.1 / 13, np.float32)
        np.put_along_axis(p, k[..., None], 0.9, axis=-1)
        return p


def _cube(tmp_path, n_t=6, crs="EPSG:32630"):
    import xarray as xr

    rng = np.random.default_rng(1)
    pattern = (np.arange(GRID.cols)[None, :] // 6 % 13 + 1) * np.ones((GRID.rows, 1))
    data = np.full((n_t, 5, GRID.rows, GRID.cols), np.nan, np.float32)
    valid = np.ones((n_t, GRID.rows, GRID.cols), np.uint8)
    for t in range(n_t):
        data[t, 0] = pattern
        data[t, 1] = 0.97 + rng.normal(0, 0.001, pattern.shape)
        data[t, 4] = 0.2 + 0.5 * (np.arange(GRID.rows)[:, None] / GRID.rows) * np.ones((1, GRID.cols))
    valid[2, :5, :7] = 0
    data[2, :2, :5, :7] = np.nan
    x, y = GRID.centres()
    ds = xr.Dataset({"data": (("time", "band", "y", "x"), data), "valid": (("time", "y", "x"), valid)},
                    coords={"time": pd.date_range("2022-01-01", periods=n_t, freq="7D").values,
                            "band": ["LST", "EmisWB", "VV", "VH", "NDVI"],
                            "y": y, "x": x, "is_day": ("time", np.arange(n_t) % 2 == 0), "is_summer": ("time", np.zeros(n_t, bool)),
                            "local_solar_hour": ("time", np.full(n_t, 13.0)), "has_sar": ("time", np.zeros(n_t, bool)),
                            "has_ndvi": ("time", np.ones(n_t, bool))},
                    attrs={"crs": crs, "transform": list(GRID.transform)[:6], "complete": True})
    path = tmp_path / "cube.zarr"
    ds.to_zarr(path, mode="w", zarr_format=2, consolidated=True)
    return path, pattern.astype(np.uint8)


SPEC = RunSpec(area="made-up", variant="thermal_only", model="pattern", protocol="spatial", kind="cnn", bands=["LST", "EmisWB"],
               mean=[0.0, 0.97], std=[1.0, 0.01], patch_size=16, overlap=0.5, sequence_length=1, validity_channel=False,
               include_nodata=False, crs="EPSG:32630", pixel_size_m=70.0)


def test_reconstruction_of_a_known_pattern(tmp_path):
    cube_path, pattern = _cube(tmp_path)
    rec = reconstruct.reconstruct(PatternModel(), cube_path, SPEC, tmp_path / "maps", progress=False)
    assert len(rec.dates) == 6 and (rec.consensus_codes == pattern).all()
    # the probabilities are over the classes a map can choose: class 0's 0.1 / 13 is taken out and the rest rescaled
    assert np.allclose(rec.consensus_confidence, 0.9 / (1 - 0.1 / 13), atol=1e-5)
    codes, meta = maps.read_map(tmp_path / "maps" / rec.dates.loc[2, "classes_file"])
    assert (codes[:5, :7] == maps.NOT_MAPPED).all() and (codes[5:] == pattern[5:]).all()  # invalid pixels stay unmapped
    assert meta["crs"].to_string() == "EPSG:32630" and meta["transform"] == GRID.transform
    assert rec.dates["valid_share"].iloc[2] == pytest.approx(1 - 35 / (40 * 48))
    s = reconstruct.map_scores(rec.consensus_codes, pattern)
    assert s["oa"] == 1.0 and s["macro_f1"] == 1.0
    seq = dataclasses.replace(SPEC, kind="seq", sequence_length=3, variant="day")  # day = dates 0, 2, 4: one full sequence ends at 4
    rec2 = reconstruct.reconstruct(PatternModel(), cube_path, seq, tmp_path / "maps2", progress=False)
    assert list(rec2.dates["time_index"]) == [4] and (rec2.consensus_codes == pattern).all()
    p = ndvi.pairs(cube_path, tmp_path / "maps", pattern)
    assert p.dates == 6 and len(p.ndvi) == 6 * 40 * 48 - 35 and p.correct.all()
    # beside the consensus: its probabilities (a band per class the model gives any probability), entropy and margin
    import rasterio

    from rocksoil_nb.learn import calibration

    with rasterio.open(tmp_path / "maps" / "consensus_probabilities.tif") as src:
        assert src.count == 13 and src.descriptions[0] == "1 Sand"  # every class the model gives probability, class 0 not
    h, _ = maps.read_map(tmp_path / "maps" / "consensus_entropy.tif")
    m, _ = maps.read_map(tmp_path / "maps" / "consensus_margin.tif")
    assert np.nanmax(h) < 1.0 and np.nanmin(m) > 0.5 and (tmp_path / "maps" / "consensus_entropy.qml").exists()
    # a calibrator stored with the run is applied to every date: softer confidence, the same classes
    soft = reconstruct.reconstruct(PatternModel(), cube_path, SPEC, tmp_path / "maps3", progress=False, write_dates=False,
                                   calibrator=calibration.Temperature(3.0))
    assert (soft.consensus_codes == pattern).all() and np.nanmax(soft.consensus_confidence) < 0.9 - 0.1


def test_prediction_checks_refuse_mismatched_scenes(tmp_path):
    from rocksoil_nb.prepare.cube import open_cube

    cube_path, _ = _cube(tmp_path)
    ds = open_cube(cube_path)
    other = Grid("EPSG:32629", 0, 0, 70.0, 10, 10)
    with pytest.raises(predict.IncompatibleScenes, match="EPSG:32629.*EPSG:32630"):
        predict.check_grid(SPEC, other, tmp_path)
    with pytest.raises(predict.IncompatibleScenes, match="30 m pixels|pixels of 30"):
        predict.check_grid(SPEC, Grid("EPSG:32630", 0, 0, 30.0, 10, 10), tmp_path)
    with pytest.raises(predict.IncompatibleScenes, match="VV"):
        predict.check_cube(dataclasses.replace(SPEC, bands=["LST", "EmisWB", "VV", "VH"], variant="thermal_sar"), ds, tmp_path)
    with pytest.raises(predict.IncompatibleScenes, match="sequences of 5 dates but only 3"):
        predict.check_cube(dataclasses.replace(SPEC, kind="seq", sequence_length=5, variant="day", model="convlstm"), ds, tmp_path)
    predict.check_cube(SPEC, ds, tmp_path)  # fits
    with pytest.raises(FileNotFoundError, match="not a trained run"):
        predict.load_run(tmp_path)


# --------------------------------------------------------------------------- results tables


def _results():
    rows = []
    for proto, shift in (("thesis", 0.2), ("spatial", 0.0)):
        for m, oa, f1 in (("cnn", 0.6, 0.4), ("convlstm", 0.7, 0.5), ("pixel_rf", 0.5, 0.3), ("majority", 0.55, 0.05)):
            rows.append({"area": "puertollano", "profile": "standard", "variant": "thermal_only", "protocol": proto, "model": m,
                         "oa": oa + shift,
                         "f1": f1 + shift / 2, "majority_class": "Detritic" if m == "majority" else None})
    return pd.DataFrame(rows)


def test_results_table_has_baselines_gap_and_published_numbers():
    t = tables.results_table(_results(), "thermal_only")
    assert list(t.index.get_level_values("model")) == ["majority class (Detritic)", "per-pixel RF", "CNN", "ConvLSTM"]
    cnn = t.loc[("puertollano", "standard", "CNN")]
    assert cnn[("thesis protocol", "OA")] == pytest.approx(0.8) and cnn[("spatial protocol", "OA")] == pytest.approx(0.6)
    assert cnn[("gap thesis − spatial", "OA")] == pytest.approx(0.2) and cnn[("gap thesis − spatial", "F1")] == pytest.approx(0.1)
    assert cnn[("thesis published (its data)", "OA")] == pytest.approx(0.822)  # Table 10, final configuration
    assert np.isnan(t.loc[("puertollano", "standard", "per-pixel RF"), ("thesis published (its data)", "OA")])
    assert tables.published("day").loc[("villoslada", "convlstm"), "accuracy"] == pytest.approx(0.7424)
    assert len(tables.thesis_results()) == 48
    assert tables.colour(0.8).endswith(tables.GREEN) and tables.colour(0.6).endswith(tables.YELLOW)
    assert tables.colour(0.59).endswith(tables.RED) and tables.colour(np.nan) == ""
    gap = tables.protocol_gap(_results(), "puertollano")
    assert gap.loc[("thermal_only", "convlstm"), "OA gap"] == pytest.approx(0.2)
    assert "+0.200" in tables.gap_statement(gap)


# --------------------------------------------------------------------------- NDVI analysis


def test_pearson_recovers_a_known_correlation():
    rng = np.random.default_rng(3)
    n = 40_000
    x = rng.uniform(0, 0.8, n)
    noise = rng.normal(0, 0.1, n)
    y = 0.8 - 0.3 * x + noise
    true_r = -0.3 * x.std() / np.sqrt((0.3 * x.std()) ** 2 + 0.1**2)
    block = np.arange(n) // 100
    s = ndvi.pearson(x, y, block, n_boot=300)
    assert s["r"] == pytest.approx(true_r, abs=0.02) and s["r"] < -0.5
    assert s["slope"] == pytest.approx(-0.3, abs=0.02) and s["intercept"] == pytest.approx(0.8, abs=0.02)
    assert s["fisher_lo"] < s["r"] < s["fisher_hi"] and s["block_lo"] < true_r < s["block_hi"]
    assert s["blocks"] == 400
    flat = ndvi.pearson(x, rng.normal(size=n), block, n_boot=300)
    assert flat["block_lo"] < 0 < flat["block_hi"]


def test_ndvi_classes_follow_the_thesis_legend():
    k = ndvi.ndvi_class(np.array([-0.5, -0.1, 0.05, 0.15, 0.35, 0.65, 0.85]))
    assert [ndvi.NDVI_BINS[i][1].split(" (")[0] for i in k] == ["water", "bare soil/rock", "sparse vegetation", "low vegetation",
                                                                 "moderate-high", "very dense", "peak crop health"]
    p = ndvi.Pairs(np.array([0.05, 0.05, 0.5, 0.5]), np.array([0.9, 0.7, 0.4, 0.2]), np.array([True, False, True, True]),
                   np.array([True, True, True, False]), np.zeros(4, int), 1, np.zeros((1, 1)), np.zeros((1, 1)))
    t = ndvi.by_ndvi_class(p).set_index("NDVI class")
    assert t.loc["sparse vegetation (0-0.1)", "mean confidence"] == pytest.approx(0.8)
    assert t.loc["sparse vegetation (0-0.1)", "accuracy"] == pytest.approx(0.5) and t.loc["high (0.4-0.5)", "accuracy"] == 1.0


def test_class_zero_is_never_chosen_unless_included():
    p = np.zeros((2, 14), np.float32)
    p[0, [0, 3, 7]] = [0.5, 0.2, 0.3]
    p[1, [0, 2]] = [0.1, 0.9]
    k, conf = decide(p)
    assert list(k) == [7, 2] and conf[0] == pytest.approx(0.3) and conf[1] == pytest.approx(0.9)
    k0, conf0 = decide(p, include_nodata=True)
    assert list(k0) == [0, 2] and conf0[0] == pytest.approx(0.5)


def test_results_leave_out_folders_of_unknown_profiles(tmp_path):
    import dataclasses

    import pytest

    from rocksoil_nb import config
    from rocksoil_nb.analyse import results

    cfg = dataclasses.replace(config.load("demo", "quick"), workdir=tmp_path)
    for profile in ("quick", "my-copy"):
        run = cfg.layout.models_root / "demo" / profile / "thermal_only-cnn-spatial"
        run.mkdir(parents=True)
        (run / "metrics.json").write_text("{}")
    with pytest.warns(UserWarning, match="my-copy"):
        assert results.runs_with_results(cfg) == [("demo", "quick")]
