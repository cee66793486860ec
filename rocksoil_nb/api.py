"""Python API without the notebooks: arrays or a stored dataset in, a trained model and its metrics out.

    from rocksoil_nb import api
    model, history = api.fit_arrays(x, y, model="cnn", epochs=20)     # x (N, H, W, C) or (N, T, H, W, C)
    scores = api.score(model, x_test, y_test)                        # OA, macro-F1, per-class F1/IoU …
    result = api.fit_dataset("demo", variant="thermal_only", model="convlstm", protocol="spatial")
"""

from __future__ import annotations

import numpy as np

from rocksoil_nb import config
from rocksoil_nb.learn import losses, metrics, models, registry, train
from rocksoil_nb.learn.decision import among_choices, decide, probabilities
from rocksoil_nb.learn.runs import RunResult
from rocksoil_nb.learn.train import set_seed


def fit_arrays(x: np.ndarray, y: np.ndarray, model: str = "cnn", w: np.ndarray | None = None, validation: tuple | None = None,
               epochs: int = 20, batch_size: int = 8, learning_rate: float = 1e-3, loss: str = "weighted_focal",
               class_weights=None, gamma: float = 2.0, base_filters: int = 16, l2: float = 0.0, dropout: float = 0.0,
               seed: int = 0, verbose: int = 0):
    """Train ``model`` (a deep model of :mod:`rocksoil_nb.learn.registry`, or ``pixel_rf``) on patches ``x``, class codes
    ``y`` (N, H, W).

    ``w`` (N, H, W) marks pixels to learn from (0 = ignore); ``class_weights`` defaults to 1 for classes
    1-13 and 0 for class 0. Returns (model, history dict).
    """

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y).astype(np.int32)
    if x.shape[0] != y.shape[0] or x.shape[-3:-1] != y.shape[1:]:
        raise ValueError(f"x {x.shape} and y {y.shape} do not match: expected y of shape (N, H, W) = "
                         f"({x.shape[0]}, {x.shape[-3]}, {x.shape[-2]})")
    y_fit = np.where(np.asarray(w) > 0, y, losses.IGNORE).astype(np.int32) if w is not None else y
    entry = registry.get(model)
    if not entry.deep:
        if not entry.estimator:
            raise ValueError(f"model {model!r} reads the whole series of an area's cube, not patch arrays; use fit_dataset")
        return entry.load("estimator")(seed=seed).fit(x, y, w), {}
    set_seed(seed)
    cw = np.asarray(class_weights if class_weights is not None else losses.class_weights("equal"), dtype=float)
    net = models.build(model, x.shape[1:], base_filters=base_filters, l2=l2, dropout=dropout)
    models.compile_for_training(net, learning_rate, losses.make(loss, cw, gamma))
    val = None
    if validation is not None:
        vx, vy = validation[:2]
        val = (np.asarray(vx, np.float32), np.asarray(vy).astype(np.int32))
    h = net.fit(x, y_fit, validation_data=val, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    return net, h.history


def predict(model, x: np.ndarray, include_nodata: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(classes (N, H, W), probabilities (N, H, W, 14) over the classes a map can choose) for patches or sequences ``x``;
    the class is chosen as everywhere in the workbook (:func:`rocksoil_nb.learn.decision.decide`: class 0 only with ``include_nodata``)."""
    p = among_choices(probabilities(model, np.asarray(x, dtype=np.float32)), include_nodata)
    return decide(p, include_nodata)[0], p


def score(model, x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, include_nodata: bool = False) -> dict:
    """OA, macro-F1, mIoU, per-class scores and the confusion matrix on (x, y)."""
    pred, _ = predict(model, x, include_nodata)
    cm = metrics.confusion(y, pred, None if w is None else np.asarray(w) > 0)
    return {"confusion": cm.tolist(), **metrics.scores(cm, include_nodata)}


def fit_dataset(aoi: str, variant: str | None = None, model: str = "cnn", protocol: str = "spatial", profile: str | None = None,
                **kw) -> RunResult:
    """Train on a stored 05_patches dataset of area ``aoi`` (see :func:`rocksoil_nb.learn.train.train`)."""
    return train.train(config.load(aoi, profile), variant, model, protocol, **kw)
