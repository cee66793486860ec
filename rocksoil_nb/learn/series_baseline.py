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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import io
from rocksoil_nb.core.classes import N_CLASSES, NODATA
from rocksoil_nb.learn import metrics, registry
from rocksoil_nb.learn.baseline import all_classes
from rocksoil_nb.learn.runs import Fit, RunResult, RunSpec, save_units
from rocksoil_nb.learn.series_features import focal_means, pixel_features
from rocksoil_nb.prepare import cube, splits
from rocksoil_nb.prepare.manifest import DatasetManifest

MODEL_FILE = "pixel_series.joblib"
MAX_PIXELS = 100_000  # training pixels at most (a seeded sample)
# Boosting settings, part of a run's key. Neighbouring pixels of one unit are near copies of each other, so scikit-learn's
# defaults (31 leaves, leaves of 20 pixels, step 0.1) learn the training blocks' local texture: on the simulated areas'
# spatial test blocks they scored macro-F1 0.35-0.52; these (fewer, larger leaves, a smaller step, an L2 penalty)
# 0.60-0.71 with the same features (README, "Results").
SETTINGS = {"max_iter": 150, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 100, "l2_regularization": 1.0}
# ``pixel_focal``: the same features and boosting, with each feature's mean over 5 × 5 and 11 × 11 pixel neighbourhoods
# (350 m and 770 m at 70 m pixels) beside it — spatial context from the whole series (Cracknell & Reading 2015).
FOCAL_SETTINGS = {**SETTINGS, "focal_px": [5, 11]}


