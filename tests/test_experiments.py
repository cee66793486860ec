"""The experiment matrix: plan, warm-up estimate and the Dask fan-out (same metrics as the serial run)."""

from __future__ import annotations

import dataclasses
import json

import pytest


def _matrix(cfg, name: str):
    """The demo (patches built) with a two-run matrix of 2 epochs on 64 samples, under its own profile folder."""
    hp = dataclasses.replace(cfg.hyperparameters, epochs=2)
    prof = dataclasses.replace(cfg.profile, max_patches=64, models=["cnn", "pixel_rf"], protocols=["spatial"], variants=["thermal_only"])
    return dataclasses.replace(cfg, hyperparameters=hp, profile=prof, profile_name=name)


def test_plan_and_estimate(trained_demo):
    from rocksoil_nb.learn import experiments

    cfg = _matrix(trained_demo, "plan")
    todo = experiments.estimate(cfg, progress=False)
    assert list(todo["model"]) == ["cnn", "pixel_rf"] and (todo["train_samples"] == 64).all()
    assert list(todo["epochs"]) == [2, 0] and (todo["estimated_s"] > 0).all() and not todo["finished"].any()
    assert "2 runs planned, 0 already finished, 2 to train" in experiments.describe(todo)
    assert (cfg.layout.models_dir / experiments.PLAN_FILE).exists()
    with pytest.raises(FileNotFoundError, match="no recorded plan"):
        experiments.timing(_matrix(trained_demo, "nothing-yet"))


def test_several_seeds_train_their_own_runs(trained_demo):
    """seeds [0, 1]: each run twice, seed 1 in its own folder; the seed-0 run is reused when seed 1 is added, the seed-1
    run is a different training (another sample draw and initialisation) and the table row is their mean."""
    from rocksoil_nb.analyse import results
    from rocksoil_nb.learn import experiments
    from rocksoil_nb.learn.runs import RunResult

    cfg = _matrix(trained_demo, "seeds")
    cfg = dataclasses.replace(cfg, profile=dataclasses.replace(cfg.profile, models=["pixel_rf"]))
    first = experiments.run(cfg)
    two = dataclasses.replace(cfg, profile=dataclasses.replace(cfg.profile, seeds=[0, 1]))
    todo = experiments.plan(two)
    assert list(todo["seed"]) == [0, 1] and list(todo["finished"]) == [True, False]
    assert todo["folder"].iloc[1].endswith("seeds/seed1/thermal_only-pixel_rf-spatial")
    runs = experiments.run(two, todo=todo)
    assert runs[0].test == first[0].test and [r.seed for r in runs] == [0, 1]
    assert RunResult.read(two.layout.run_dir("thermal_only", "pixel_rf", "spatial", 1)).seed == 1
    assert runs[1].test["confusion"] != runs[0].test["confusion"]
    row = results.gather(two, all_areas=False).set_index("model").loc["pixel_rf"]
    assert row["seeds"] == 2 and row["oa"] == pytest.approx((runs[0].test["oa"] + runs[1].test["oa"]) / 2)
    assert row["oa_sd"] > 0
    only_1 = dataclasses.replace(cfg, profile=dataclasses.replace(cfg.profile, seeds=[1]))
    experiments.estimate(only_1, progress=False)  # a part of the matrix: the other runs' records stay in plan.csv
    assert sorted(experiments.timing(only_1)["seed"].dropna().astype(int)) == [0, 1]


@pytest.mark.extra
def test_dask_local_cluster_gives_the_serial_metrics(trained_demo):
    from rocksoil_nb.learn import experiments

    serial, fanned = _matrix(trained_demo, "serial"), _matrix(trained_demo, "dask")
    a = experiments.run(serial)
    b = experiments.run(fanned, todo=experiments.estimate(fanned, progress=False), workers=2)
    assert [r.run for r in a] == [r.run for r in b] == ["thermal_only-cnn-spatial", "thermal_only-pixel_rf-spatial"]
    for ra, rb in zip(a, b):
        assert json.dumps(ra.test, sort_keys=True) == json.dumps(rb.test, sort_keys=True)
    t = experiments.timing(fanned)
    assert (t["measured_s"].iloc[:2] > 0).all() and t["variant"].iloc[-1] == "all runs"
    again = experiments.run(fanned, workers=2)  # finished runs are reused, not retrained
    assert [r.test for r in again] == [r.test for r in b]
    kept = experiments.timing(fanned)  # the record of the training stays
    assert kept["measured_s"].tolist() == t["measured_s"].tolist() and kept["estimated_s"].tolist() == t["estimated_s"].tolist()
