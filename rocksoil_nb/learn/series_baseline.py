"""The per-pixel whole-series baseline ``pixel_series``: features of each pixel over every kept pass (see
:mod:`rocksoil_nb.learn.series_features`) and a histogram gradient-boosting classifier on them.

Which passes and pixels, per protocol (from the dataset's CNN samples, so the split is the deep models'):
training features come from the dates of the training samples, at the pixels their windows cover; test features
from the dates of the test samples, at the pixels of the test windows. Under ``spatial`` both use every date
(places differ); under ``thesis`` the training period is the earlier dates and the test the latest ones, so the
test pixels' features come from the test period only. Scores count each labelled test pixel once.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import io
from rocksoil_nb.core.classes import NODATA
from rocksoil_nb.learn import metrics
from rocksoil_nb.learn.baseline import all_classes
from rocksoil_nb.learn.runs import Fit, RunResult, save_units
from rocksoil_nb.learn.series_features import pixel_features
from rocksoil_nb.prepare import cube, splits
from rocksoil_nb.prepare.manifest import DatasetManifest

MODEL_FILE = "pixel_series.joblib"
MAX_PIXELS = 100_000  # training pixels at most (a seeded sample)
# Boosting settings, part of a run's key. Neighbouring pixels of one unit are near copies of each other, so scikit-learn's
# defaults (31 leaves, leaves of 20 pixels, step 0.1) learn the training blocks' local texture: on the simulated areas'
# spatial test blocks they scored macro-F1 0.35-0.52; these (fewer, larger leaves, a smaller step, an L2 penalty)
# 0.60-0.71 with the same features (README, "Results").
SETTINGS = {"max_iter": 150, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 100, "l2_regularization": 1.0}


class PixelSeries:
    """Histogram gradient boosting on whole-series pixel features (missing values handled natively)."""

    def __init__(self, seed: int = 0, max_pixels: int = MAX_PIXELS, **settings):
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.seed, self.max_pixels = seed, max_pixels
        self.names: list[str] = []
        self.columns: np.ndarray | None = None  # which features had a value in training
        self.model = HistGradientBoostingClassifier(**{**SETTINGS, **settings}, early_stopping=False, random_state=seed)

    def fit(self, x: np.ndarray, y: np.ndarray, names: list[str] | None = None) -> PixelSeries:
        """``x`` (N, F) features, ``y`` (N,) class codes."""
        if len(y) == 0:
            raise ValueError("no labelled pixel to train the whole-series baseline on")
        idx = np.arange(len(y))
        if len(idx) > self.max_pixels:
            idx = np.sort(np.random.default_rng(self.seed).choice(idx, self.max_pixels, replace=False))
        x = x[idx]
        self.columns = np.isfinite(x).any(axis=0)  # features with no value anywhere (no dates, no day/night) are left out
        if not self.columns.any():
            raise ValueError("no whole-series feature has a value on the training pixels")
        self.model.fit(x[:, self.columns], y[idx])
        self.names = [n for n, k in zip(names or [], self.columns) if k]
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(N, 14) class probabilities; classes never seen in training get 0."""
        return all_classes(self.model, x[:, self.columns])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_proba(x).argmax(-1)


def cube_features(cube_path: str | Path, times: np.ndarray, bands: list[str]) -> tuple[np.ndarray, list[str]]:
    """(H, W, F) features of every pixel over the cube's passes ``times`` (indices), SAR features when ``bands`` has VV."""
    ds = cube.open_cube(cube_path)
    times = np.sort(np.asarray(times, int))
    names = cube.band_names(ds)
    data = ds["data"].isel(time=times).values
    valid = ds["valid"].isel(time=times).values.astype(bool)
    temp = data[:, names.index(cube.temperature_band(ds))]
    emis = data[:, names.index("EmisWB")]
    known = cube.flags_known(ds)
    is_day = ds["is_day"].values[times].astype(bool) if "is_day" in known else None
    doy = None
    if cube.dates_known(ds):
        t = pd.DatetimeIndex(ds["time"].values[times])
        doy = (t.dayofyear + t.hour / 24.0).to_numpy(float)
    sar = "VV" in bands
    vv, vh = (data[:, names.index("VV")], data[:, names.index("VH")]) if sar else (None, None)
    return pixel_features(temp, emis, valid, is_day, doy, vv, vh)


def _pixels(windows: pd.DataFrame, size: int, labels: np.ndarray, include_nodata: bool) -> np.ndarray:
    """Mask of the (labelled) pixels the windows cover."""
    m = np.zeros(labels.shape, bool)
    for r, c in zip(windows["row"], windows["col"]):
        m[r : r + size, c : c + size] = True
    return m & ((labels != NODATA) | include_nodata)


