"""What the whole-series models look at: permutation importance of groups of inputs (issue 28)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rocksoil_nb.analyse import importance
from rocksoil_nb.learn import series_baseline
from rocksoil_nb.learn.series_baseline import SeriesInputs


def _made_up(signal: str, seed: int = 0):
    """A 60 × 60 scene, 24 passes (two a month, night and day), bands (temperature, emissivity); classes 1-3 in
    10 × 10-pixel units. Only ``signal`` carries the class: "temp" a night-time anomaly of ±2 K per class step,
    "emis" an emissivity step of 0.01; the other band is noise alone."""
    rng = np.random.default_rng(seed)
    h = w = 60
    units = (np.arange(h)[:, None] // 10 + np.arange(w)[None, :] // 10) % 3 + 1
    when = pd.date_range("2023-01-05", periods=24, freq="15D") + pd.to_timedelta(np.tile([2, 14], 12), "h")
    is_day = np.tile([False, True], 12)
    temp = 290 + rng.normal(0, 1.0, (24, h, w))
    emis = 0.95 + rng.normal(0, 0.004, (24, h, w))
    if signal == "temp":
        temp[~is_day] += 2.0 * (units - 2)
    else:
        emis += 0.01 * (units - 2)
    inputs = SeriesInputs({"temp": 0, "emis": 1}, {"temp": "LST", "emis": "EmisWB"}, is_day,
                          (when.dayofyear + when.hour / 24.0).to_numpy(float), when, 24)
    data = np.stack([temp, emis], 1).astype(np.float32)  # (T, K, H, W)
    return data, units, inputs


@pytest.mark.parametrize("signal, carrier, other", [("temp", "LST (scene anomaly)", "emissivity"),
                                                    ("emis", "emissivity", "LST (scene anomaly)")])
def test_only_the_band_that_carries_the_class_matters(signal, carrier, other):
    data, units, inputs = _made_up(signal)
    valid = np.ones((24, 60, 60), bool)
    medians = np.median(data[:, 0].reshape(24, -1), axis=1)
    f, names = series_baseline.features_of(data, valid, inputs, medians)
    train = np.zeros((60, 60), bool)
    train[:, :30] = True
    model = series_baseline.PixelSeries(0).fit(f[train], units[train], names)
    rr, cc = np.nonzero(~train)
    x = data[:, :, rr, cc].transpose(2, 0, 1)  # (N, T, K)
    probe = importance.SeriesProbe(model, inputs, medians, rr, cc)
    blocks = rr // 10 * 6 + cc // 10
    groups = importance.input_groups(inputs)
    assert list(groups) == ["band", "day / night", "season", "month"]
    assert list(groups["season"]) == ["winter (DJF)", "spring (MAM)", "summer (JJA)", "autumn (SON)"]
    assert list(groups["month"])[:3] == ["Jan", "Feb", "Mar"] and len(groups["month"]) == 12
    undated = SeriesInputs(inputs.bands, inputs.names, None, None, None, 24)  # a thesis import: no dates, no day/night
    assert list(importance.input_groups(undated)) == ["band"]
    t = importance.group_drops(probe.predict, x, units[rr, cc], blocks, groups["band"], repeats=2).set_index("group")
    assert t.loc[carrier, "drop"] > 0.4 and t.loc[carrier, "lo"] > 0.2, t
    assert abs(t.loc[other, "drop"]) < 0.05, t
    dn = importance.group_drops(probe.predict, x, units[rr, cc], blocks, groups["day / night"], repeats=2).set_index("group")
    if signal == "temp":  # the class is in the night passes only
        assert dn.loc["night passes", "drop"] > 0.4 and abs(dn.loc["day passes", "drop"]) < 0.05, dn


def test_shuffling_moves_whole_cells_between_test_pixels():
    """A group's cells come from one other test pixel, the rest of the series stays the pixel's own."""
    x = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)
    seen = []
    mask = np.zeros((3, 2), bool)
    mask[:, 0] = True
    importance.group_drops(lambda a: seen.append(a.copy()) or np.ones(len(a), int), x, np.ones(4, int), np.arange(4),
                           {"band 0": mask}, repeats=1)
    shuffled = seen[1]
    assert np.array_equal(shuffled[:, :, 1], x[:, :, 1])
    assert sorted(shuffled[:, 0, 0]) == sorted(x[:, 0, 0]) and not np.array_equal(shuffled[:, :, 0], x[:, :, 0])
    donors = [int(np.flatnonzero(x[:, 0, 0] == v)[0]) for v in shuffled[:, 0, 0]]
    assert all(np.array_equal(shuffled[i, :, 0], x[d, :, 0]) for i, d in enumerate(donors))
