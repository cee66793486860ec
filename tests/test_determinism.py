"""Same parameters, same machine, same numbers: a short run trained twice has the same weights and the same scores to
the last bit (the README's tables rely on it; the Dask fan-out is compared with a serial run in test_experiments)."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.mark.extra  # trains a deep run (15-50 s): outside make test's 10 minutes, CI runs it (make test-extra)
def test_a_run_trained_twice_has_identical_weights_and_scores(trained_demo, tmp_path):
    import keras

    from rocksoil_nb.learn import train

    outs = [tmp_path / f"{k}" / "thermal_only-cnn-thesis" for k in "ab"]
    for out in outs:
        train.train(trained_demo, "thermal_only", "cnn", "thesis", epochs=2, max_samples=32, out_dir=out, verbose=0)
    wa, wb = (keras.saving.load_model(o / "best.keras", compile=False).get_weights() for o in outs)
    assert len(wa) == len(wb) and all(np.array_equal(a, b) for a, b in zip(wa, wb))
    ma, mb = (json.loads((o / "metrics.json").read_text())["test"] for o in outs)
    assert ma == mb  # every score, every confusion count
    ua, ub = (np.load(o / "test_units.npz")["confusions"] for o in outs)
    assert np.array_equal(ua, ub)
