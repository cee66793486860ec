"""Segmentation metrics from a confusion matrix (rows = true class, columns = predicted class).

Scores are computed over the classes present in the reference (true) pixels. When class 0 (no data)
is left out (``include_nodata`` False), only pixels whose *true* class is 0 are dropped: a labelled
pixel predicted as 0 stays counted, and wrong. OA = correct / counted pixels.
"""

from __future__ import annotations

import numpy as np

from rocksoil_nb.core.classes import N_CLASSES

N = N_CLASSES


def confusion(y_true: np.ndarray, y_pred: np.ndarray, mask: np.ndarray | None = None, n: int = N) -> np.ndarray:
    """Confusion matrix (n × n, int64) of the pixels where ``mask`` (default: all) is true."""
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    m = np.ones_like(t, dtype=bool) if mask is None else np.asarray(mask).ravel().astype(bool)
    m &= (t < n) & (p < n)
    return np.bincount(t[m] * n + p[m], minlength=n * n).reshape(n, n).astype(np.int64)


def per_class(cm: np.ndarray, include_nodata: bool = False) -> dict[str, np.ndarray]:
    """Per-class counts and rates of one confusion matrix or a stack of them (..., n, n): true-positive, support
    (true pixels), predicted pixels, precision, recall, F1 and IoU (0 where undefined); class 0's true pixels dropped
    unless ``include_nodata``."""
    cm = np.array(cm, dtype=np.float64)
    if not include_nodata:
        cm[..., 0, :] = 0  # true no-data pixels are not scored; pixels predicted 0 stay in their true class's row
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support, predicted = cm.sum(-1), cm.sum(-2)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        iou = np.where(support + predicted - tp > 0, tp / (support + predicted - tp), 0.0)
    return {"tp": tp, "support": support, "predicted": predicted, "precision": precision, "recall": recall, "f1": f1, "iou": iou}


def scores(cm: np.ndarray, include_nodata: bool = False) -> dict:
    """OA, per-class precision / recall / F1 / IoU, macro-F1, mIoU and weighted F1 from a confusion matrix."""
    c = per_class(cm, include_nodata)
    f1, iou, support = c["f1"], c["iou"], c["support"]
    present = support > 0
    total = support.sum()
    return {
        "oa": float(c["tp"].sum() / total) if total else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "miou": float(iou[present].mean()) if present.any() else 0.0,
        "weighted_f1": float((f1 * support).sum() / total) if total else 0.0,
        "precision": c["precision"].tolist(), "recall": c["recall"].tolist(), "f1": f1.tolist(), "iou": iou.tolist(),
        "support": support.astype(int).tolist(), "classes": np.flatnonzero(present).tolist(),
    }


def unit_confusions(y_true: np.ndarray, y_pred: np.ndarray, mask: np.ndarray, units: np.ndarray,
                    n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """(unit ids, confusion matrices (units, n, n)) of per-sample label arrays (samples first) grouped by ``units``."""
    units = np.asarray(units)
    ids = np.unique(units)
    out = np.zeros((len(ids), n, n), np.int64)
    for k, u in enumerate(ids):
        sel = units == u
        out[k] = confusion(np.asarray(y_true)[sel], np.asarray(y_pred)[sel], np.asarray(mask)[sel], n)
    return ids, out