def split_pixels(dataset_dir: Path, protocol: str, labels: np.ndarray, include_nodata: bool = False
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per split (train, test): (cube time indices of its samples, mask of its labelled pixels)."""
    m = DatasetManifest.read(dataset_dir)
    df = pd.read_csv(Path(dataset_dir) / "samples_cnn.csv")
    out = {}
    for s in ("train", "test"):
        part = df[df[f"split_{protocol}"] == s]
        out[s] = (np.unique(part["t"].to_numpy(int)), _pixels(part, m.patch_size, labels, include_nodata))
    return out


def _score(model, features: np.ndarray, labels: np.ndarray, px_test: np.ndarray, block_px: int, include_nodata: bool,
           out: Path, protocol: str) -> dict:
    """Test scores of the fitted baseline on the test pixels, keeping its confusions per spatial block
    (``test_units.npz``): one pixel is one sample; the whole test period is predicted at once, so under a date
    protocol too the units are the blocks of the area (:func:`rocksoil_nb.learn.runs.run_unit`)."""
    pred = model.predict(features[px_test])
    cm = metrics.confusion(labels[px_test], pred, None)
    rr, cc = np.nonzero(px_test)
    units = splits.sample_units(pd.DataFrame({"row": rr, "col": cc}), "spatial", block_px)
    ids, confs = metrics.unit_confusions(labels[px_test][:, None], pred[:, None], np.ones((len(pred), 1), bool), units)
    save_units(out, ids, confs, protocol, kind="block")
    return {"confusion": cm.tolist(), **metrics.scores(cm, include_nodata), "loss": None}


def rescore(cfg: AreaConfig, run_dir: Path, result: RunResult, folder: Path) -> dict:
    """Test scores of a finished run's saved model on its test pixels, per-block confusions written to ``folder``."""
    import joblib

    from rocksoil_nb.prepare.steps import load_labels

    ds_dir = cfg.layout.patches_dir(result.variant)
    m = DatasetManifest.read(ds_dir)
    labels = load_labels(cfg)
    t_test, px_test = split_pixels(ds_dir, result.protocol, labels, cfg.classes.include_nodata)["test"]
    model = joblib.load(Path(run_dir) / MODEL_FILE)
    return _score(model, cube_features(m.cube, t_test, m.bands)[0], labels, px_test, m.spatial.block_px,
                  cfg.classes.include_nodata, folder, result.protocol)


def fit(run: Fit) -> RunResult:
    """Fit and score the baseline for one run; writes the model and ``series.json`` (features used, dates and pixels of
    each split) to its folder."""
    import joblib

    cfg, variant, protocol, out, seed = run.cfg, run.variant, run.protocol, run.out, run.seed

    from rocksoil_nb.prepare.steps import load_labels

    t0 = time.time()
    ds_dir = cfg.layout.patches_dir(variant)
    m = DatasetManifest.read(ds_dir)
    labels = load_labels(cfg)
    parts = split_pixels(ds_dir, protocol, labels, cfg.classes.include_nodata)
    (t_train, px_train), (t_test, px_test) = parts["train"], parts["test"]
    if not px_train.any() or len(t_train) == 0:
        raise ValueError(f"{ds_dir}: no training pixels under the {protocol} protocol")
    f_train, names = cube_features(m.cube, t_train, m.bands)
    model = PixelSeries(seed).fit(f_train[px_train], labels[px_train].astype(int), names)
    with io.atomic_path(out / MODEL_FILE) as tmp:
        joblib.dump(model, tmp)
    test = None
    if px_test.any() and len(t_test):
        f_test = f_train if np.array_equal(t_test, t_train) else cube_features(m.cube, t_test, m.bands)[0]
        test = _score(model, f_test, labels, px_test, m.spatial.block_px, cfg.classes.include_nodata, out, protocol)
    result = RunResult(out.name, variant, run.model, protocol, 0, test, int(px_test.sum()), int(px_train.sum()), seed=seed)
    io.write_json(out / "series.json", {"features": model.names, "train_dates": len(t_train), "test_dates": len(t_test),
                                        "train_pixels": int(px_train.sum()), "test_pixels": int(px_test.sum()),
                                        "duration_s": round(time.time() - t0, 1)})
    return result


def warmup(cfg: AreaConfig, variant: str, model: str = "pixel_series", protocol: str = "spatial", seed: int = 0, dates: int = 8,
           pixels: int = 20_000) -> dict[str, float]:
    """Seconds per date of feature computation (timed on ``dates`` dates) and the classifier's fit on ``pixels``
    labelled pixels of the area, with the pixel count a run fits on (for a linear scale-up)."""
    from rocksoil_nb.prepare.steps import load_labels

    m = DatasetManifest.read(cfg.layout.patches_dir(variant))
    n = cube.open_cube(m.cube).sizes["time"]
    t0 = time.perf_counter()
    f, names = cube_features(m.cube, np.arange(min(dates, n)), m.bands)
    per_date = (time.perf_counter() - t0) / min(dates, n)
    labels = load_labels(cfg).ravel()
    x = f.reshape(-1, f.shape[-1])
    ok = np.flatnonzero((labels > 0) & (x[:, -1] > 0))  # labelled, valid on some date (the last feature: valid share)
    sample = np.random.default_rng(seed).choice(ok, min(pixels, len(ok)), replace=False) if len(ok) else ok
    t0 = time.perf_counter()
    if len(sample):
        PixelSeries(seed).fit(x[sample], labels[sample].astype(int), names)
    fit = time.perf_counter() - t0
    return {"date": per_date, "fit": fit, "fit_pixels": max(len(sample), 1), "run_pixels": min(int((labels > 0).sum()), MAX_PIXELS),
            "dates": n}


def cost(row, warm: dict, cfg: AreaConfig) -> float:
    """Estimated seconds of one planned run (a row of the experiment plan) from :func:`warmup`: features of every date
    (a fifth more where the test period differs) and the fit, scaled linearly to the run's pixels."""
    return warm["dates"] * warm["date"] * (1 if row.protocol == "spatial" else 1.2) + warm["fit"] * warm["run_pixels"] / warm["fit_pixels"]
