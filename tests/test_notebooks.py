"""Notebook tests: run every notebook through papermill on the demo area (quick profile) in a
temporary working folder, then check the files and values they produced."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio

pytestmark = pytest.mark.notebook


def _layout(work):
    """The demo area's paths (quick profile) under the test's working folder."""
    import dataclasses

    from rocksoil_nb import config

    return dataclasses.replace(config.load("demo", "quick").layout, workdir=work)


def _outputs(nb_path):
    nb = json.loads(nb_path.read_text())
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]


def test_notebooks_ran_without_errors(report_run):
    work, outs = report_run
    assert [p.name for p in outs] == ["01_acquire.ipynb", "02_labels.ipynb", "03_preprocess.ipynb", "04_signatures.ipynb",
                                      "05_patches.ipynb", "06_tune.ipynb", "07_train.ipynb", "08_evaluate.ipynb", "09_ndvi_analysis.ipynb"]
    for p in outs:
        kinds = [o["output_type"] for o in _outputs(p)]
        assert "error" not in kinds
        assert p.with_suffix(".html").exists()
        assert "WARNING:tensorflow" not in p.read_text(), f"{p.name}: TensorFlow's log spam in the executed notebook"
    images = [o for o in _outputs(outs[0]) if "image/png" in o.get("data", {})]
    assert images, "01_acquire shows its quick-looks"


def test_labels_written_on_thermal_grid(report_run):
    work, _ = report_run
    with rasterio.open(work / "data" / "demo" / "interim" / "labels.tif") as s:
        lab = s.read(1)
        assert s.crs.to_epsg() == 32630 and s.shape == (96, 96) and s.dtypes[0] == "uint8"
        assert s.transform.a == 70.0
    counts = np.bincount(lab.ravel(), minlength=14)
    assert counts.sum() == 96 * 96
    assert (counts[1:] > 0).sum() >= 12  # the demo map holds (nearly) every class
    assert 0 < counts[0] / counts.sum() < 0.1  # a small unmapped part
    truth = work / "data" / "demo" / "truth" / "geology_true_70m_majority.tif"
    with rasterio.open(truth) as s:
        agree = (s.read(1) == lab).mean()
    assert 0.5 < agree < 0.95  # the map is a generalised, displaced copy of the truth


def test_failing_notebook_is_reported(tmp_path, root, monkeypatch):
    from rocksoil_nb import report

    monkeypatch.setenv("ROCKSOIL_WORKDIR", str(tmp_path))  # no raw data here: 02 must fail clearly
    with pytest.raises(report.NotebookFailed, match="02_labels.ipynb") as e:
        report.run("demo", "quick", only=["02"], root=root)
    assert "run 01_acquire first" in str(e.value) or "no ECOSTRESS" in str(e.value)
    assert (tmp_path / "reports" / "demo" / "quick" / "02_labels.ipynb").exists()


def test_inventory_and_cube(report_run):
    import pandas as pd

    from rocksoil_nb.prepare import cube

    work, _ = report_run
    inv = pd.read_csv(work / "data" / "demo" / "interim" / "inventory.csv")
    assert len(inv) == 64 and 30 <= inv["kept"].sum() <= 50
    assert set(inv["daynight"]) == {"day", "night"} and set(inv["season"]) == {"winter", "summer"}
    assert inv.loc[~inv["kept"], "reason"].str.len().gt(0).all()
    ds = cube.open_cube(work / "data" / "demo" / "interim" / "cube.zarr")
    assert ds.sizes == {"time": int(inv["kept"].sum()), "band": 5, "y": 96, "x": 96}
    lst = ds["data"].sel(band="LST").values
    assert 250 < np.nanmedian(lst) < 330
    assert np.isnan(lst[ds["valid"].values == 0]).all()


def test_patch_datasets(report_run):
    from rocksoil_nb.learn import datasets
    from rocksoil_nb.prepare import patches
    from rocksoil_nb.prepare.manifest import DatasetManifest
    from rocksoil_nb.prepare.splits import PROTOCOLS

    work, _ = report_run
    lay = _layout(work)
    assert lay.patches_root.name.startswith("16px-")
    for v in patches.VARIANTS:
        m = DatasetManifest.read(lay.patches_dir(v))
        assert m.patch_size == 16 and m.kinds["cnn"].samples > 0
    m = DatasetManifest.read(lay.patches_dir("thermal_only"))
    for proto in PROTOCOLS:
        c = m.protocol("cnn", proto).counts
        assert c["train"] > c["test"] > 0 and c["val"] > 0
        assert len(m.protocol("cnn", proto).norm.mean) == 2
    # the demo's spatial protocol is meaningful: every class of the test blocks has training pixels
    px = m.protocol("cnn", "spatial").class_pixels
    assert m.spatial.classes_missing_in_train == []
    assert all(px["train"][k] > 0 for k in range(1, 14) if px["test"][k] > 0)
    d = datasets.PatchData(lay.patches_dir("thermal_only"), "thesis", "val", "seq", batch_size=3)
    x, y, w = d[0]
    assert x.shape == (3, 5, 16, 16, 2) and y.shape == (3, 16, 16) and np.isfinite(x).all()
    assert set(np.unique(y)) <= set(range(14)) and 0 <= w.mean() <= 1


def test_tuning_and_training_outputs(report_run):
    import optuna

    work, _ = report_run
    models = _layout(work).models_dir
    study = optuna.load_study(study_name="demo-thermal_only-cnn-spatial", storage=f"sqlite:///{models / 'optuna.db'}")
    assert len([t for t in study.trials if t.state.is_finished()]) == 2
    best = json.loads((models / "best_params.json").read_text())
    assert set(best["hyperparameters"]) == {"learning_rate", "l2", "batch_size", "base_filters", "focal_gamma"}
    runs = sorted(p.parent.name for p in models.glob("*-*-*/metrics.json"))
    models_run = ("cnn", "convlstm", "pixel_series", "pixel_focal")  # the per-pixel RF is in the standard profile (budget)
    assert runs == sorted(f"thermal_only-{m}-{p}" for m in models_run for p in ("thesis", "spatial"))
    for r in runs:
        res = json.loads((models / r / "metrics.json").read_text())
        assert 0.0 <= res["test"]["oa"] <= 1.0 and len(res["test"]["confusion"]) == 14
        man = json.loads((models / r / "manifest.json").read_text())
        assert man["class_0_in_loss_and_metrics"] is False and man["seed"] == 0


def test_demo_shows_learning_under_both_protocols(report_run):
    """The best deep model beats the majority-class row on OA and macro-F1 by a clear margin (quick profile). (The
    whole-year models, ``pixel_series`` and ``tae``, beat the T = 5 deep models on the simulated areas' spatial
    protocol: see the README; the one-date per-pixel forest runs in the standard profile.)"""
    import pandas as pd

    work, _ = report_run
    t = pd.read_csv(_layout(work).tables_dir / "results_thermal_only.csv", header=[0, 1], index_col=[0, 1, 2])
    names = list(t.index.get_level_values(2))
    deep = [i for i, n in enumerate(names) if n in ("CNN", "ConvLSTM", "U-TAE")]
    base = [i for i, n in enumerate(names) if n.startswith("majority class")]
    assert len(deep) == 2 and len(base) == 1 and "per-pixel series" in names
    for proto in ("thesis protocol", "spatial protocol"):
        for score in ("OA", "F1"):
            v = t[(proto, score)].to_numpy(float)
            assert v[deep].max() > v[base].max() + 0.03, (proto, score, dict(zip(names, v)))


def test_explorers_draw_static_figures_in_the_report(report_run):
    work, _ = report_run
    for name, what in (("04_signatures.ipynb", "Signature explorer"), ("08_evaluate.ipynb", "Map explorer")):
        nb = json.loads((work / "reports" / "demo" / "quick" / name).read_text())
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and "explorer(aoi, profile)" in "".join(c["source"]))
        kinds = [k for o in cell["outputs"] for k in o.get("data", {})]
        text = json.dumps(cell["outputs"])
        assert f"{what}: the first view" in text and kinds.count("image/png") >= 1, (name, kinds)
        assert "application/vnd.jupyter.widget-view+json" not in kinds
        page = (work / "reports" / "demo" / "quick" / name).with_suffix(".html").read_text()
        at = page.index(f"{what}: the first view")  # the HTML report carries the picture right after the note
        assert "data:image/png;base64," in page[at : at + 20000], name


def test_demo_report_keeps_its_cpu_budget(report_run):
    """A change that makes the demo report much costlier fails here, not on a user's laptop: the kernels' CPU time
    (independent of what else the machine runs) must stay under CPU_MARGIN x the profile's budget."""
    import pandas as pd

    from rocksoil_nb import config, report

    work, outs = report_run
    cfg = config.load("demo", "quick")
    t = pd.read_csv(work / "reports" / "demo" / "quick" / report.TIMING)
    assert list(t["notebook"]) == [p.name for p in outs]  # every notebook timed
    assert (t["cpu_s"] > 0).all() and (t["wall_s"] > 0).all()
    cpu = float(t["cpu_s"].sum())
    assert cpu <= report.CPU_MARGIN * cfg.profile.budget_minutes * 60, (
        f"the demo report took {cpu:.0f} CPU-s, over {report.CPU_MARGIN} x its {cfg.profile.budget_minutes:g}-minute budget:\n{t}")