class PixelSeries:
    """Histogram gradient boosting on whole-series pixel features (missing values handled natively)."""

    def __init__(self, seed: int = 0, max_pixels: int = MAX_PIXELS, focal_px: list[int] | tuple[int, ...] = (), **settings):
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.seed, self.max_pixels = seed, max_pixels
        self.focal = tuple(int(k) for k in focal_px)  # neighbourhood sides (pixels) of the focal means; () = one pixel alone
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

    def features(self, cube_path: str | Path, times: np.ndarray, bands: list[str], rows: slice | None = None,
                 medians: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
        """(H, W, F) the model's features of the cube's passes ``times`` (:func:`cube_features`, with the focal means of
        ``focal`` sides beside them), for rows ``rows`` only when given: read with a margin of half the largest side so
        that a strip's focal means equal the whole scene's."""
        focal = getattr(self, "focal", ())  # runs fitted before focal features existed have none
        if not focal:
            return cube_features(cube_path, times, bands, rows, medians)
        if rows is None:
            return focal_means(*cube_features(cube_path, times, bands), focal)
        h = cube.open_cube(cube_path).sizes["y"]
        pad = max(focal) // 2
        r0, r1 = max(rows.start - pad, 0), min(rows.stop + pad, h)
        f, names = focal_means(*cube_features(cube_path, times, bands, slice(r0, r1), medians), focal)
        return f[rows.start - r0 : rows.start - r0 + (rows.stop - rows.start)], names

    def scene_probabilities(self, cube_path: str | Path, times: np.ndarray, bands: list[str], progress: bool = True
                            ) -> tuple[np.ndarray, np.ndarray]:
        """A whole scene's class probabilities and mapped mask (see :func:`scene_probabilities`)."""
        return scene_probabilities(self, cube_path, times, bands, progress)

    def window_probabilities(self, cube_path: str | Path, times: np.ndarray, bands: list[str], corners: list[tuple[int, int]],
                             size: int) -> np.ndarray:
        """(n, size, size, 14) class probabilities of the pixels of windows with upper-left ``corners``, each pixel from
        its series over the passes ``times`` (only those rows are read; anomalies against the whole-scene medians);
        0 where a pixel is valid on no pass."""
        med = scene_medians(cube_path, times)
        out = np.zeros((len(corners), size, size, N_CLASSES), np.float32)
        for i, (r, c) in enumerate(corners):
            f, names = self.features(cube_path, times, bands, slice(r, r + size), med)
            f = f[:, c : c + size]
            ok = f[..., names.index("valid_share")] > 0  # valid on some pass
            if ok.any():
                out[i][ok] = self.predict_proba(f[ok])
        return out


@dataclass(frozen=True)
class SeriesInputs:
    """What the whole-series features read of a cube for a set of passes: the positions of the bands they use in the
    cube's band axis (temperature, emissivity, and VV/VH where the variant has SAR) and, per pass, day/night and day
    of year (None where the cube does not know them)."""

    bands: dict[str, int]  # "temp", "emis" (and "vv", "vh") -> band index in the cube
    names: dict[str, str]  # the same keys -> the cube's band names (LST or LST_err, EmisWB, VV, VH)
    is_day: np.ndarray | None  # (T,) bool
    doy: np.ndarray | None  # (T,) day of year of the pass (UTC, fractional)
    when: pd.DatetimeIndex | None  # (T,) the passes' UTC times
    passes: int = 0  # T


def series_inputs(ds, times: np.ndarray, bands: list[str]) -> SeriesInputs:
    """The :class:`SeriesInputs` of cube ``ds`` (an open cube) for its passes ``times`` (sorted indices)."""
    names = cube.band_names(ds)
    use = {"temp": cube.temperature_band(ds), "emis": "EmisWB"}
    if "VV" in bands:
        use.update(vv="VV", vh="VH")
    known = cube.flags_known(ds)
    is_day = ds["is_day"].values[times].astype(bool) if "is_day" in known else None
    when = doy = None
    if cube.dates_known(ds):
        when = pd.DatetimeIndex(ds["time"].values[times])
        doy = (when.dayofyear + when.hour / 24.0).to_numpy(float)
    return SeriesInputs({k: names.index(b) for k, b in use.items()}, use, is_day, doy, when, len(times))


def features_of(data: np.ndarray, valid: np.ndarray, inputs: SeriesInputs, medians: np.ndarray | None = None
                ) -> tuple[np.ndarray, list[str]]:
    """(..., F) whole-series features of ``data`` (T, B, ...) with ``valid`` (T, ...) — a scene, a strip of rows or a
    set of pixels (then with the passes' scene ``medians``)."""
    b = inputs.bands
    sar = (data[:, b["vv"]], data[:, b["vh"]]) if "vv" in b else (None, None)
    return pixel_features(data[:, b["temp"]], data[:, b["emis"]], valid, inputs.is_day, inputs.doy, *sar, medians=medians)


def cube_features(cube_path: str | Path, times: np.ndarray, bands: list[str], rows: slice | None = None,
                  medians: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """(H, W, F) features of every pixel over the cube's passes ``times`` (indices), SAR features when ``bands`` has VV;
    only the rows ``rows`` of the scene when given, with the passes' scene ``medians`` (K, :func:`scene_medians`)."""
    ds = cube.open_cube(cube_path)
    times = np.sort(np.asarray(times, int))
    sel = {"time": times} if rows is None else {"time": times, "y": rows}
    data = ds["data"].isel(**sel).values
    valid = ds["valid"].isel(**sel).values.astype(bool)
    return features_of(data, valid, series_inputs(ds, times, bands), medians)


def scene_medians(cube_path: str | Path, times: np.ndarray) -> np.ndarray:
    """(T,) each pass's scene median of the temperature band over its valid pixels (K), read one pass at a time."""
    ds = cube.open_cube(cube_path)
    band = cube.band_names(ds).index(cube.temperature_band(ds))
    return np.array([cube.scene_median(ds["data"][int(t), band].values.astype(np.float64), ds["valid"][int(t)].values)
                     for t in np.sort(np.asarray(times, int))])


def scene_features(cube_path: str | Path, times: np.ndarray, bands: list[str], medians: np.ndarray | None = None,
                   rows_at_once: int = 64) -> tuple[np.ndarray, list[str]]:
    """(H, W, F) every pixel's own whole-series features over the passes ``times`` (no neighbourhood means) and their
    names, computed in strips of ``rows_at_once`` rows against the passes' scene ``medians`` (computed when not given)."""
    h = cube.open_cube(cube_path).sizes["y"]
    medians = scene_medians(cube_path, times) if medians is None else medians
    parts = [cube_features(cube_path, times, bands, slice(r, min(r + rows_at_once, h)), medians) for r in range(0, h, rows_at_once)]
    return np.concatenate([p[0] for p in parts], axis=0), parts[0][1]


STRIP_BYTES = 256 * 2**20  # input read at once when a scene is mapped (one strip of rows, every pass, every band)


def scene_probabilities(model: PixelSeries, cube_path: str | Path, times: np.ndarray, bands: list[str], progress: bool = True
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(class probabilities (H, W, 14) float32, mapped (H, W)) of every pixel of the cube from its whole series over the
    passes ``times``: features computed in strips of rows (memory: :data:`STRIP_BYTES` of input and the strip's
    features, whatever the scene's size), each pass's anomaly taken against its whole-scene median. A pixel valid on
    no pass is not mapped (probabilities 0)."""
    from tqdm.auto import tqdm

    ds = cube.open_cube(cube_path)
    times = np.sort(np.asarray(times, int))
    n_t, n_b, h, w = len(times), ds.sizes["band"], ds.sizes["y"], ds.sizes["x"]
    step = int(np.clip(STRIP_BYTES // max(n_t * n_b * w * 4, 1), 8, h))
    med = scene_medians(cube_path, times)
    probs = np.zeros((h, w, N_CLASSES), np.float32)
    mapped = np.zeros((h, w), bool)
    for r0 in tqdm(range(0, h, step), desc="series map", unit="strip", disable=not progress):
        rows = slice(r0, min(r0 + step, h))
        f, names = model.features(cube_path, times, bands, rows, med)
        ok = f[..., names.index("valid_share")] > 0  # valid on some pass
        if ok.any():
            part = np.zeros((*ok.shape, N_CLASSES), np.float32)
            part[ok] = model.predict_proba(f[ok])
            probs[rows], mapped[rows] = part, ok
    return probs, mapped


def _pixels(windows: pd.DataFrame, size: int, labels: np.ndarray, include_nodata: bool) -> np.ndarray:
    """Mask of the (labelled) pixels the windows cover."""
    m = np.zeros(labels.shape, bool)
    for r, c in zip(windows["row"], windows["col"]):
        m[r : r + size, c : c + size] = True
    return m & ((labels != NODATA) | include_nodata)


def split_pixels(dataset_dir: Path, protocol: str, labels: np.ndarray, include_nodata: bool = False
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per split (train, val, test): (cube time indices of its samples, mask of its labelled pixels)."""
    m = DatasetManifest.read(dataset_dir)
    df = pd.read_csv(Path(dataset_dir) / "samples_cnn.csv")
    out = {}
    for s in ("train", "val", "test"):
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
    return _score(model, model.features(m.cube, t_test, m.bands)[0], labels, px_test, m.spatial.block_px,
                  cfg.classes.include_nodata, folder, result.protocol)


def split_probabilities(cfg: AreaConfig, run_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities (n, 14), true classes (n,), spatial block (n,)) of a finished run's model on the labelled pixels of
    one split of its protocol, each pixel's features over that split's passes (as in training and scoring)."""
    import joblib

    from rocksoil_nb.prepare.steps import load_labels

    spec = RunSpec.read(run_dir)
    ds_dir = cfg.layout.patches_dir(spec.variant)
    m = DatasetManifest.read(ds_dir)
    labels = load_labels(cfg)
    times, px = split_pixels(ds_dir, spec.protocol, labels, cfg.classes.include_nodata)[split]
    if not px.any() or not len(times):
        raise ValueError(f"{run_dir}: no labelled pixel in the {split} split of the {spec.protocol} protocol")
    model = joblib.load(Path(run_dir) / MODEL_FILE)
    rr, cc = np.nonzero(px)
    blocks = splits.sample_units(pd.DataFrame({"row": rr, "col": cc}), "spatial", m.spatial.block_px)
    return model.predict_proba(model.features(m.cube, times, m.bands)[0][px]), labels[px].astype(int), blocks


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
    model = PixelSeries(seed, **registry.get(run.model).load("settings"))
    f_train, names = model.features(m.cube, t_train, m.bands)
    model.fit(f_train[px_train], labels[px_train].astype(int), names)
    with io.atomic_path(out / MODEL_FILE) as tmp:
        joblib.dump(model, tmp)
    test = None
    if px_test.any() and len(t_test):
        f_test = f_train if np.array_equal(t_test, t_train) else model.features(m.cube, t_test, m.bands)[0]
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
    est = PixelSeries(seed, **registry.get(model).load("settings"))
    t0 = time.perf_counter()
    f, names = est.features(m.cube, np.arange(min(dates, n)), m.bands)
    per_date = (time.perf_counter() - t0) / min(dates, n)
    labels = load_labels(cfg).ravel()
    x = f.reshape(-1, f.shape[-1])
    ok = np.flatnonzero((labels > 0) & (x[:, names.index("valid_share")] > 0))  # labelled, valid on some date
    sample = np.random.default_rng(seed).choice(ok, min(pixels, len(ok)), replace=False) if len(ok) else ok
    t0 = time.perf_counter()
    if len(sample):
        est.fit(x[sample], labels[sample].astype(int), names)
    fit = time.perf_counter() - t0
    return {"date": per_date, "fit": fit, "fit_pixels": max(len(sample), 1), "run_pixels": min(int((labels > 0).sum()), MAX_PIXELS),
            "dates": n}


def cost(row, warm: dict, cfg: AreaConfig) -> float:
    """Estimated seconds of one planned run (a row of the experiment plan) from :func:`warmup`: features of every date
    (a fifth more where the test period differs) and the fit, scaled linearly to the run's pixels."""
    return warm["dates"] * warm["date"] * (1 if row.protocol == "spatial" else 1.2) + warm["fit"] * warm["run_pixels"] / warm["fit_pixels"]
