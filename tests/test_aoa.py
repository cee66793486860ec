"""The area of applicability (Meyer & Pebesma 2021) on made-up data where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from rocksoil_nb.analyse import aoa


def test_upper_whisker_is_r_boxplot_stats():
    # R: boxplot.stats(c(1, 2, 3, 4, 5, 6, 7, 8, 9, 100))$stats[5] == 9 (hinges 3 and 8, 8 + 1.5 * 5 = 15.5)
    assert aoa.upper_whisker(np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 100.0])) == 9.0
    # no outlier: the maximum itself; odd count: hinges include the median (R: fivenum)
    assert aoa.upper_whisker(np.array([5, 1, 4, 2, 3.0])) == 5.0
    with pytest.raises(ValueError, match="no finite value"):
        aoa.upper_whisker(np.array([np.nan]))


def _clusters(seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal([0, 0, 0], 1.0, (300, 3))
    b = rng.normal([6, 0, 0], 1.0, (300, 3))
    x = np.vstack([a, b])
    folds = np.repeat(np.arange(6), 100)  # six blocks, three per cluster
    return x, folds, rng


def test_a_training_point_is_inside_and_a_far_cluster_is_outside():
    x, folds, rng = _clusters()
    t = aoa.train_di(x, folds, names=["a", "b", "c"])
    assert t.threshold > 0 and len(t.train_di) == len(x)
    assert (t.di(x[:50]) == 0).all() and t.inside(t.di(x[:50])).all()  # a training sample is its own nearest neighbour
    far = rng.normal([40, 40, 0], 1.0, (100, 3))
    assert not t.inside(t.di(far)).any()  # ground unlike any training data: outside
    between = rng.normal([3, 0, 0], 0.3, (100, 3))  # between the two clusters, within the data's spread
    assert t.inside(t.di(between)).mean() > 0.9


def test_a_feature_with_weight_zero_adds_no_dissimilarity(tmp_path):
    x, folds, rng = _clusters(1)
    t = aoa.train_di(x, folds, weights=np.array([1.0, 1.0, 0.0]))
    moved = x[:20].copy()
    moved[:, 2] += 1000  # only the ignored feature differs
    assert np.allclose(t.di(moved), 0)
    nan = x[:20].copy()
    nan[:, 1] = np.nan  # a missing feature counts as the training mean
    assert np.isfinite(t.di(nan)).all()
    back = aoa.TrainDI.load(t.save(tmp_path / "aoa.npz"))
    assert back.threshold == t.threshold and np.array_equal(back.di(x[:5]), t.di(x[:5]))
    with pytest.raises(ValueError, match="not all 0"):
        aoa.train_di(x, folds, weights=np.zeros(3))


def test_folds_make_the_threshold_larger_than_without_them():
    """A training sample's DI to another block is larger than to its own neighbours: the threshold measured across
    blocks is what transfer to new ground needs (CAST's trainDI with CV folds)."""
    x, folds, _ = _clusters(2)
    assert aoa.train_di(x, folds).threshold > aoa.train_di(x, None).threshold
