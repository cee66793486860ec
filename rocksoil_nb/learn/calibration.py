"""Is a pixel shown at confidence 0.8 right 80 % of the time? Calibration of a map's class probabilities.

* :func:`ece`: the expected calibration error with equal-mass bins — pixels sorted by confidence (the probability of
  the chosen class) into bins of equal counts; ECE = Σ_b (n_b / N) · abs(accuracy_b − mean confidence_b) (Guo et al. 2017
  with the equal-mass binning of Nixon et al. 2019); :func:`reliability` gives the bins for a reliability diagram.
* :class:`Temperature`: temperature scaling (Guo et al. 2017), one number T fitted by minimising the negative
  log-likelihood of softmax(log p / T) on held-out labelled pixels; it changes confidence, never the chosen class.
* :class:`Isotonic`: one-vs-rest isotonic regression of each class's probability against "is this class" (scikit-learn's
  ``IsotonicRegression``), renormalised to sum to 1, as scikit-learn's ``CalibratedClassifierCV(method="isotonic")``
  does for several classes.

A run's calibrator is fitted on the spatial protocol's validation blocks, never on test, and stored with the run. It is
temperature scaling or none (:data:`METHODS`), whichever has the lower ECE on validation blocks held out from the fit
(:func:`cross_validated`, ties to none: :func:`choose`). Isotonic regression is not among them: it learns the class
make-up of the blocks it is fitted on (a class absent there gets probability 0 everywhere, changing the map's classes),
and on the simulated areas' test blocks it made the ECE worse for most models — ``bench/calibration.py`` measures all
three on a report's runs.

Guo, C., Pleiss, G., Sun, Y. & Weinberger, K. Q. (2017). On calibration of modern neural networks. *ICML 2017*.
Nixon, J., Dusenberry, M., Zhang, L., Jerfel, G. & Tran, D. (2019). Measuring calibration in deep learning. *CVPR
Workshops 2019*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

BINS = 15  # equal-mass bins of the ECE and the reliability diagram
EPS = 1e-7  # probabilities are clipped to this before a logarithm


def _conf_correct(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, np.float64).reshape(-1, np.shape(probs)[-1])
    y = np.asarray(labels).ravel()
    return p.max(1), p.argmax(1) == y


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> pd.DataFrame:
    """Equal-mass bins of confidence: per bin the pixels, mean confidence and accuracy (``probs`` (..., classes), ``labels``
    the true class of each pixel)."""
    conf, ok = _conf_correct(probs, labels)
    if conf.size == 0:
        raise ValueError("no labelled pixel to measure calibration on")
    order = np.argsort(conf, kind="stable")
    parts = [p for p in np.array_split(order, min(bins, conf.size)) if p.size]
    return pd.DataFrame({"pixels": [p.size for p in parts], "mean confidence": [conf[p].mean() for p in parts],
                         "accuracy": [ok[p].mean() for p in parts]})


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error (0 = calibrated; equal-mass bins) of ``probs`` (..., classes) against ``labels``."""
    r = reliability(probs, labels, bins)
    return float((r["pixels"] * (r["accuracy"] - r["mean confidence"]).abs()).sum() / r["pixels"].sum())


def _softmax_log(p: np.ndarray, t: float) -> np.ndarray:
    """softmax(log p / T); a class of probability 0 (one the map cannot choose, or never predicted) stays at 0."""
    z = np.log(np.clip(p, EPS, 1.0)) / t
    z -= z.max(-1, keepdims=True)
    e = np.where(p > 0, np.exp(z), 0.0)
    s = e.sum(-1, keepdims=True)
    return np.divide(e, s, out=np.zeros_like(e), where=s > 0)


