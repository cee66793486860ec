"""Whole-year samples (kind ``year``) for the temporal-attention model: one per place and calendar year, padded,
with their date planes, trained and mapped on the demo area."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rocksoil_nb.learn import models
from rocksoil_nb.prepare import patches
from rocksoil_nb.prepare.cube import open_cube
from rocksoil_nb.prepare.manifest import DatasetManifest


def test_year_samples_are_one_calendar_year_each(trained_demo):
    cfg = trained_demo
    d = cfg.layout.patches_dir("thermal_only")
    m = DatasetManifest.read(d)
    info = m.kinds["year"]
    df = pd.read_csv(d / "samples_year.csv")
    t = df[info.columns].to_numpy()
    assert 0 < t.shape[1] <= cfg.hyperparameters.year_frames and len(df) == info.samples
    years = pd.DatetimeIndex(open_cube(m.cube)["time"].values).year.to_numpy()
    for row, y in zip(t, df["year"]):
        fr = row[row >= 0]
        assert len(fr) >= patches.MIN_YEAR_FRAMES and (np.diff(fr) > 0).all() and (years[fr] == y).all()
        assert (row[len(fr):] == -1).all()  # padding only at the end
    assert set(df["split_spatial"].dropna()) <= {"train", "val", "test", ""} and (df["split_spatial"] == "train").any()
    # the temperature is read as a scene anomaly (K): centred near 0, narrower than the raw LST of the one-date windows
    assert info.anomaly == "LST" and m.kinds["cnn"].anomaly is None
    year_norm, cnn_norm = info.protocols["spatial"].norm, m.kinds["cnn"].protocols["spatial"].norm
    assert abs(year_norm.mean[0]) < 3.0 and year_norm.std[0] < cnn_norm.std[0]
    assert abs(year_norm.mean[1] - cnn_norm.mean[1]) < 0.01  # emissivity as it is


def test_year_inputs_are_scene_anomalies(trained_demo):
    """A year batch's temperature channel is (LST - the date's median over the whole grid - mean) / std."""
    import zarr

    from rocksoil_nb.learn.datasets import PatchData
    from rocksoil_nb.prepare.cube import scene_median

    cfg = trained_demo
    data = PatchData(cfg.layout.patches_dir("thermal_only"), "spatial", "train", "year", batch_size=2, shuffle=False)
    x, _, _ = data[0]
    grp = zarr.open_group(str(data.manifest.cube), mode="r")
    t, r, c, p = int(data.times[0, 0]), int(data.rows[0]), int(data.cols[0]), data.p
    lst, valid = np.asarray(grp["data"][t, 0]), np.asarray(grp["valid"][t]).astype(bool)
    med = scene_median(lst, valid)
    assert abs(med - np.median(lst[valid])) < 1e-6 and 250 < med < 340
    want = (lst[r : r + p, c : c + p] - med - data.mean[0, 0, 0]) / data.std[0, 0, 0]
    ok = valid[r : r + p, c : c + p] & np.isfinite(want)
    assert np.allclose(x[0, 0, ..., 0][ok], want[ok], atol=1e-4) and (x[0, 0, ..., 0][~ok] == 0).all()
    assert scene_median(np.array([1.0, np.nan, 5.0, 100.0]), np.array([True, True, True, False])) == 3.0
    assert scene_median(np.ones(3), np.zeros(3, bool)) == 0.0


def test_year_batches_carry_the_date_planes(trained_demo):
    from rocksoil_nb.learn.datasets import PatchData

    cfg = trained_demo
    data = PatchData(cfg.layout.patches_dir("thermal_only"), "spatial", "train", "year", batch_size=4)
    x, y, w = data[0]
    n_t = len(data.tcols)
    assert x.shape == (4, n_t, 16, 16, 2 + models.DATE_CHANNELS) and data.n_channels == x.shape[-1]
    present = x[..., -1].mean(axis=(2, 3))  # (B, T): 1 for a date, 0 for padding
    assert np.array_equal(present > 0.5, data.times[data.order[:4]] >= 0)
    assert np.allclose(x[..., -4] ** 2 + x[..., -3] ** 2, present[:, :, None, None])  # sin² + cos² = 1 on present dates
    assert ((y != 0) | (w == 0)).all() and w.mean() > 0.3


@pytest.mark.extra  # trains a deep run (15-50 s): outside make test's 10 minutes, CI runs it (make test-extra)
def test_tae_trains_and_maps_one_consensus_per_year(trained_demo, tmp_path):
    from rocksoil_nb.infer import reconstruct
    from rocksoil_nb.infer.predict import load_run
    from rocksoil_nb.learn import train

    cfg = trained_demo
    out = tmp_path / "tae"
    r = train.train(cfg, "thermal_only", "tae", "spatial", epochs=1, max_samples=16, out_dir=out, verbose=0)
    assert r.model == "tae" and 0 <= r.score("oa") <= 1
    net, spec = load_run(out)
    assert spec.is_year and spec.frames == len(DatasetManifest.read(cfg.layout.patches_dir("thermal_only")).kinds["year"].columns)
    rec = reconstruct.reconstruct(net, cfg.layout.cube, spec, tmp_path / "maps", which="all", progress=False)
    years = pd.DatetimeIndex(rec.dates["time_utc"]).year
    assert len(rec.dates) == len(set(years)) >= 1  # one map per calendar year
    assert (rec.consensus_codes != 255).mean() > 0.5
    # what it looks at: its attention per date of each test sample, relative to an even share (mean 1 per sample)
    from rocksoil_nb.analyse import importance

    att = importance.tae_attention(cfg, "thermal_only", max_batches=2, run_dir=out)
    assert (att["attention"] >= 0).all() and att["doy"].between(0, 366).all() and att["day"].any() and (~att["day"]).any()
    assert np.allclose(att.groupby("sample")["attention"].mean(), 1.0, atol=1e-4)
    assert "night passes get" in importance.attention_statement(att)
