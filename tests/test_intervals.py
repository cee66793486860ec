"""Intervals that resample the held-out units, not pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rocksoil_nb.analyse import intervals


def _blocks(correct: list[bool], pixels: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Few blocks of many pixels, each block all right or all wrong (pixels of a block are perfectly correlated)."""
    y = np.full((len(correct), pixels), 3, np.int64)
    p = np.where(np.array(correct)[:, None], 3, 5) * np.ones((1, pixels), np.int64)
    return y, p, np.ones_like(y, bool), np.repeat(np.arange(len(correct)), 1)


def test_the_block_bootstrap_is_wide_where_the_pixel_bootstrap_is_falsely_narrow():
    y, p, m, units = _blocks([True, True, True, False, False, True])
    _, by_block = intervals.unit_confusions(y, p, m, units)
    _, by_pixel = intervals.unit_confusions(y.reshape(-1, 1), p.reshape(-1, 1), m.reshape(-1, 1), np.arange(y.size))
    oa_b, lo_b, hi_b = intervals.bootstrap(by_block)["oa"]
    oa_p, lo_p, hi_p = intervals.bootstrap(by_pixel)["oa"]
    assert oa_b == oa_p == 4 / 6
    assert hi_p - lo_p < 0.06  # 6000 'independent' pixels: an interval of a few hundredths
    assert hi_b - lo_b > 0.5  # 6 blocks: the honest interval spans most of [0, 1]


def test_a_paired_difference_of_identical_predictions_is_exactly_zero():
    y, p, m, units = _blocks([True, False, True, True, False, True, True])
    _, c = intervals.unit_confusions(y, p, m, units)
    d = intervals.paired(c, c)
    assert all(v == (0.0, 0.0, 0.0) for v in d.values())
    assert intervals.verdict(d["oa"], "the majority class") == "not distinguishable from the majority class"


def test_paired_against_the_majority_class_and_the_verdicts():
    rng = np.random.default_rng(0)
    y = rng.integers(1, 4, size=(20, 50))
    good = np.where(rng.random((20, 50)) < 0.9, y, 0)  # 90 % right in every block
    _, c = intervals.unit_confusions(y, good, np.ones_like(y, bool), np.arange(20))
    major = intervals.majority_confusions(c, 2)
    assert major.sum() == c.sum() and (major[:, :, 2].sum(1) == c.sum((1, 2))).all()
    d = intervals.paired(c, major)
    assert d["oa"][1] > 0 and intervals.verdict(d["oa"], "the majority class") == "better than the majority class"
    assert intervals.verdict(intervals.paired(major, c)["oa"], "CNN") == "worse than CNN"
    again = intervals.bootstrap(c)
    assert again == intervals.bootstrap(c)  # seeded: the same numbers in every run


def test_units_of_samples_by_protocol():
    s = pd.DataFrame({"row": [0, 10, 40, 70], "col": [0, 33, 0, 70], "t": [3, 3, 5, 9]})
    assert list(intervals.sample_units(s, "thesis")) == [3, 3, 5, 9]
    blocks = intervals.sample_units(s, "spatial", block_px=32)
    assert blocks[0] != blocks[1] and blocks[2] == 1_000_000 and len(set(blocks)) == 4
    seq = pd.DataFrame({"row": [0], "col": [0], "t0": [1], "t1": [2], "t2": [7]})
    assert list(intervals.sample_units(seq, "thesis")) == [7]  # the label's date: the last frame


def test_a_trained_run_keeps_its_test_confusions_per_unit(trained_demo, tmp_path):
    import json

    from rocksoil_nb.learn import train
    from rocksoil_nb.learn.runs import read_units

    for model, protocol in (("cnn", "spatial"), ("cnn", "thesis"), ("pixel_rf", "spatial"), ("pixel_series", "spatial")):
        out = tmp_path / f"thermal_only-{model}-{protocol}"
        train.train(trained_demo, "thermal_only", model, protocol, epochs=1, max_samples=16, out_dir=out, verbose=0)
        units, confs = read_units(out)
        total = np.array(json.loads((out / "metrics.json").read_text())["test"]["confusion"])
        assert (confs.sum(0) == total).all()  # the units partition the test pixels
        point, lo, hi = intervals.bootstrap(confs)["oa"]
        if protocol == "thesis":
            assert len(units) > 1 and lo <= point <= hi  # several test dates
        else:  # the 96 px demo holds out one 32 px block: one unit, so no interval is claimed
            assert len(units) == 1 and np.isnan(lo) and np.isnan(hi)


def test_each_model_against_the_best_baseline_row(tmp_path, monkeypatch):
    """A model clearly above the whole-series baseline is 'better than' it; one equal to it is 'not distinguishable';
    the baseline rows are marked as such; the majority guess is derived on the same units."""
    import types

    from rocksoil_nb.analyse import results
    from rocksoil_nb.learn.runs import RunResult, save_units

    rng = np.random.default_rng(1)
    y = rng.integers(1, 5, size=(12, 400))
    units = np.arange(12)

    def run(name, model, right):
        d = tmp_path / name
        d.mkdir()
        pred = np.where(rng.random(y.shape) < right, y, 6)
        ids, confs = intervals.unit_confusions(y, pred, np.ones_like(y, bool), units)
        RunResult(name, "thermal_only", model, "spatial", 1, {"confusion": confs.sum(0).tolist()}, 12, 12).write(d)
        save_units(d, ids, confs, "spatial")
        return d

    dirs = [run("a", "pixel_series", 0.6), run("b", "cnn", 0.9), run("c", "convlstm", 0.6)]
    cfg = types.SimpleNamespace(classes=types.SimpleNamespace(include_nodata=False),
                                layout=types.SimpleNamespace(run_dirs=lambda: dirs))
    monkeypatch.setattr(results, "majority_class", lambda cfg, v, p, kind="cnn": 1)
    t = intervals.versus_baselines(cfg, "thermal_only").set_index("model")
    assert (t["best baseline"] == "per-pixel series").all()
    assert t.loc["per-pixel series", "verdict (macro-F1)"] == "a baseline"
    assert t.loc["CNN", "verdict (macro-F1)"] == "better than per-pixel series"
    assert t.loc["ConvLSTM", "verdict (macro-F1)"].startswith(("not distinguishable", "worse", "better"))
    said = intervals.statement(t.reset_index(), "thermal_only")
    assert "against its best baseline, per-pixel series: CNN better than" in said