def test_the_documented_demo_table_is_what_a_fresh_report_writes(report_run, root):
    """The documentation's demo table (``docs/results.md``, rendered by ``make results-readme``) against the table this
    test session's demo report wrote. Tolerance of each cell: twice that row's standard deviation over three training
    seeds, as the documentation's generated seeds table measured it on the demo (``make results-readme SEEDS="0 1 2"``)
    — how much a row moves on another machine, where float sums differ and training takes another path — and at least
    0.002 (rounding); rows that do not depend on the seed (the majority guess) must agree to that. On the machine the
    table was generated on, the numbers are identical. A change that moves them must regenerate it (make report && make
    results-readme)."""
    from rocksoil_nb.analyse import readme_tables

    work, _ = report_run
    text = readme_tables.holding(root, "demo", "quick", "thermal_only").read_text()
    fresh = readme_tables.numbers(readme_tables.markdown(readme_tables.read_table(work / "reports" / "demo" / "quick", "thermal_only")))
    readme = readme_tables.numbers(readme_tables.between(text, "demo", "quick", "thermal_only"))
    spread = readme_tables.seed_tolerances(text, "demo", "quick", "thermal_only")
    assert readme, "the documentation has no generated demo table between its markers"
    assert spread and max(spread.values()) > 0, "the documentation has no measured seed spread for the demo"
    assert fresh.keys() == readme.keys(), "the documented demo table has other rows or columns than a fresh report's"
    off = {k: (readme[k], fresh[k]) for k in fresh if abs(fresh[k] - readme[k]) > max(2 * spread.get(k, 0.0), 0.002)}
    assert not off, f"the documented demo table is not what a fresh report writes: {off}; run make report && make results-readme"


