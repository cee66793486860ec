"""The bad-input catalogue (issue 15): what a careless user can do, and the clear message each case must give.

Every test asserts the new behaviour: an error naming the file or key and what is wrong, a non-zero exit code from
the CLI, no traceback for a user's mistake, inputs untouched, no partial output that a rerun would reuse.
"""

from __future__ import annotations

import pytest
import yaml

from rocksoil_nb import config

from .conftest import make_project

# --------------------------------------------------------------------------- parameters


def _hp(**kw):
    return lambda d: d["hyperparameters"].update(kw)


@pytest.mark.parametrize("mutate, key, words", [
    (_hp(epochs=-5), "hyperparameters.epochs", "positive"),
    (_hp(patch_size=0), "hyperparameters.patch_size", "at least 8, got 0 (patch side, pixels"),
    (_hp(patch_size=4), "hyperparameters.patch_size", "at least 8"),
    (_hp(learning_rate={"cnn": 1e-3}), "hyperparameters.learning_rate", "missing ['convlstm']"),
    (_hp(learning_rate={"cnn": 1e-3, "convlstm": 1e-3, "unet": 1e-3}), "hyperparameters.learning_rate", "unknown: ['unet']"),
    (lambda d: d["classes"]["weights"].pop(13), "classes.weights", "missing [13]"),
    (lambda d: d["classes"]["weights"].update({4: -1.0}), "classes.weights", "non-negative"),
    (lambda d: d["scene_filter"].update(max_cloud_fraction=10), "scene_filter.max_cloud_fraction", "at most 1, got 10"),
    (lambda d: d["area"].update(crs="EPSG:99999"), "area.crs", "not a known coordinate reference system"),
    (lambda d: d["area"].update(crs="EPSG:4326"), "area.crs", "projected CRS in metres"),
    (lambda d: d["area"].update(pixel_size_m=-70), "area.pixel_size_m", "a positive number, got -70 (grid pixel size, metres)"),
    (lambda d: d["simulator"].setdefault("scenes", {}).update(passes=0, dates="orbit"), "simulator.scenes.passes", "positive"),
])
def test_out_of_range_values_are_refused_naming_file_and_key(tmp_path, root, mutate, key, words):
    r = make_project(tmp_path, area=mutate)
    with pytest.raises(config.ParameterError) as e:
        config.load("demo", "quick", root=r)
    msg = str(e.value)
    assert "demo.yaml" in msg and f"'{key}'" in msg and words in msg, msg


def test_a_profile_value_is_checked_after_the_merge(tmp_path, root):
    r = make_project(tmp_path, profiles=lambda p: p["quick"]["overrides"]["hyperparameters"].update(epochs=-5))
    with pytest.raises(config.ParameterError) as e:
        config.load("demo", "quick", root=r)
    assert "profile 'quick'" in str(e.value) and "'hyperparameters.epochs'" in str(e.value)
    r2 = make_project(tmp_path / "b", profiles=lambda p: p["quick"].update(max_patches=-1))
    with pytest.raises(config.ParameterError, match=r"profiles.yaml \[quick\].*'max_patches'"):
        config.load("demo", "quick", root=r2)


def test_an_area_value_a_profile_replaces_is_still_checked_and_the_replacement_is_told(tmp_path, root, capsys):
    r = make_project(tmp_path, area=_hp(epochs=-5))  # the quick profile sets epochs: 10
    with pytest.raises(config.ParameterError) as e:
        config.load("demo", "quick", root=r)
    msg = str(e.value)
    assert "demo.yaml: key 'hyperparameters.epochs'" in msg and "checked without profile 'quick'" in msg
    r2 = make_project(tmp_path / "b")
    config.load("demo", "quick", root=r2)
    config.load("demo", "quick", root=r2)
    err = capsys.readouterr().err
    assert err.count("profile 'quick' replaces") == 1 and "hyperparameters.epochs: 150 -> 10" in err  # said once


def test_an_invalid_date_names_the_file(tmp_path, root):
    text = (root / "parameters" / "demo.yaml").read_text()
    start = yaml.safe_load(text)["period"]["start"]
    r = make_project(tmp_path, text=text.replace(str(start), "2022-13-01", 1))
    with pytest.raises(config.ParameterError) as e:
        config.load("demo", "quick", root=r)
    assert "demo.yaml" in str(e.value) and "date" in str(e.value)


