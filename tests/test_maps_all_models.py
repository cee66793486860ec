"""Every model maps a scene (per-pixel ones too), 08 maps the best of all models, and the map sits on a web map (issue 27)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import rasterio

from rocksoil_nb.analyse import evaluation
from rocksoil_nb.core import classes
from rocksoil_nb.infer import maps


@pytest.fixture(scope="module")
def per_pixel_maps(trained_demo, tmp_path_factory):
    """The demo's per-pixel RF and whole-series models (alone and with neighbourhood means) trained and mapped through
    08's path, the series scenes read in many small strips."""
    from rocksoil_nb.learn import series_baseline, train

    work = tmp_path_factory.mktemp("allmaps")
    cfg = dataclasses.replace(trained_demo, workdir=work)
    (work / "data").symlink_to(trained_demo.workdir / "data")
    strip = series_baseline.STRIP_BYTES
    series_baseline.STRIP_BYTES = 1 << 20  # a few rows per strip: many strips, each against the whole scene's medians
    try:
        recs = {}
        for model in ("pixel_rf", "pixel_series", "pixel_focal"):  # deep models' maps: test_year, the report's tests
            train.train(cfg, "thermal_only", model, "spatial", epochs=1, max_samples=8, verbose=0)
            recs[model] = evaluation.reconstruct_run(cfg, "thermal_only", model, "spatial", which="all", progress=False)
    finally:
        series_baseline.STRIP_BYTES = strip
    return cfg, recs


def test_every_model_maps_the_demo_scene_with_probabilities_that_sum_to_one(per_pixel_maps):
    cfg, recs = per_pixel_maps
    for model, rec in recs.items():
        assert (rec.consensus_codes != maps.NOT_MAPPED).mean() > 0.9, model
        mapped = rec.consensus_codes != maps.NOT_MAPPED
        assert np.isfinite(rec.consensus_confidence[mapped]).all() and np.isnan(rec.consensus_confidence[~mapped]).all()
        with rasterio.open(rec.out_dir / "consensus_probabilities.tif") as s:
            total = s.read().sum(0)
        assert np.allclose(total[mapped], 1.0, atol=1e-4), model  # the bands (classes given any probability) hold it all
    series = recs["pixel_series"].dates
    assert len(series) == 1 and series.loc[0, "dates_in_series"] > 10  # one map from the whole series, no per-date maps
    assert not list(recs["pixel_series"].out_dir.glob("2*_classes.tif"))
    assert len(recs["pixel_rf"].dates) == series.loc[0, "dates_in_series"]  # the one-date RF maps every date


def test_the_series_maps_in_strips_equal_the_models_on_their_test_pixels(per_pixel_maps):
    import joblib

    from rocksoil_nb.learn import series_baseline
    from rocksoil_nb.prepare.manifest import DatasetManifest
    from rocksoil_nb.prepare.steps import load_labels

    cfg, recs = per_pixel_maps
    ds_dir = cfg.layout.patches_dir("thermal_only")
    times, px = series_baseline.split_pixels(ds_dir, "spatial", load_labels(cfg))["test"]
    for name in ("pixel_series", "pixel_focal"):
        model = joblib.load(cfg.layout.run_dir("thermal_only", name, "spatial") / series_baseline.MODEL_FILE)
        whole = model.predict_proba(model.features(DatasetManifest.read(ds_dir).cube, times, ["LST", "EmisWB"])[0][px])
        with rasterio.open(recs[name].out_dir / "consensus_probabilities.tif") as s:
            bands = [int(d.split()[0]) for d in s.descriptions]
            stack = np.moveaxis(s.read(), 0, -1)[px]
        # features from strips (focal means from a margin of rows around each) = features from the whole scene at once
        assert np.allclose(stack, whole[:, bands], atol=1e-5), name
    assert len(joblib.load(cfg.layout.run_dir("thermal_only", "pixel_focal", "spatial") / series_baseline.MODEL_FILE).names) > 30


def test_best_is_the_highest_macro_f1_among_all_models_ties_to_the_simpler(demo_cfg):
    def table(f1):
        return pd.DataFrame([{"area": demo_cfg.name, "profile": demo_cfg.profile_name, "variant": "thermal_only",
                              "protocol": "spatial", "model": m, "f1": v} for m, v in f1.items()])

    r = table({"majority": 0.9, "pixel_series": 0.36, "cnn": 0.12, "convlstm": 0.17})
    assert evaluation.map_run(demo_cfg, r, "thermal_only") == "pixel_series"  # a per-pixel model, not only deep ones
    assert evaluation.map_run(demo_cfg, table({"tae": 0.5, "pixel_series": 0.5, "cnn": 0.2}), "thermal_only") == "pixel_series"
    assert evaluation.map_run(demo_cfg, r, "thermal_only", model="cnn") == "cnn"
    said = evaluation.choice_statement(demo_cfg, r, "thermal_only", "spatial", "pixel_series")
    assert "per-pixel series" in said and "0.360" in said and "ConvLSTM 0.170" in said and "majority" not in said
    with pytest.raises(FileNotFoundError, match="no finished thermal_only-tae-spatial"):
        evaluation.map_run(demo_cfg, r, "thermal_only", model="tae")


def test_the_web_map_has_every_layer_the_legend_and_says_when_there_is_no_basemap(per_pixel_maps, monkeypatch):
    import ipyleaflet

    from rocksoil_nb.viz import webmap

    cfg, recs = per_pixel_maps
    rec = recs["pixel_series"]
    mapped = rec.consensus_codes != maps.NOT_MAPPED
    inside = np.ones_like(mapped)
    inside[:10] = False
    maps.write_aoa_map(rec.out_dir / "consensus_aoa.tif", inside, mapped, rec.grid)
    monkeypatch.setattr(webmap, "online", lambda *a, **k: False)
    w = webmap.web_map(cfg, rec.out_dir)
    assert w.layers == ["entropy (bits)", "confidence (0-1)", "classes", "outside the area of applicability",
                        "geology map (unit outlines)"]
    assert "No basemap" in w.note and not [la for la in w.map.layers if isinstance(la, ipyleaflet.TileLayer)]
    present = sorted(int(k) for k in np.unique(rec.consensus_codes[mapped]))
    assert list(w.legend) == [f"{k} {classes.NAMES[k]}" for k in present]
    assert any(isinstance(c, ipyleaflet.LayersControl) for c in w.map.controls)
    assert [c.legend for c in w.map.controls if isinstance(c, ipyleaflet.LegendControl)] == [w.legend]
    (lat0, lon0), (lat1, lon1) = w.bounds
    assert 36 < lat0 < lat1 < 44 and -10 < lon0 < lon1 < 4  # the demo lies in Spain (UTM 30N)
    assert [la for la in webmap.web_map(cfg, rec.out_dir, basemap=True).map.layers if isinstance(la, ipyleaflet.TileLayer)]
    a, _ = webmap.to_web(rec.out_dir / "consensus_aoa.tif")
    rgba = webmap.colour(a, "aoa")
    assert (rgba[a == 0, 3] > 0).all() and (rgba[a != 0, 3] == 0).all()  # only the outside is drawn
    codes, _ = webmap.to_web(rec.out_dir / "consensus_classes.tif")
    assert (webmap.colour(codes, "classes")[codes == maps.NOT_MAPPED, 3] == 0).all()  # not mapped is transparent
    with pytest.raises(FileNotFoundError, match="no map of this run"):
        webmap.web_map(cfg, rec.out_dir.parent / "nothing")