def test_08_states_intervals_against_the_majority_guess(report_run):
    nb = (report_run[0] / "reports" / "demo" / "quick" / "08_evaluate.ipynb").read_text()
    assert "paired bootstrap of the held-out units" in nb and "under the thesis protocol" in nb
    assert "better than" in nb or "not distinguishable" in nb or "worse than" in nb


def test_plan_estimate_printed_and_recorded(report_run):
    import pandas as pd

    from rocksoil_nb.learn import registry

    work, outs = report_run
    models = _layout(work).models_dir
    plan = pd.read_csv(models / "plan.csv")
    assert len(plan) == 8 and (plan["estimated_s"] > 0).all() and (plan["measured_s"] > 0).all()
    deep = plan[plan.model.map(registry.is_deep)]
    assert (deep["epochs"] == 10).all() and (deep["train_samples"] > 0).all()
    nb = (work / "reports" / "demo" / "quick" / "07_train.ipynb").read_text()
    assert "runs planned" in nb and "estimated" in nb and "measured / estimated" in nb
    assert "The whole report: about" in nb and "01-06 took" in nb and "budget 5 min" in nb


def test_evaluation_tables_and_maps(report_run):
    import pandas as pd

    from rocksoil_nb.infer import maps
    from rocksoil_nb.learn import registry

    work, outs = report_run
    rep = _layout(work).reports_dir
    t = pd.read_csv(rep / "tables" / "results_thermal_only.csv", header=[0, 1], index_col=[0, 1, 2])
    assert set(t.index.get_level_values(1)) == {"quick"}  # every row names its profile
    models = list(t.index.get_level_values(2))
    assert models[0].startswith("majority class (") and "per-pixel series" in models and "CNN" in models and "ConvLSTM" in models
    for proto in ("thesis protocol", "spatial protocol"):
        vals = t[(proto, "OA")].to_numpy(float)
        assert np.isfinite(vals).all() and ((0 <= vals) & (vals <= 1)).all()
    assert "background-color: #" in (rep / "tables" / "results_thermal_only.html").read_text()
    runs = {r.name.split("-")[1]: r for r in (rep / "maps").iterdir()}
    dates = pd.read_csv(runs["convlstm"] / "dates.csv")  # 09's windows model: quick maps every date
    assert len(dates) >= 30 and dates["ratio"].between(0.5, 2.0).all()  # averaging windows leaves no seams
    # 08 maps the best of all models by spatial macro-F1 (on the demo a per-pixel whole-series one: one map of the series)
    spatial = t[("spatial protocol", "F1")].droplevel([0, 1]).drop(index=[m for m in models if m.startswith("majority")])
    mapped = [r for r in runs.values() if (r / "consensus_aoa.tif").exists()]
    assert len(mapped) == 1 and registry.title(mapped[0].name.split("-")[1]) == spatial.idxmax()
    run = mapped[0]
    series = pd.read_csv(run / "dates.csv")
    assert len(series) == 1 and series.loc[0, "dates_in_series"] == len(dates) + 4  # the ConvLSTM skips its first T-1 = 4
    codes, meta = maps.read_map(run / "consensus_classes.tif")
    with rasterio.open(work / "data" / "demo" / "interim" / "labels.tif") as s:
        assert meta["crs"] == s.crs and meta["transform"] == s.transform and codes.shape == s.shape
        s_labels = s.read(1)
    assert set(np.unique(codes)) <= set(range(14)) | {255} and (run / "consensus_classes.qml").exists()
    conf, _ = maps.read_map(run / "consensus_confidence.tif")
    assert np.nanmin(conf) >= 1 / 14 - 1e-6 and np.nanmax(conf) <= 1
    # 08 fitted the mapped run's calibrator on its validation split, stored it, measured ECE before and after, and the
    # maps carry the (calibrated) probabilities, their entropy and margin
    h, _ = maps.read_map(run / "consensus_entropy.tif")
    assert np.nanmin(h) >= 0 and np.nanmax(h) <= np.log2(14) + 1e-5 and (run / "consensus_probabilities.qml").exists()
    assert (_layout(work).models_dir / run.name / "calibration.joblib").exists()
    nb08 = (rep / "08_evaluate.ipynb").read_text()
    assert "ECE" in nb08 and "off by" in nb08
    # and the area of applicability: DI ≥ 0 on the grid, 0 on the training pixels themselves, an AOA map of 0/1 (255 unmapped)
    di, _ = maps.read_map(run / "consensus_di.tif")
    inside, _ = maps.read_map(run / "consensus_aoa.tif")
    assert np.nanmin(di) == 0 and set(np.unique(inside)) <= {0, 1, 255} and (inside == 1).any()
    assert "outside the area of applicability" in nb08 and "DI" in nb08
    # what the mapped whole-series run looks at: every input group shuffled, a drop with its interval, and the sentence
    imp = pd.read_csv(rep / "tables" / f"importance_{run.name}.csv")
    assert {"band", "day / night", "season", "month"} <= set(imp["grouping"]) and "LST (scene anomaly)" in set(imp["group"])
    assert np.isfinite(imp["drop"]).all() and imp["drop"].max() > 0.02
    assert ((imp["lo"] <= imp["drop"] + 1e-9) & (imp["drop"] <= imp["hi"] + 1e-9) | imp["lo"].isna()).all()  # NaN: < 3 blocks
    assert "Permutation importance of" in nb08 and ("U-TAE's attention" in nb08 or "No finished U-TAE run" in nb08)
    # 09's correlation is the Pearson r of the (NDVI, confidence) pairs of the mapped run, recomputed here from its files,
    # and its block-bootstrap interval holds it and is no narrower than Fisher's (neighbouring pixels are not independent)
    from rocksoil_nb.analyse import ndvi

    f = pd.read_csv(rep / "tables" / "ndvi_findings.csv")
    mapped = [d for d in (rep / "maps").iterdir() if registry.title(d.name.split("-")[1]) == f.loc[0, "model"]]
    assert f.loc[0, "area"] == "demo" and len(mapped) == 1
    layout = _layout(work)
    p = ndvi.pairs(layout.cube_for("thermal_only"), mapped[0], s_labels, include_nodata=False)
    stats = ndvi.pearson(p.ndvi, p.confidence, p.block)
    assert f.loc[0, "pixels"] == len(p.ndvi) > 10_000 and abs(f.loc[0, "r"] - np.corrcoef(p.ndvi, p.confidence)[0, 1]) < 5e-4
    lo, hi = (float(v) for v in f.loc[0, "r 95% (block bootstrap)"].split(" … "))
    assert lo <= f.loc[0, "r"] <= hi and hi - lo >= stats["fisher_hi"] - stats["fisher_lo"]


