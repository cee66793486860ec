"""Area of applicability: where a model's inputs are like its training data (Meyer & Pebesma 2021).

The dissimilarity index (DI) of a pixel is the distance, in the model's input feature space, from its features to the
nearest training sample, divided by the mean distance between training samples (:math:`\\bar d`). Features are
standardised with the training mean and standard deviation and multiplied by their importance for the model, so a
feature the model ignores adds no dissimilarity. The threshold comes from the training data themselves: each training
sample's DI to the nearest training sample of *another* cross-validation fold (for spatial blocks, another block), and
the threshold is the upper whisker of those values (the largest at most Q3 + 1.5 IQR, R's ``boxplot.stats``, as the
authors' CAST package ``trainDI`` does). A pixel with DI above it is outside the area of applicability: the model
extrapolates there and its accuracy figures do not apply.

Here, unlike CAST, a missing feature value (NaN: a night mean where a pixel has no night pass) is set to the training
mean after standardising, so it adds no dissimilarity; and the training set is a seeded sample of at most
:data:`MAX_TRAIN` samples (nearest-neighbour search on scikit-learn's trees; the mean distance on at most
:data:`MAX_MEAN` of them).

Meyer, H. & Pebesma, E. (2021). Predicting into unknown space? Estimating the area of applicability of spatial
prediction models. *Methods in Ecology and Evolution* 12, 1620–1633.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_TRAIN = 20_000  # training samples kept as the reference set (a seeded sample)
MAX_MEAN = 2_000  # training samples the mean distance between training samples is computed on


def upper_whisker(values: np.ndarray) -> float:
    """The largest value at most Q3 + 1.5 IQR (the upper whisker of a box plot; Tukey's hinges as R's ``boxplot.stats``)."""
    v = np.sort(np.asarray(values, float)[np.isfinite(values)])
    if v.size == 0:
        raise ValueError("no finite value to take a whisker of")
    n = v.size
    lower_half, upper_half = v[: (n + 1) // 2], v[n // 2:]
    q1, q3 = np.median(lower_half), np.median(upper_half)
    return float(v[v <= q3 + 1.5 * (q3 - q1)].max())


@dataclass
class TrainDI:
    """What the DI of new data needs: the standardisation, the weights, the (weighted, standardised) training samples,
    the mean distance between them, the training DI and the threshold."""

    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    train: np.ndarray
    mean_distance: float
    train_di: np.ndarray
    threshold: float

    def _space(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, np.float64) - self.mean) / self.scale
        return np.where(np.isfinite(z), z, 0.0) * self.weights

    def di(self, x: np.ndarray, batch: int = 200_000) -> np.ndarray:
        """DI of each row of ``x`` (n, features): nearest training sample's distance / the mean training distance."""
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=1).fit(self.train)
        x = np.asarray(x)
        out = np.empty(len(x), np.float64)
        for i in range(0, len(x), batch):
            out[i:i + batch] = nn.kneighbors(self._space(x[i:i + batch]))[0][:, 0]
        return out / self.mean_distance

    def inside(self, di: np.ndarray) -> np.ndarray:
        """Whether each DI is within the area of applicability (DI ≤ threshold)."""
        return np.asarray(di) <= self.threshold

    def save(self, path: str | Path) -> Path:
        """Write to ``path`` (``.npz``), beside the run it belongs to."""
        from rocksoil_nb.core import io

        with io.atomic_path(Path(path), suffix=".npz") as tmp:
            np.savez(tmp, names=np.array(self.names), mean=self.mean, scale=self.scale, weights=self.weights, train=self.train,
                     mean_distance=self.mean_distance, train_di=self.train_di, threshold=self.threshold)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> TrainDI:
        """Read what :meth:`save` wrote."""
        with np.load(path) as z:
            return cls([str(n) for n in z["names"]], z["mean"], z["scale"], z["weights"], z["train"], float(z["mean_distance"]),
                       z["train_di"], float(z["threshold"]))


def train_di(x: np.ndarray, folds: np.ndarray | None = None, weights: np.ndarray | None = None, names: list[str] | None = None,
             seed: int = 0) -> TrainDI:
    """The training side of the AOA from training features ``x`` (n, features), their cross-validation ``folds`` (n,; e.g.
    spatial block ids: a sample's training DI is to the nearest sample of another fold; None: to any other sample) and
    feature ``weights`` (importances, ≥ 0; default 1)."""
    from sklearn.metrics import pairwise_distances
    from sklearn.neighbors import NearestNeighbors

    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"training features must be (samples ≥ 2, features), got shape {x.shape}")
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(x), MAX_TRAIN, replace=False)) if len(x) > MAX_TRAIN else np.arange(len(x))
    x = x[keep]
    folds = None if folds is None else np.asarray(folds)[keep]
    mean = np.nanmean(x, axis=0)
    scale = np.nanstd(x, axis=0)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    w = np.ones(x.shape[1]) if weights is None else np.clip(np.asarray(weights, np.float64), 0, None)
    if w.shape != (x.shape[1],) or not w.any():
        raise ValueError(f"weights must be {x.shape[1]} non-negative numbers, not all 0")
    t = TrainDI(list(names or [f"f{i}" for i in range(x.shape[1])]), mean, scale, w, np.empty((0, x.shape[1])), 1.0,
                np.empty(0), 0.0)
    z = t._space(x)
    sub = z[rng.choice(len(z), MAX_MEAN, replace=False)] if len(z) > MAX_MEAN else z
    d = pairwise_distances(sub)
    mean_distance = float(d.sum() / (len(sub) * (len(sub) - 1)))
    if not mean_distance > 0:
        raise ValueError("every training sample has the same features: no dissimilarity can be measured")
    nearest = np.full(len(z), np.nan)
    if folds is None:
        nearest = NearestNeighbors(n_neighbors=2).fit(z).kneighbors(z)[0][:, 1]
    else:
        for f in np.unique(folds):
            mine = folds == f
            if (~mine).any():
                nearest[mine] = NearestNeighbors(n_neighbors=1).fit(z[~mine]).kneighbors(z[mine])[0][:, 0]
    tdi = nearest / mean_distance
    return TrainDI(t.names, mean, scale, w, z, mean_distance, tdi, upper_whisker(tdi))