@dataclass
class Temperature:
    """Temperature scaling: ``apply(p)`` = softmax(log p / T); T > 1 softens an over-confident model."""

    t: float = 1.0

    def fit(self, probs: np.ndarray, labels: np.ndarray) -> Temperature:
        """Fit T on held-out pixels (``probs`` (n, classes), ``labels`` (n,)) by minimising the negative log-likelihood."""
        from scipy.optimize import minimize_scalar

        p = np.asarray(probs, np.float64).reshape(-1, np.shape(probs)[-1])
        y = np.asarray(labels).ravel().astype(int)
        if len(y) == 0:
            raise ValueError("no labelled pixel to fit a temperature on")

        def nll(log_t: float) -> float:
            q = _softmax_log(p, float(np.exp(log_t)))
            return float(-np.log(np.clip(q[np.arange(len(y)), y], EPS, 1.0)).mean())

        self.t = float(np.exp(minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded").x))
        return self

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, same shape as ``probs``."""
        return _softmax_log(np.asarray(probs, np.float64), self.t).astype(np.float32)


@dataclass
class Isotonic:
    """One-vs-rest isotonic regression per class, renormalised; classes never seen in fitting keep probability 0."""

    models: dict[int, object] = field(default_factory=dict)

    def fit(self, probs: np.ndarray, labels: np.ndarray) -> Isotonic:
        """Fit on held-out pixels (``probs`` (n, classes), ``labels`` (n,))."""
        from sklearn.isotonic import IsotonicRegression

        p = np.asarray(probs, np.float64).reshape(-1, np.shape(probs)[-1])
        y = np.asarray(labels).ravel().astype(int)
        if len(y) == 0:
            raise ValueError("no labelled pixel to fit the isotonic calibration on")
        self.models = {k: IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p[:, k], (y == k).astype(float))
                       for k in range(p.shape[1]) if p[:, k].max() > 0 or (y == k).any()}
        return self

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, same shape as ``probs`` (a pixel all of whose classes map to 0 keeps its input)."""
        shape = np.shape(probs)
        p = np.asarray(probs, np.float64).reshape(-1, shape[-1])
        q = np.zeros_like(p)
        for k, m in self.models.items():
            q[:, k] = m.predict(p[:, k])
        s = q.sum(1, keepdims=True)
        q = np.where(s > 0, q / np.where(s > 0, s, 1), p)
        return q.reshape(shape).astype(np.float32)


@dataclass
class Identity:
    """No calibration: the probabilities as the model gives them (chosen where held-out blocks show nothing better)."""

    def fit(self, probs: np.ndarray, labels: np.ndarray) -> Identity:
        return self

    def apply(self, probs: np.ndarray) -> np.ndarray:
        return np.asarray(probs, np.float32)


#: the calibrators a run may get, simplest first (a tie in held-out ECE goes to the simpler)
METHODS = {"none": Identity, "temperature": Temperature}
TIE = 0.002  # held-out ECE differences smaller than this are a tie


def cross_validated(probs: np.ndarray, labels: np.ndarray, groups: np.ndarray, folds: int = 5,
                    methods: dict | None = None) -> dict[str, float]:
    """ECE of each of ``methods`` (default :data:`METHODS`) on held-out groups: fitted on the other groups
    (scikit-learn's ``GroupKFold`` over the spatial blocks of the validation pixels, at most ``folds`` folds), applied to
    the group left out, the out-of-fold probabilities pooled. {} with fewer than two groups."""
    from sklearn.model_selection import GroupKFold

    p, y, g = np.asarray(probs, np.float64), np.asarray(labels).astype(int), np.asarray(groups)
    n = len(np.unique(g))
    if n < 2:
        return {}
    methods = methods or METHODS
    oof = {name: np.zeros_like(p) for name in methods}
    for train, held in GroupKFold(n_splits=min(folds, n)).split(p, y, g):
        for name, method in methods.items():
            oof[name][held] = method().fit(p[train], y[train]).apply(p[held])
    return {name: ece(q, y) for name, q in oof.items()}


def choose(scores: dict[str, float], default: str) -> str:
    """The method of lowest held-out ECE (:func:`cross_validated`), ties within :data:`TIE` to the simpler; ``default``
    where there are no scores."""
    if not scores:
        return default
    best = min(scores.values())
    return next(name for name in METHODS if scores[name] <= best + TIE)


def save(calibrator: Temperature | Isotonic | Identity, path: str | Path) -> Path:
    """Store a fitted calibrator beside its run (joblib)."""
    import joblib

    from rocksoil_nb.core import io

    with io.atomic_path(Path(path)) as tmp:
        joblib.dump(calibrator, tmp)
    return Path(path)


def load(path: str | Path) -> Temperature | Isotonic:
    """A calibrator written by :func:`save`."""
    import joblib

    return joblib.load(path)


def stored(run_dir: str | Path) -> Temperature | Isotonic | None:
    """The calibrator stored with a run (``calibration.joblib``; None where none was fitted)."""
    from rocksoil_nb.learn.runs import CALIBRATION

    path = Path(run_dir) / CALIBRATION
    return load(path) if path.exists() else None