def test_predict_on_the_demo_scenes_reproduces_the_evaluation_maps(report_run, tmp_path):
    from rocksoil_nb import cli
    from rocksoil_nb.infer import maps

    work, _ = report_run
    runs = sorted((_layout(work).reports_dir / "maps").iterdir())
    # 08 maps the best model (on the demo a per-pixel whole-series one), 09 the ConvLSTM: predict reproduces both
    assert "convlstm" in {r.name.split("-")[1] for r in runs} and {r.name.split("-")[1] for r in runs} & {"pixel_series", "pixel_focal"}
    for run in runs:
        model_dir = _layout(work).models_dir / run.name
        out = tmp_path / f"pred_{run.name}"
        rc = cli.main(["predict", "--model", str(model_dir), "--scenes", str(work / "data" / "demo" / "raw" / "ecostress"),
                       "--out", str(out), "--quiet"])
        assert rc == 0
        a, meta_a = maps.read_map(run / "consensus_classes.tif")
        b, meta_b = maps.read_map(out / "maps" / "consensus_classes.tif")
        assert meta_a["crs"] == meta_b["crs"] and meta_a["transform"] == meta_b["transform"]
        assert (a == b).all() and (a != maps.NOT_MAPPED).mean() > 0.9, run.name
        ca, _ = maps.read_map(run / "consensus_confidence.tif")
        cb, _ = maps.read_map(out / "maps" / "consensus_confidence.tif")
        assert np.allclose(ca, cb, equal_nan=True, atol=1e-6)
        assert len(pd.read_csv(out / "maps" / "dates.csv")) == len(pd.read_csv(run / "dates.csv"))
    short = tmp_path / "short"
    short.mkdir()
    eco = sorted((work / "data" / "demo" / "raw" / "ecostress").glob("*.tif"))
    first = sorted({p.name.split("_doy")[1][:13] for p in eco})[:2]
    for p in eco:
        if p.name.split("_doy")[1][:13] in first:
            (short / p.name).symlink_to(p)
    seq_model = _layout(work).run_dir("thermal_only", "convlstm", "spatial")  # needs 5 dates: 2 passes are refused clearly
    assert cli.main(["predict", "--model", str(seq_model), "--scenes", str(short), "--out", str(tmp_path / "p2"), "--quiet"]) == 2


