"""Intervals that resample the held-out units, not pixels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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


@pytest.mark.extra  # trains a deep run (15-50 s): outside make test's 10 minutes, CI runs it (make test-extra)
def test_a_trained_run_keeps_its_test_confusions_per_unit(trained_demo, tmp_path):
    import json

    from rocksoil_nb.learn import train
    from rocksoil_nb.learn.runs import read_units, unit_kind

    for model, protocol in (("cnn", "spatial"), ("cnn", "thesis"), ("pixel_rf", "spatial"), ("pixel_series", "spatial"),
                            ("pixel_series", "thesis")):
        out = tmp_path / f"thermal_only-{model}-{protocol}"
        train.train(trained_demo, "thermal_only", model, protocol, epochs=1, max_samples=16, out_dir=out, verbose=0)
        units, confs = read_units(out)
        total = np.array(json.loads((out / "metrics.json").read_text())["test"]["confusion"])
        assert (confs.sum(0) == total).all()  # the units partition the test pixels
        point, lo, hi = intervals.bootstrap(confs)["oa"]
        # the whole-series baseline predicts a test period at once: its units are blocks under a date protocol too
        assert unit_kind(out) == ("date" if protocol == "thesis" and model != "pixel_series" else "block")
        if unit_kind(out) == "date":
            assert len(units) > 1 and lo <= point <= hi  # several test dates
        elif protocol == "spatial":  # the 96 px demo holds out one 32 px block: one unit, so no interval is claimed
            assert len(units) == 1 and np.isnan(lo) and np.isnan(hi)
        else:  # the whole area over the test period: its 3 x 3 blocks
            assert len(units) == 9 and lo <= point <= hi and hi > lo
        # a run that lost its units (or predates them) gets them back from its saved model, the same
        (out / "test_units.npz").unlink()
        assert train.rescore_units(trained_demo, out) and not train.rescore_units(trained_demo, out)
        again = read_units(out)
        assert (again[0] == units).all() and (again[1] == confs).all()


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
    cfg = types.SimpleNamespace(classes=types.SimpleNamespace(include_nodata=False), profile=types.SimpleNamespace(seeds=[0]),
                                layout=types.SimpleNamespace(run_dirs=lambda seeds=(0,): dirs))
    monkeypatch.setattr(results, "majority_class", lambda cfg, v, p, kind="cnn": 1)
    t = intervals.versus_baselines(cfg, "thermal_only").set_index("model")
    assert (t.drop(index="per-pixel series")["best baseline"] == "per-pixel series").all()
    assert t.loc["per-pixel series", "verdict (macro-F1)"] == "a baseline"
    assert t.loc["CNN", "verdict (macro-F1)"] == "better than per-pixel series"
    assert t.loc["ConvLSTM", "verdict (macro-F1)"].startswith(("not distinguishable", "worse", "better"))
    said = intervals.statement(t.reset_index(), "thermal_only")
    assert "under the spatial protocol: CNN (12 blocks) better than per-pixel series;" in said


def test_batch_scores_are_the_metrics_scores():
    from rocksoil_nb.learn import metrics

    rng = np.random.default_rng(5)
    cms = rng.integers(0, 30, size=(20, 14, 14)) * (rng.random((20, 14, 14)) < 0.4)
    cms[3, 5] = 0  # a class absent from the reference
    for include0 in (False, True):
        fast = intervals.batch_scores(cms, include0)
        for k in range(len(cms)):
            s = metrics.scores(cms[k], include0)
            assert np.allclose(fast[k], [s["oa"], s["macro_f1"], s["miou"]], atol=1e-12)


def test_seeds_mean_spread_and_the_interval_of_the_mean():
    rng = np.random.default_rng(2)
    y = rng.integers(1, 4, size=(10, 200))
    runs = []
    for right in (0.5, 0.6, 0.7):  # three 'seeds' of one model on the same ten blocks
        pred = np.where(rng.random(y.shape) < right, y, 0)
        runs.append(intervals.unit_confusions(y, pred, np.ones_like(y, bool), np.arange(10))[1])
    one = intervals.bootstrap(runs[0])
    assert intervals.bootstrap(np.stack([runs[0]] * 3)) == one  # identical seeds: the single run's numbers
    assert intervals.seed_spread(np.stack([runs[0]] * 3))["oa"] == 0.0
    three = intervals.bootstrap(np.stack(runs))
    singles = [intervals.bootstrap(r)["oa"][0] for r in runs]
    assert three["oa"][0] == pytest.approx(np.mean(singles))
    assert three["oa"][1] <= three["oa"][0] <= three["oa"][2]
    assert intervals.seed_spread(np.stack(runs))["oa"] == pytest.approx(np.std(singles, ddof=1))


def test_a_table_cell_says_value_interval_and_seeds():
    from rocksoil_nb.analyse import results

    assert results.cell(0.4591, 0.41, 0.503) == "0.459 [0.410, 0.503]"
    assert results.cell(0.4591, 0.41, 0.503, 0.0213, 3) == "0.459 ± 0.021 (3 seeds) [0.410, 0.503]"
    assert results.cell(0.4591, np.nan, np.nan, 0.0, 1) == "0.459"  # one unit: no interval is claimed
    assert results.cell(np.nan) == "–"


def test_runs_of_several_seeds_become_one_row_with_its_spread(tmp_path, monkeypatch):
    """Runs of seeds 0 and 1 in their folders (models/.../seed1/...) are one row: the mean, the spread, the interval of
    the mean; the majority guess is derived on the units of the protocol's own kind."""
    import types

    from rocksoil_nb.analyse import results
    from rocksoil_nb.config.layout import Layout
    from rocksoil_nb.learn.runs import RunResult, save_units

    layout = Layout(tmp_path, "demo", "quick")
    rng = np.random.default_rng(4)
    y = rng.integers(1, 5, size=(8, 300))
    for seed, right in ((0, 0.8), (1, 0.7)):
        d = layout.run_dir("thermal_only", "cnn", "spatial", seed)
        d.mkdir(parents=True)
        pred = np.where(rng.random(y.shape) < right, y, 6)
        ids, confs = intervals.unit_confusions(y, pred, np.ones_like(y, bool), np.arange(8))
        RunResult(d.name, "thermal_only", "cnn", "spatial", 1, {"confusion": confs.sum(0).tolist()}, 8, 8, seed=seed).write(d)
        save_units(d, ids, confs, "spatial")
    assert layout.run_dirs()[0].parent == layout.models_dir and len(layout.run_dirs([0, 1])) == 2
    cfg = types.SimpleNamespace(classes=types.SimpleNamespace(include_nodata=False), profile=types.SimpleNamespace(seeds=[0, 1]),
                                layout=layout)
    monkeypatch.setattr(results, "majority_class", lambda cfg, v, p, kind="cnn": 2)
    t = intervals.summary(cfg).set_index("model")
    assert t.loc["cnn", "seeds"] == 2 and t.loc["cnn", "units"] == 8 and t.loc["cnn", "unit"] == "block"
    assert t.loc["cnn", "oa_sd"] > 0 and t.loc["cnn", "oa_lo"] <= t.loc["cnn", "oa"] <= t.loc["cnn", "oa_hi"]
    assert t.loc["majority", "oa"] == pytest.approx((y == 2).mean())
    cfg.profile.seeds = [0]
    assert intervals.summary(cfg).set_index("model").loc["cnn", "oa_sd"] == 0.0  # the profile's seeds only