def test_a_missing_geology_vector_stops_before_any_download(demo_cfg, tmp_path):
    import dataclasses

    from rocksoil_nb import acquire

    class NoNetwork:
        def __getattr__(self, name):
            raise AssertionError(f"a request ({name}) was made before the geology vector was checked")

    acq = dataclasses.replace(demo_cfg.acquisition, geology_vector="maps/geologia.gpkg")
    cfg = dataclasses.replace(demo_cfg, source="appeears+gee", acquisition=acq, workdir=tmp_path, root=tmp_path)
    with pytest.raises(acquire.SourceNotAvailable, match=r"maps/geologia\.gpkg: the geology vector .* does not exist"):
        acquire.run(cfg, progress=False, session=NoNetwork(), ee=NoNetwork())


# --------------------------------------------------------------------------- scenes: folders, cut files, wrong content


def _passes(demo_raw, tmp_path, n: int = 4, layout: str = "flat"):
    """The first ``n`` demo passes copied into a new folder, flat or one subfolder per layer (as downloads are kept)."""
    import shutil

    from rocksoil_nb.core import ecostress

    eco = demo_raw / "ecostress"
    times = sorted({ecostress.parse_name(p).time for p in ecostress.find_layer(eco.glob("*.tif"), "LST")})[:n]
    dst = tmp_path / "download"
    for p in sorted(eco.glob("*.tif")):
        name = ecostress.parse_name(p)
        if name.time in times:
            sub = dst / {"cloud": "cloud_mask", "water": "water_mask"}.get(name.layer, name.layer) if layout == "nested" else dst
            sub.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, sub / p.name)
    return dst


