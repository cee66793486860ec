"""The per-pixel baseline: a random forest on each pixel's values (all dates of a sequence, or one
patch's bands), predicting the same maps as the deep models, so every table shows what they add."""

from __future__ import annotations

import numpy as np

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core.classes import N_CLASSES


def _features(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) or (N, T, H, W, C) → (N·H·W, features)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 5:
        n, t, h, w, c = x.shape
        return np.moveaxis(x, 1, 3).reshape(n * h * w, t * c)
    n, h, w, c = x.shape
    return x.reshape(n * h * w, c)


def all_classes(model, features: np.ndarray) -> np.ndarray:
    """(N, 14) probabilities of a fitted scikit-learn classifier; classes it never saw in training get 0."""
    p = model.predict_proba(features)
    out = np.zeros((p.shape[0], N_CLASSES), dtype=np.float32)
    out[:, model.classes_.astype(int)] = p
    return out


MAX_PIXELS = 100_000  # training pixels the forest is fitted on at most (a seeded sample of the labelled, valid ones)


class PixelRF:
    """Random forest over pixels; ``fit`` takes patches and labels with sample weights (0 = ignore)."""

    def __init__(self, n_estimators: int = 100, max_pixels: int = MAX_PIXELS, min_samples_leaf: int = 2, seed: int = 0, n_jobs: int = 2):
        from sklearn.ensemble import RandomForestClassifier

        self.max_pixels, self.seed = max_pixels, seed
        self.rf = RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=min_samples_leaf, random_state=seed, n_jobs=n_jobs)

    def fit(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> PixelRF:
        f, t = _features(x), np.asarray(y).ravel()
        keep = np.flatnonzero(np.ones_like(t, bool) if w is None else np.asarray(w).ravel() > 0)
        if len(keep) == 0:
            raise ValueError("no labelled, valid pixel to train the per-pixel forest on")
        if len(keep) > self.max_pixels:
            keep = np.sort(np.random.default_rng(self.seed).choice(keep, self.max_pixels, replace=False))
        self.rf.fit(f[keep], t[keep])
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (N, H, W, 14); classes never seen in training get 0."""
        x = np.asarray(x)
        n, h, w = (x.shape[0], x.shape[-3], x.shape[-2])
        return all_classes(self.rf, _features(x)).reshape(n, h, w, N_CLASSES)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_proba(x).argmax(-1)


def warmup(cfg: AreaConfig, variant: str, model: str = "pixel_rf", protocol: str = "spatial", seed: int = 0) -> dict[str, float]:
    """Seconds per training pixel of the forest (fit on a sample, scaled linearly) and per predicted batch."""
    import time

    from rocksoil_nb.learn.datasets import PatchData

    data = PatchData(cfg.layout.patches_dir(variant), protocol, "train", "cnn", batch_size=32, seed=seed, max_samples=32,
                     include_nodata=cfg.classes.include_nodata, validity_channel=cfg.preprocess.validity_channel)
    x, y, w = data[0]
    t0 = time.perf_counter()
    rf = PixelRF(seed=seed).fit(x, y, w)
    fit = (time.perf_counter() - t0) / max(int((w > 0).sum()), 1)
    t0 = time.perf_counter()
    rf.predict_proba(x)
    return {"pixel": fit, "predict": time.perf_counter() - t0, "batch": len(x)}


def cost(row, warm: dict, cfg: AreaConfig) -> float:
    """Estimated seconds of one planned run (a row of the experiment plan) from :func:`warmup`: the fit on the run's
    training pixels (at most :data:`MAX_PIXELS`) and the prediction of its test patches."""
    import math

    fit_px = min(row.train_samples * cfg.hyperparameters.patch_size ** 2, MAX_PIXELS)
    return fit_px * warm["pixel"] + math.ceil(row.test_samples / warm["batch"]) * warm["predict"]
