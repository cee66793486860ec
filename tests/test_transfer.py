"""The other_areas protocol: train on other areas, test on the whole of one never seen (issue 28)."""

from __future__ import annotations

import numpy as np
import pytest

from rocksoil_nb.analyse import transfer
from rocksoil_nb.analyse.transfer import AreaPixels


def _area(name: str, x0: float, classes: list[int], shift: float = 0.0, seed: int = 0, crs: str = "EPSG:32630") -> AreaPixels:
    """A 40 × 40-pixel made-up area at easting ``x0`` (70 m pixels) whose classes differ in one feature by 1 unit
    per class (+ ``shift``: another climate), noise 0.3, and in nothing else."""
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[:40, :40].reshape(2, -1)
    y = np.array(classes)[(rr // 10 + cc // 10) % len(classes)]
    f = np.stack([y + shift + rng.normal(0, 0.3, len(y)), rng.normal(0, 1, len(y)), np.ones(len(y))], 1).astype(np.float32)
    names = ["night_mean", "emis_mean", "valid_share"]
    return AreaPixels(name, crs, f, names, y, x0 + cc * 70.0, 4_400_000 - rr * 70.0, rr // 10 * 4 + cc // 10)


def test_no_test_area_pixel_is_trained_on_and_absent_classes_are_not_learnable():
    areas = {"a": _area("a", 300_000, [1, 2, 3]), "b": _area("b", 400_000, [1, 2, 4], seed=1),
             "c": _area("c", 500_000, [1, 2, 3, 5], seed=2)}
    for test in areas:
        s = transfer.split(areas, test, max_pixels=1000)
        assert set(s.train) == set(areas) - {test} and all(len(i) == 500 for i in s.train.values())
        t = areas[test]
        test_xy = set(zip(t.x_m.tolist(), t.y_m.tolist()))
        for a, idx in s.train.items():  # by the datasets' coordinates: no training pixel is a test-area pixel
            assert not test_xy & set(zip(areas[a].x_m[idx].tolist(), areas[a].y_m[idx].tolist()))
            assert not transfer.inside(areas[a], t)[idx].any()
    s = transfer.split(areas, "c")
    assert s.classes == [1, 2, 3, 4] and np.array_equal(s.learnable, areas["c"].y != 5)
    row = transfer.rotation(areas, "c", "pixel_series", max_pixels=2000)[0]
    assert row["not_learnable"] == [5] and row["not_learnable_share"] == pytest.approx(0.25, abs=0.02)
    assert row["test_pixels"] == int((areas["c"].y != 5).sum())


def test_overlapping_areas_are_refused():
    areas = {"a": _area("a", 300_000, [1, 2]), "a_again": _area("a_again", 300_000 + 35 * 70, [1, 2], seed=1)}
    with pytest.raises(ValueError, match="overlap"):
        transfer.split(areas, "a")


def test_per_area_standardisation_removes_a_climate_shift():
    """The class signal is the same in every area but one area is 3 units warmer: trained on the other two, the
    shifted area is mapped poorly as it is and well once each area's features are standardised."""
    areas = {"a": _area("a", 300_000, [1, 2, 3]), "b": _area("b", 400_000, [1, 2, 3], seed=1),
             "hot": _area("hot", 500_000, [1, 2, 3], shift=3.0, seed=2)}
    scores = {}
    for norm in transfer.NORMALISATIONS:
        _, _, confs = transfer.rotation(areas, "hot", "pixel_series", norm, max_pixels=2000)
        cm = confs.sum(0)
        scores[norm] = np.trace(cm) / cm.sum()
    assert scores["anomaly"] < 0.5 and scores["area"] > 0.9, scores