def test_a_download_kept_in_one_folder_per_layer_is_found(demo_raw, demo_cfg, tmp_path, capsys):
    from rocksoil_nb import cli
    from rocksoil_nb.prepare import scenes

    flat = scenes.build(_passes(demo_raw, tmp_path / "a"), demo_cfg.preprocess, demo_cfg.scene_filter, progress=False)
    nested_dir = _passes(demo_raw, tmp_path / "b", layout="nested")
    nested = scenes.build(nested_dir, demo_cfg.preprocess, demo_cfg.scene_filter, progress=False)
    assert len(nested) == len(flat) == 4
    assert nested["kept"].tolist() == flat["kept"].tolist()
    assert nested["valid_fraction"].tolist() == flat["valid_fraction"].tolist()
    assert nested["LST_file"].str.startswith("LST/").all() and nested["cloud_file"].str.startswith("cloud_mask/").all()
    out = tmp_path / "inv.csv"
    assert cli.main(["inventory", str(nested_dir), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "ECOSTRESS file(s) in 6 folder(s) below" in said and "LST/: 4" in said and out.exists()
    from rocksoil_nb.acquire.local import import_folder

    summary = import_folder(nested_dir, tmp_path / "raw", "link", progress=False)["summary"]  # the local source
    assert summary["ecostress_passes"] == 4 and summary["incomplete_passes"] == 0 and summary["problems"] == 0


def test_inventory_of_a_missing_folder_says_so(tmp_path, capsys):
    from rocksoil_nb import cli

    assert cli.main(["inventory", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "nope: no such folder" in err and "Traceback" not in err


def test_inventory_out_may_be_a_folder_and_the_data_folder_is_not_written(demo_raw, tmp_path, monkeypatch, capsys):
    from rocksoil_nb import cli

    data = _passes(demo_raw, tmp_path, n=2)
    before = sorted(p.name for p in data.iterdir())
    (tmp_path / "tables").mkdir()
    assert cli.main(["inventory", str(data), "--out", str(tmp_path / "tables")]) == 0
    assert (tmp_path / "tables" / "inventory.csv").exists()
    monkeypatch.chdir(tmp_path / "tables")
    assert cli.main(["inventory", str(data)]) == 0
    assert (tmp_path / "tables" / "download_inventory.csv").exists()
    assert sorted(p.name for p in data.iterdir()) == before  # nothing written into the data folder
    assert cli.main(["inventory", str(data), "--out", str(data / "inv.csv")]) == 2
    assert "inside the data folder" in capsys.readouterr().err


def test_a_truncated_geotiff_is_dropped_with_its_path_and_reason(demo_raw, demo_cfg, tmp_path):
    from rocksoil_nb.acquire.local import scan
    from rocksoil_nb.core import ecostress
    from rocksoil_nb.prepare import scenes

    data = _passes(demo_raw, tmp_path, n=3)
    lst = ecostress.find_layer(data.glob("*.tif"), "LST")[1]
    blob = lst.read_bytes()
    lst.write_bytes(blob[: len(blob) // 2])  # header intact, pixel data cut
    with pytest.raises(ValueError, match=f"{lst.name}: truncated or damaged GeoTIFF"):
        ecostress.read_layer(lst)
    inv = scenes.build(data, demo_cfg.preprocess, demo_cfg.scene_filter, progress=False)
    row = inv[inv["LST_file"] == lst.name].iloc[0]
    assert not row["kept"] and "truncated" in row["reason"] and lst.name in row["reason"]
    assert inv["kept"].sum() >= 1  # the other passes are still read
    problems = scan(data).set_index("path")["problem"]
    assert "truncated" in problems[lst.name]  # the local source reads the whole file too


@pytest.mark.parametrize("as_layer, words", [("QC", "integer bit words"), ("cloud", "integer 0/1 flags")])
def test_lst_data_under_a_qc_or_cloud_name_is_refused(demo_raw, demo_cfg, tmp_path, as_layer, words):
    import shutil

    from rocksoil_nb.core import ecostress
    from rocksoil_nb.prepare import scenes

    data = _passes(demo_raw, tmp_path, n=2)
    lst = ecostress.find_layer(data.glob("*.tif"), "LST")[0]
    target = ecostress.find_layer(data.glob("*.tif"), as_layer)[0]
    shutil.copy2(lst, target)  # float LST values under the QC / cloud name
    with pytest.raises(ValueError, match=f"{target.name}: a {as_layer} layer must hold {words}"):
        ecostress.read_layer(target)
    inv = scenes.build(data, demo_cfg.preprocess, demo_cfg.scene_filter, progress=False)
    row = inv[inv[f"{as_layer}_file"] == target.name].iloc[0]
    assert not row["kept"] and words in row["reason"]


def test_cloud_flags_outside_0_1_are_refused(tmp_path):
    import numpy as np

    from rocksoil_nb.core import ecostress

    with pytest.raises(ValueError, match=r"x\.tif: a cloud layer must hold 0/1 flags \(255 = fill\), but it holds values \[7, 53\]"):
        ecostress.check_content(tmp_path / "x.tif", "cloud", np.array([0, 1, 7, 53, 255], np.uint8), None)
    ecostress.check_content(tmp_path / "x.tif", "cloud", np.array([0, 1, 255], np.uint8), None)  # fine


def test_every_pass_failing_gives_a_non_zero_exit(demo_raw, tmp_path, capsys):
    import shutil

    from rocksoil_nb import cli
    from rocksoil_nb.core import ecostress

    data = _passes(demo_raw, tmp_path, n=2)
    for lst in ecostress.find_layer(data.glob("*.tif"), "LST"):
        shutil.copy2(ecostress.find_layer(data.glob("*.tif"), "EmisWB")[0], lst)  # emissivity (0-1) as LST: fails the unit check
    assert cli.main(["inventory", str(data), "--out", str(tmp_path / "inv.csv")]) == 1
    err = capsys.readouterr().err
    assert "no pass can be used" in err and "outside" in err


def test_fill_outside_the_footprint_is_not_counted_as_bad_quality(demo_raw, demo_cfg, tmp_path):
    import numpy as np
    import rasterio

    from rocksoil_nb.core import ecostress
    from rocksoil_nb.prepare import scenes

    data = _passes(demo_raw, tmp_path, n=1)
    before = scenes.build(data, demo_cfg.preprocess, demo_cfg.scene_filter, progress=False).iloc[0]
    for layer in ("LST", "QC"):  # the west 30 % beyond the swath of a reprojected pass: LST no data, QC fill
        path = ecostress.find_layer(data.glob("*.tif"), layer)[0]
        with rasterio.open(path) as s:
            prof, a = s.profile, s.read(1)
        cut = int(a.shape[1] * 0.3)
        a[:, :cut] = ecostress.QC_FILL if layer == "QC" else (s.nodata if s.nodata is not None else np.nan)
        with rasterio.open(path, "w", **prof) as d:
            d.write(a, 1)
    after = scenes.build(data, demo_cfg.preprocess, demo_cfg.scene_filter, progress=False).iloc[0]
    assert 0.2 < after["outside_fraction"] <= 0.31  # (cloud-flagged pixels there count as cloud)
    assert after["bad_fraction"] <= before["bad_fraction"] + 1e-9  # not 30 % bad quality
    assert after["valid_fraction"] < before["valid_fraction"] - 0.2


# --------------------------------------------------------------------------- predict: stale outputs


@pytest.fixture(scope="module")
def tiny_run(trained_demo, tmp_path_factory):
    """A CNN trained for one epoch on 16 demo patches (what predict needs: weights and inputs.json)."""
    from rocksoil_nb.learn import train

    out = tmp_path_factory.mktemp("tiny") / "thermal_only-cnn-spatial"
    train.train(trained_demo, "thermal_only", "cnn", "spatial", epochs=1, max_samples=16, out_dir=out, verbose=0)
    return out


def _shift_lst(folder, kelvin: float) -> None:
    import rasterio

    from rocksoil_nb.core import ecostress

    for p in ecostress.find_layer(folder.glob("*.tif"), "LST"):
        with rasterio.open(p) as s:
            prof, a = s.profile, s.read(1)
        with rasterio.open(p, "w", **prof) as d:
            d.write(a + kelvin, 1)


def test_predict_rebuilds_a_cube_whose_scenes_changed_and_clears_old_maps(tiny_run, trained_demo, tmp_path, capsys):
    import numpy as np

    from rocksoil_nb.infer.predict import predict
    from rocksoil_nb.prepare import cube

    raw = trained_demo.layout.raw_dir
    first = _passes(raw, tmp_path / "a", n=6)
    out = tmp_path / "pred"
    rec1 = predict(tiny_run, first, out, progress=False)
    lst1 = float(np.nanmedian(cube.open_cube(out / "cube.zarr")["data"].values[:, 0]))
    maps1 = sorted(p.name for p in (out / "maps").glob("*.tif"))
    again = _passes(raw, tmp_path / "b", n=6)  # the same pass times and names, 15 K warmer
    _shift_lst(again, 15.0)
    capsys.readouterr()
    predict(tiny_run, again, out, progress=False)
    said = capsys.readouterr().err
    assert "rebuilding the cube" in said and "differ" in said
    lst2 = float(np.nanmedian(cube.open_cube(out / "cube.zarr")["data"].values[:, 0]))
    assert abs(lst2 - lst1 - 15.0) < 0.5
    fewer = _passes(raw, tmp_path / "c", n=3, layout="nested")  # a download kept one folder per layer
    rec3 = predict(tiny_run, fewer, out, progress=False)
    maps3 = sorted(p.name for p in (out / "maps").glob("*.tif"))
    assert len(rec3.dates) < len(rec1.dates) and set(maps3) < set(maps1) | {m for m in maps3 if "consensus" in m}
    dated = [m for m in maps3 if "consensus" not in m]
    assert len(dated) == 2 * len(rec3.dates.dropna(subset=["classes_file"]))  # classes + confidence of the new dates only


def test_predict_refuses_an_output_folder_inside_the_scenes(tiny_run, trained_demo, tmp_path, capsys):
    from rocksoil_nb import cli

    scenes = _passes(trained_demo.layout.raw_dir, tmp_path, n=3)
    before = sorted(str(p.relative_to(scenes)) for p in scenes.rglob("*"))
    for out in (scenes, scenes / "maps_here"):
        assert cli.main(["predict", "--model", str(tiny_run), "--scenes", str(scenes), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert "inside the scenes folder" in err and "Traceback" not in err
    assert sorted(str(p.relative_to(scenes)) for p in scenes.rglob("*")) == before


def test_a_copied_project_reads_its_own_cube(trained_demo, tmp_path):
    import json
    import shutil
    from pathlib import Path

    from rocksoil_nb.prepare.manifest import DatasetManifest

    src = trained_demo.layout.patches_dir("thermal_only")
    stored = json.loads((src / "manifest.json").read_text())
    assert not Path(stored["cube"]).is_absolute()  # relative to the dataset folder
    data = trained_demo.layout.data_dir
    copy = tmp_path / "copy" / data.name
    shutil.copytree(data / "interim", copy / "interim")
    shutil.copytree(data / "patches", copy / "patches")
    m = DatasetManifest.read(copy / src.relative_to(data))
    assert Path(m.cube).is_relative_to(copy) and Path(m.cube).exists()
    assert m.sha256_16() == DatasetManifest.read(src).sha256_16()  # the same dataset, wherever it lies


@pytest.mark.extra  # trains a deep run (15-50 s): outside make test's 10 minutes, CI runs it (make test-extra)
def test_an_interrupted_retrain_is_never_reused_as_finished(trained_demo, tmp_path, monkeypatch):
    """A profile change (epochs 1 -> 2), a retrain killed half-way: the old result must not count as the new one."""
    import keras

    from rocksoil_nb.learn import train

    out = tmp_path / "thermal_only-cnn-spatial"
    args = dict(max_samples=16, out_dir=out, verbose=0)
    first = train.train(trained_demo, "thermal_only", "cnn", "spatial", epochs=1, **args)
    assert first.epochs_run == 1 and train.finished_key(out)["epochs"] == 1

    def killed(*a, **k):
        raise KeyboardInterrupt  # as kill -9 would, after run.json took the new key

    monkeypatch.setattr(keras.Model, "fit", killed)
    with pytest.raises(KeyboardInterrupt):
        train.train(trained_demo, "thermal_only", "cnn", "spatial", epochs=2, **args)
    monkeypatch.undo()
    assert train.finished_key(out) is None  # the epochs-1 result no longer counts
    again = train.train(trained_demo, "thermal_only", "cnn", "spatial", epochs=2, **args)
    assert again.epochs_run == 2 and train.finished_key(out)["epochs"] == 2


def test_a_refused_or_interrupted_prediction_leaves_the_earlier_one_whole(tiny_run, trained_demo, tmp_path, monkeypatch, capsys):
    import json

    from rocksoil_nb import cli
    from rocksoil_nb.infer import predict as pr

    scenes = _passes(trained_demo.layout.raw_dir, tmp_path / "s", n=4)
    out = tmp_path / "pred"
    pr.predict(tiny_run, scenes, out, progress=False)
    before = {p.name: p.stat().st_size for p in out.rglob("*") if p.is_file()}
    record = json.loads((out / "predict.json").read_text())
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["predict", "--model", str(tiny_run), "--scenes", str(empty), "--out", str(out), "--quiet"]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert {p.name: p.stat().st_size for p in out.rglob("*") if p.is_file()} == before  # refused: nothing lost
    assert json.loads((out / "predict.json").read_text()) == record

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pr.reconstruct, "reconstruct", interrupted)
    assert cli.main(["predict", "--model", str(tiny_run), "--scenes", str(scenes), "--out", str(out), "--quiet"]) == 130
    assert "is as it was" in capsys.readouterr().err
    assert {p.name: p.stat().st_size for p in out.rglob("*") if p.is_file()} == before
    stage = pr.staging(out)
    assert (stage / pr.PARTIAL).exists()
    with pytest.raises(ValueError, match="incomplete prediction"):
        pr.read_prediction(stage)  # what reads predictions refuses the partial one
    assert pr.read_prediction(out)["dates_mapped"] == record["dates_mapped"]
    monkeypatch.undo()
    pr.predict(tiny_run, scenes, out, progress=False)  # the next run replaces the leftover
    assert not stage.exists() and not (out / pr.PARTIAL).exists()


def test_predict_arguments_are_checked_before_anything_is_written(tiny_run, trained_demo, tmp_path, monkeypatch, capsys):
    from rocksoil_nb import cli

    scenes = _passes(trained_demo.layout.raw_dir, tmp_path / "s", n=3)
    out = tmp_path / "pred"
    for batch in ("-4", "0"):
        assert cli.main(["predict", "--model", str(tiny_run), "--scenes", str(scenes), "--out", str(out), "--batch", batch,
                         "--quiet"]) == 2
        err = capsys.readouterr().err
        assert "--batch must be a positive number" in err and "Traceback" not in err
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert cli.main(["predict", "--model", str(tiny_run), "--scenes", str(scenes), "--out", str(afile), "--quiet"]) == 2
    assert "must be a folder" in capsys.readouterr().err
    monkeypatch.setattr("os.access", lambda path, mode: False)  # a read-only folder (root ignores permissions)
    assert cli.main(["predict", "--model", str(tiny_run), "--scenes", str(scenes), "--out", str(out), "--quiet"]) == 2
    assert "cannot be written" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".pred*"))


def test_a_damaged_whole_series_model_is_named(tmp_path):
    from rocksoil_nb.infer import predict as pr
    from rocksoil_nb.learn.runs import RunSpec

    run = tmp_path / "thermal_only-pixel_series-spatial"
    run.mkdir()
    RunSpec(area="demo", variant="thermal_only", model="pixel_series", protocol="spatial", kind="cnn", bands=["LST"], mean=[0.0],
            std=[1.0], patch_size=16, overlap=0.5).write(run)
    (run / "pixel_series.joblib").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="pixel_series.joblib: cannot be read"):
        pr.load_run(run)


# --------------------------------------------------------------------------- an interrupted simulation


def test_an_interrupted_simulation_resumes_to_complete_tables_and_leaves_no_temp_file(demo_cfg, demo_raw, tmp_path, monkeypatch):
    import pandas as pd

    from rocksoil_nb.simulate import run as sim

    out = tmp_path / "raw"
    real = sim.AreaModel.ecostress_pass
    calls = {"n": 0}

    def dies_after_20(self, p, i):
        calls["n"] += 1
        if calls["n"] > 20:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the passes
        return real(self, p, i)

    monkeypatch.setattr(sim.AreaModel, "ecostress_pass", dies_after_20)
    with pytest.raises(KeyboardInterrupt):
        sim.simulate(demo_cfg, out, progress=False)
    leftover = out / "ecostress" / ".ECO_L2T_LSTE.002_LST_doy2022001075951_aid0001_30N.tif.k3v9x0_q.tif"
    leftover.write_bytes(b"half a file")  # what a SIGKILL during a write leaves
    monkeypatch.setattr(sim.AreaModel, "ecostress_pass", real)
    res = sim.simulate(demo_cfg, out, progress=False)
    assert not res["skipped"] and not leftover.exists()
    assert not (tmp_path / "truth").exists() and (out / "truth" / "ecostress_passes.csv").exists()  # inside --out
    for table in ("ecostress/ECO-L2T-LSTE-002-QC-lookup.csv", "truth/ecostress_passes.csv"):
        resumed, clean = pd.read_csv(out / table), pd.read_csv(demo_raw / table)
        pd.testing.assert_frame_equal(resumed, clean)  # the same as an uninterrupted run: every value, every column


def test_a_resumed_simulation_verifies_the_files_it_reuses(demo_cfg, demo_raw, tmp_path):
    """After a full disk: two 0-byte files and a cut one under their final names are written again, not skipped."""
    import json
    import shutil

    from rocksoil_nb.core import ecostress, io
    from rocksoil_nb.simulate import run as sim

    out = tmp_path / "raw"
    shutil.copytree(demo_raw, out, symlinks=True)
    lst = ecostress.find_layer((out / "ecostress").glob("*.tif"), "LST")
    victims = [lst[0], lst[1], sorted((out / "sentinel2").glob("*.tif"))[0]]
    victims[0].write_bytes(b"")
    victims[1].write_bytes(b"")
    cut = victims[2].read_bytes()
    victims[2].write_bytes(cut[: len(cut) // 2])
    assert not any(io.raster_intact(v) for v in victims)
    res = sim.simulate(demo_cfg, out, progress=False)
    assert not res["skipped"] and all(io.raster_intact(v) for v in victims)
    man = json.loads((out / "manifest.json").read_text())
    assert man["complete"] and all((out / f).stat().st_size == n for f, n in man["file_sizes"].items())
    assert sim.simulate(demo_cfg, out, progress=False)["skipped"]


def test_files_are_written_with_the_users_umask(tmp_path):
    import os

    from rocksoil_nb.core import io

    p = io.write_text(tmp_path / "a.txt", "x")
    assert os.stat(p).st_mode & 0o777 == 0o666 & ~io._UMASK  # not 0600: a colleague or a web server can read it


def test_inventory_of_an_interrupted_acquisition_warns(demo_raw, demo_cfg, tmp_path):
    import json
    import shutil

    from rocksoil_nb.prepare import scenes

    raw = tmp_path / "raw"
    shutil.copytree(_passes(demo_raw, tmp_path / "p", n=2), raw / "ecostress")
    (raw / "manifest.json").write_text(json.dumps({"source": "simulated", "complete": False}))
    with pytest.warns(UserWarning, match="did not finish"):
        scenes.build(raw, demo_cfg.preprocess, demo_cfg.scene_filter, progress=False)


# --------------------------------------------------------------------------- secrets


def test_a_server_echoing_basic_auth_does_not_leak_the_base64_pair():
    import base64

    from rocksoil_nb.acquire.appeears import AppEEARS, AppEEARSError
    from rocksoil_nb.acquire.credentials import Earthdata

    user, pw = "geo-user-41", "s3cret:Pa55/w0rd"
    pair = base64.b64encode(f"{user}:{pw}".encode()).decode()

    class Echo:
        status_code, text = 400, ""

        def json(self):
            return {"message": f"bad request; you sent Authorization: Basic {pair}"}

    class Session:
        def request(self, method, url, **kw):
            return Echo()

    client = AppEEARS(Earthdata(username=user, password=pw, origin="test"), session=Session(), base_url="http://x/")
    with pytest.raises(AppEEARSError) as e:
        client.login()
    msg = str(e.value)
    assert "HTTP 400" in msg and pair not in msg and pair.rstrip("=") not in msg and pw not in msg and "***" in msg


def test_a_bad_earth_engine_key_names_the_variable(tmp_path):
    from rocksoil_nb.acquire import credentials, earthengine

    key = tmp_path / "key.json"
    key.write_text('{"client_email": "sa@p.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\\nAAAA"}')

    class FakeEE:
        @staticmethod
        def ServiceAccountCredentials(email, path):  # noqa: N802 - the ee API's name
            raise ValueError("Could not deserialize key data.")

    auth = credentials.earthengine("proj", env={"EE_SERVICE_ACCOUNT_KEY": str(key)})
    with pytest.raises(credentials.CredentialsError) as e:
        earthengine.initialize(auth, FakeEE())
    assert "EE_SERVICE_ACCOUNT_KEY" in str(e.value) and "Could not deserialize" in str(e.value) and "AAAA" not in str(e.value)


# --------------------------------------------------------------------------- the geology vector


def _vector(demo_raw, tmp_path, change):
    import geopandas as gpd

    gdf = gpd.read_file(demo_raw / "geology" / "geology_map.gpkg")
    gdf = change(gdf)
    path = tmp_path / "geology.gpkg"
    gdf.to_file(path, driver="GPKG")
    return path


def test_a_geology_code_written_as_a_word_is_named(demo_raw, tmp_path):
    from rocksoil_nb.prepare import labels

    def words(g):
        g["class_code"] = g["class_code"].astype(object)
        g.loc[g.index[2], "class_code"] = "granite"
        return g

    path = _vector(demo_raw, tmp_path, words)
    with pytest.raises(labels.LabelError) as e:
        labels.read_geology(path)
    assert str(path) in str(e.value) and "'granite'" in str(e.value) and "rows [2]" in str(e.value)


def test_projected_coordinates_labelled_as_degrees_are_named(demo_raw, demo_cfg, tmp_path):
    from rocksoil_nb.core.grid import thermal_grid
    from rocksoil_nb.prepare import labels

    path = _vector(demo_raw, tmp_path, lambda g: g.to_crs("EPSG:32630").set_crs("EPSG:4326", allow_override=True))
    with pytest.raises(labels.LabelError) as e:
        labels.make_labels(path, thermal_grid(demo_cfg.area))
    msg = str(e.value)
    assert str(path) in msg and "EPSG:4326" in msg and "projected CRS" in msg and "inf" not in msg


# --------------------------------------------------------------------------- damaged run records and weights


def test_damaged_weights_and_records_are_named_and_the_checkpoint_is_tried(tiny_run, tmp_path):
    import shutil

    from rocksoil_nb.infer.predict import load_run
    from rocksoil_nb.learn.runs import RunOutdated, RunSpec

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "best.keras").write_bytes(b"PK\x03\x04 not a model")  # a damaged best epoch
    model, spec = load_run(run)  # falls back on checkpoint.keras
    assert model is not None and spec.model == "cnn"
    (run / "checkpoint.keras").write_bytes(b"")
    with pytest.raises(FileNotFoundError) as e:
        load_run(run)
    assert "best.keras: cannot be read" in str(e.value) and "checkpoint.keras: cannot be read" in str(e.value)
    text = (run / "inputs.json").read_text()
    (run / "inputs.json").write_text(text[: len(text) // 2])  # cut
    with pytest.raises(RunOutdated) as e:
        RunSpec.read(run)
    assert str(run / "inputs.json") in str(e.value) and "damaged or incomplete" in str(e.value)


def test_a_simulation_that_stopped_before_any_scene_does_not_block_the_corrected_rerun(demo_cfg, tmp_path, capsys):
    import json

    from rocksoil_nb.simulate import run as sim

    out = tmp_path / "raw"
    (out / "geology").mkdir(parents=True)
    (out / "geology" / "geology_map.gpkg").write_bytes(b"from the failed run")
    (out / "manifest.json").write_text(json.dumps({"source": "simulated", "parameters_hash": "0123456789abcdef", "complete": False}))
    res = sim.simulate(demo_cfg, out, progress=False)
    assert not res["skipped"] and "starting again" in capsys.readouterr().err
    assert (out / "geology" / "geology_map.gpkg").read_bytes() != b"from the failed run"
    man = json.loads((out / "manifest.json").read_text())
    man.update(parameters_hash="0123456789abcdef")
    (out / "manifest.json").write_text(json.dumps(man))  # a folder with scenes made with other parameters stays refused
    with pytest.raises(sim.RawDataConflict, match="other parameters"):
        sim.simulate(demo_cfg, out, progress=False)


# --------------------------------------------------------------------------- the next round of careless-user cases


def test_a_failed_import_leaves_no_area_behind_and_names_stay_inside_the_project(project, capsys):
    from rocksoil_nb import cli

    empty = project / "empty"
    empty.mkdir()
    for _ in range(2):  # the same mistake twice: refused twice, never a half-made area that 'succeeds'
        assert cli.main(["import-thesis", str(empty), "--area", "made_up", "--as", "fresh"]) == 2
        assert "Traceback" not in capsys.readouterr().err
        assert not (project / "parameters" / "fresh.yaml").exists()
    from .test_thesis_import import make_set

    make_set(project / "clone" / "data_thermal_thermal_only")
    assert cli.main(["import-thesis", str(project / "clone"), "--area", "made_up", "--as", "../outside"]) == 2
    assert "stay inside the project" in capsys.readouterr().err
    assert not (project.parent / "outside.yaml").exists() and not (project / "outside.yaml").exists()


def test_a_damaged_import_report_is_named(project):
    from rocksoil_nb import config
    from rocksoil_nb.prepare import thesis_import

    from .test_thesis_import import make_set

    make_set(project / "clone" / "data_thermal_thermal_only")
    cfg = config.load(thesis_import.import_area(project, "made_up", project / "clone"))
    thesis_import.run(cfg, progress=False)
    (cfg.layout.raw_dir / thesis_import.REPORT).write_text('{"result": {"sets": ')
    with pytest.raises(ValueError, match=str(cfg.layout.raw_dir / thesis_import.REPORT)):
        thesis_import.report(cfg)


def test_report_with_a_misspelt_profile_exits_2(capsys):
    from rocksoil_nb import report

    assert report.main(["--aoi", "demo", "--profile", "standrad"]) == 2
    assert "standrad" in capsys.readouterr().err


def test_predict_on_an_empty_scenes_folder_names_it_and_leaves_nothing(tiny_run, tmp_path, capsys):
    from rocksoil_nb import cli

    empty = tmp_path / "my_scenes"
    empty.mkdir()
    out = tmp_path / "pred"
    assert cli.main(["predict", "--model", str(tiny_run), "--scenes", str(empty), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{empty}: no ECOSTRESS LST file" in err and "partial" not in err
    assert not out.exists() and not list(tmp_path.glob(".pred*"))


def test_a_read_only_folder_gives_advice_not_a_temp_file_name(tmp_path, monkeypatch):
    import tempfile

    from rocksoil_nb.core import io

    def refused(*a, **k):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".labels.tif.abc12345.tif"))

    monkeypatch.setattr(tempfile, "mkstemp", refused)  # root ignores permissions: the refusal is made up
    with pytest.raises(PermissionError) as e:
        io.write_text(tmp_path / "interim" / "labels.csv", "x")
    assert "cannot write labels.csv here" in str(e.value) and "ROCKSOIL_WORKDIR" in str(e.value) and ".abc12345" not in str(e.value)


def test_a_grid_too_big_to_simulate_is_refused_and_a_future_period_is_said(tmp_path, root):
    text = (root / "parameters" / "demo.yaml").read_text()
    make_project(tmp_path, text=text.replace("shape: [96, 96]", "shape: [10000, 10000]"))
    with pytest.raises(config.ParameterError, match=r"10000 x 10000 px would need about \d+ GiB to simulate"):
        config.load("demo", "quick", root=tmp_path)
    import re

    future = re.sub(r"end: \d{4}-\d\d-\d\d", "end: 2099-12-31", text)
    (tmp_path / "parameters" / "demo.yaml").write_text(future)
    with pytest.warns(UserWarning, match="2099-12-31, in the future: the simulator makes up passes"):
        config.load("demo", "quick", root=tmp_path)