def test_report_index_links_notebooks_tables_maps_and_the_documentation(report_run, root):
    import re
    from pathlib import Path

    work, _ = report_run
    rep = _layout(work).reports_dir
    page = (rep / "index.html").read_text()
    for name in ("01_acquire.html", "08_evaluate.html", "09_ndvi_analysis.html", "tables/results_thermal_only.html",
                 "consensus_classes.tif"):
        assert name in page
    assert "thesis" in page and "spatial" in page
    chapters = re.findall(r'href="([^"]*tutorials/0[1-9]_\w+\.html)"', page)
    assert len(chapters) == 9  # each notebook links its chapter of the documentation site (docs/_build/html)
    assert all((rep / c).resolve() == (root / "docs" / "_build" / "html" / "tutorials" / Path(c).name).resolve() for c in chapters)


def test_explorer_without_a_browser(report_run, monkeypatch, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rocksoil_nb.learn import calibration
    from rocksoil_nb.viz import widgets

    work, _ = report_run
    monkeypatch.setenv("ROCKSOIL_WORKDIR", str(work))
    ex = widgets.Explorer("demo", "quick")
    assert ex.missing == [] and "thermal_only-convlstm-spatial" in ex.runs
    ex.run, ex.t, ex.row, ex.col = "thermal_only-convlstm-spatial", len(ex.times) - 1, 10, 20
    dm, why = ex.prediction()
    assert why == "" and dm.probs.shape == (96, 96, 14) and np.allclose(dm.probs[10, 20].sum(), 1, atol=1e-4)
    assert len(ex.maps_figure().axes) >= 4 and len(ex.pixel_figure().axes) >= 3
    series = ex.pixel_series()
    assert len(series) == len(ex.times) and 250 < series["LST"].median() < 330 and set(series["daynight"]) == {"day", "night"}
    ex.t = 1  # a sequence model cannot map the second date: it says so
    dm, why = ex.prediction()
    assert dm is None and "earlier dates" in why
    assert "no prediction" in ex.status()
    # the mapped whole-series run: one map whatever the date, its stored calibration applied, 08's AOA beside it
    ex.run = next(r.name for r in (work / "reports" / "demo" / "quick" / "maps").iterdir() if (r / "consensus_aoa.tif").exists())
    assert ex.run.split("-")[1] in ("pixel_series", "pixel_focal")
    first, _ = ex.prediction()
    ex.t = len(ex.times) - 1
    last, _ = ex.prediction()
    assert first is last and first.valid.mean() > 0.9 and ex.aoa() is not None
    cal = calibration.stored(work / "models" / "demo" / "quick" / ex.run)
    assert cal is not None and type(cal) in calibration.METHODS.values()
    assert len([a for a in ex.maps_figure().axes if a.get_title()]) >= 8  # classes, confidence, P(true), entropy, margin, AOA
    box = widgets.explorer("demo", "quick")
    assert box.explorer.cfg.name == "demo" and len(box.children) == 8  # controls, info, maps, pixel, web map
    sig = widgets.signature_explorer("demo", "quick")
    assert len(sig.children) == 2
    ex_sig = sig.explorer
    for band in widgets.BANDS:  # every toggle combination draws (the season toggle used to raise)
        for passes in widgets.PASSES:
            for season in widgets.SEASONS:
                fig = ex_sig.figure(ex_sig.present[:2], band, passes, season)
                assert fig.axes and fig.axes[0].get_title().endswith(f"{band}, {passes}, {season}")
                plt.close(fig)
    pick, band_w, dn_w, season_w = sig.children[0].children[0], *sig.children[0].children[1].children
    for w, value in ((season_w, "summer"), (season_w, "winter"), (dn_w, "night"), (band_w, "EmisWB"), (pick, tuple(ex_sig.present[:3]))):
        w.value = value  # drives the widget callbacks (outside a kernel they run synchronously: an exception surfaces here)
    monkeypatch.setenv("ROCKSOIL_WORKDIR", str(tmp_path))  # nothing there: the explorer names what is missing
    empty = widgets.Explorer("demo", "quick")
    assert any("no scenes" in m for m in empty.missing) and any("no trained model" in m for m in empty.missing)
    empty.maps_figure()
    assert "Nothing to explore yet" in widgets.signature_explorer("demo", "quick").value


def test_experiments_command_reuses_finished_runs_and_writes_tables(report_run, monkeypatch, capsys):
    from rocksoil_nb import cli

    work, _ = report_run
    monkeypatch.setenv("ROCKSOIL_WORKDIR", str(work))
    before = {p: p.stat().st_mtime for p in _layout(work).models_dir.glob("*-*-*/metrics.json")}
    assert cli.main(["experiments", "--aoi", "demo", "--profile", "quick"]) == 0
    out = capsys.readouterr().out
    assert "majority class" in out and "thesis-style tables" in out and "paired bootstrap of the held-out units" in out
    assert before == {p: p.stat().st_mtime for p in _layout(work).models_dir.glob("*-*-*/metrics.json")}  # resumable: nothing retrained
    assert (_layout(work).tables_dir / "results_thermal_only.csv").exists()
