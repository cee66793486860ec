"""Spatial context for the whole-series boosting model: focal means of its features (``pixel_focal``, issue 28)."""

from __future__ import annotations

import numpy as np

from rocksoil_nb.learn import registry, series_baseline
from rocksoil_nb.learn.series_features import focal_means


def test_focal_means_average_the_valid_neighbours_only():
    f = np.zeros((7, 7, 2), np.float32)
    f[..., 0] = np.arange(49).reshape(7, 7)
    f[..., 1] = 1.0
    f[3, 3, 1] = np.nan  # a missing value is left out of its neighbours' means, never counted as 0
    out, names = focal_means(f, ["a", "b"], (3,))
    assert names == ["a", "b", "a_focal3", "b_focal3"] and out.shape == (7, 7, 4)
    assert out[3, 3, 2] == np.mean(f[2:5, 2:5, 0]) and np.allclose(out[..., 3], 1.0)
    assert out[0, 0, 2] == np.mean(f[:2, :2, 0])  # at the edge: the neighbours that exist
    gap = np.full((5, 5, 1), np.nan, np.float32)
    assert np.isnan(focal_means(gap, ["a"], (3,))[0][..., 1]).all()  # no valid neighbour: no value
    assert focal_means(f, ["a", "b"], ())[0] is f


def test_neighbourhood_context_recovers_units_a_single_pixel_cannot():
    """Units of 16 × 16 pixels whose class shows in a feature only through noise twice its class step: one pixel
    alone is a poor guess; its 5 × 5 neighbourhood mean a much better one. Trained on the left half, tested on the right."""
    rng = np.random.default_rng(0)
    h, w = 96, 96
    units = (np.arange(h)[:, None] // 16 * 3 + np.arange(w)[None, :] // 16) % 4 + 1  # classes 1-4
    f = (units[..., None] + rng.normal(0, 2.0, (h, w, 1))).astype(np.float32)
    train, test = np.s_[:, :48], np.s_[:, 48:]
    scores = {}
    for sizes in ((), (5,)):
        x, names = focal_means(f, ["signal"], sizes)
        model = series_baseline.PixelSeries(0, focal_px=sizes).fit(x[train].reshape(-1, x.shape[-1]), units[train].ravel(), names)
        pred = model.predict(x[test].reshape(-1, x.shape[-1]))
        scores[sizes] = float((pred == units[test].ravel()).mean())
    assert scores[()] < 0.5 and scores[(5,)] > 0.65 and scores[(5,)] > scores[()] + 0.2, scores
    assert model.predict_proba(x[test].reshape(-1, x.shape[-1])).shape == (48 * 96, 14)


def test_the_focal_model_is_a_mapping_model_not_a_baseline():
    entry = registry.get("pixel_focal")
    assert entry.maps == "series" and not entry.deep and not entry.baseline and entry.whole_series
    assert entry.load("settings")["focal_px"] == [5, 11] and registry.baselines() == ["pixel_rf", "pixel_series"]
    assert series_baseline.PixelSeries(0, **entry.load("settings")).focal == (5, 11)


def test_the_focal_model_overfits_made_up_windows():
    """Four 16 × 16 windows of random classes whose features carry the class weakly: trained on them, the focal model
    with small leaves reproduces its training windows almost exactly (it can learn), and answers one probability row
    of 14 classes per pixel."""
    rng = np.random.default_rng(1)
    y = rng.integers(1, 6, (4, 16, 16))
    f = np.stack([y + rng.normal(0, 0.4, y.shape), rng.normal(0, 1, y.shape)], -1).astype(np.float32)
    x = np.concatenate([focal_means(w, ["a", "b"], (3,))[0] for w in f]).reshape(-1, 4)
    model = series_baseline.PixelSeries(0, focal_px=(3,), min_samples_leaf=1, max_leaf_nodes=63, max_iter=200,
                                        learning_rate=0.3, l2_regularization=0.0).fit(x, y.ravel(), ["a", "b", "a_focal3", "b_focal3"])
    p = model.predict_proba(x)
    assert p.shape == (4 * 16 * 16, 14) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert (p.argmax(1) == y.ravel()).mean() > 0.97
