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


def scores(cm: np.ndarray, include_nodata: bool = False) -> dict:
    """OA, per-class precision / recall / F1 / IoU, macro-F1, mIoU and weighted F1 from a confusion matrix."""
    cm = np.asarray(cm, dtype=np.float64)
    if not include_nodata:
        cm = cm.copy()
        cm[0, :] = 0  # true no-data pixels are not scored; pixels predicted 0 stay in their true class's row
    tp = np.diag(cm)
    support = cm.sum(1)
    predicted = cm.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        iou = np.where(support + predicted - tp > 0, tp / (support + predicted - tp), 0.0)
    present = support > 0
    total = support.sum()
    return {
        "oa": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "miou": float(iou[present].mean()) if present.any() else 0.0,
        "weighted_f1": float((f1 * support).sum() / total) if total else 0.0,
        "precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist(), "iou": iou.tolist(),
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