def test_readme_tables_write_intervals_and_read_the_seed_spread():
    from rocksoil_nb.analyse import readme_tables, results

    rows = []
    for proto in ("thesis", "spatial"):
        for m, oa in (("majority", 0.3), ("cnn", 0.6)):
            rows.append({"area": "demo", "profile": "quick", "variant": "thermal_only", "protocol": proto, "model": m, "oa": oa,
                         "f1": oa / 2, "oa_lo": oa - 0.1, "oa_hi": oa + 0.05, "majority_class": "Detritic" if m == "majority" else None})
    t = results.results_table(pd.DataFrame(rows), "thermal_only").droplevel([0, 1])
    md = readme_tables.markdown(t)
    assert "published" not in md  # the demo has no published numbers: no empty columns
    assert "| CNN | **0.600 [0.500, 0.650]** | **0.300** |" in md
    assert readme_tables.numbers(md)[("CNN", "thesis OA")] == 0.6
    readme = ("x\n<!-- seeds:demo:quick:thermal_only -->\n| protocol | model | seeds | OA mean | OA sd | F1 mean | F1 sd |\n"
              "|---|---|---|---|---|---|---|\n| spatial | CNN | 3 | 0.200 | 0.021 | 0.100 | 0.034 |\n"
              "| thesis | CNN | 3 | 0.400 | 0.011 | 0.200 | 0.009 |\n<!-- /seeds:demo:quick:thermal_only -->\n")
    tol = readme_tables.seed_tolerances(readme, "demo", "quick", "thermal_only")
    assert tol == {("CNN", "spatial OA"): 0.021, ("CNN", "spatial F1"): 0.034, ("CNN", "thesis OA"): 0.011, ("CNN", "thesis F1"): 0.009}
    assert readme_tables.seed_tolerances("no table", "demo", "quick", "thermal_only") == {}
