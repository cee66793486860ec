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
