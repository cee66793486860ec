"""Segmentation losses (backend-agnostic ``keras.ops``).

Labels are class codes (B, H, W); ``IGNORE`` (255) marks pixels without a valid observation or
label, which never count. Class 0 (no data) gets weight 0 unless ``include_nodata`` (the thesis
included it). The per-pixel loss is averaged over the counted pixels (labelled, valid, class weight > 0):

    L = Σ_i w[y_i] · (1 − p_i)^γ · (−log p_i)  /  #counted pixels

with class weights w (area Table 12, or inverse / median frequency from training data) and
focal exponent γ (γ = 0 gives weighted cross-entropy; all weights 1 and γ = 0 give plain
sparse cross-entropy).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from rocksoil_nb.core.classes import N_CLASSES

IGNORE = 255
KINDS = ("cross_entropy", "weighted_cross_entropy", "weighted_focal")


@keras.saving.register_keras_serializable(package="rocksoil")
class SegmentationLoss(keras.losses.Loss):
    """Class-weighted focal / cross-entropy loss over pixels, ignoring label ``IGNORE``."""

    def __init__(self, class_weights=None, gamma: float = 0.0, n_classes: int = N_CLASSES, name: str = "segmentation_loss", **kwargs):
        kwargs["reduction"] = "sum_over_batch_size"
        super().__init__(name=name, **kwargs)
        self.class_weights = [float(x) for x in (class_weights if class_weights is not None else np.ones(n_classes))]
        self.gamma = float(gamma)
        self.n_classes = n_classes

    def call(self, y_true, y_pred):
        y = ops.cast(y_true, "int32")
        counted = ops.cast(ops.not_equal(y, IGNORE), "float32")
        y_safe = ops.where(ops.equal(y, IGNORE), ops.zeros_like(y), y)
        p = ops.clip(ops.cast(y_pred, "float32"), 1e-7, 1.0)
        onehot = ops.one_hot(y_safe, self.n_classes, dtype="float32")
        p_true = ops.sum(p * onehot, axis=-1)
        w = ops.take(ops.convert_to_tensor(self.class_weights, dtype="float32"), y_safe)
        counted = counted * ops.cast(ops.greater(w, 0.0), "float32")  # weight-0 classes (class 0 by default) do not count
        per_pixel = -w * ops.power(1.0 - p_true, self.gamma) * ops.log(p_true) * counted
        mean = ops.sum(per_pixel) / ops.maximum(ops.sum(counted), 1.0)
        # Keras averages what call() returns over the batch: return the pixel mean once per sample
        return ops.ones((ops.shape(y)[0],), dtype="float32") * mean

    def get_config(self):
        return {**super().get_config(), "class_weights": self.class_weights, "gamma": self.gamma, "n_classes": self.n_classes}


def class_weights(kind: str, area_weights: dict[int, float] | None = None, train_counts=None, include_nodata: bool = False,
                  n_classes: int = N_CLASSES) -> np.ndarray:
    """Weights per class code: ``area`` (parameters, thesis Table 12), ``inverse`` (or its square root,
    ``inverse_sqrt``) or ``median`` frequency of the training pixels (classes absent from training get 0),
    or ``equal``. Class 0 → 0 unless included."""
    if kind == "area":
        w = np.array([float((area_weights or {}).get(k, 1.0)) for k in range(n_classes)])
    elif kind in ("inverse", "inverse_sqrt", "median"):
        c = np.asarray(train_counts, dtype=float)
        freq = c / max(c[1:].sum() if not include_nodata else c.sum(), 1)
        present = c > 0
        if not include_nodata:
            present[0] = False
        w = np.zeros(n_classes)
        if kind in ("inverse", "inverse_sqrt"):
            w[present] = (1.0 / freq[present]) ** (0.5 if kind == "inverse_sqrt" else 1.0)
            w /= w[present].mean()
        else:
            w[present] = np.median(freq[present]) / freq[present]
    elif kind == "equal":
        w = np.ones(n_classes)
    else:
        raise ValueError(f"unknown class-weight kind {kind!r}: area, inverse, inverse_sqrt, median or equal")
    if not include_nodata:
        w[0] = 0.0
    return w


def make(kind: str, weights: np.ndarray, gamma: float = 2.0) -> SegmentationLoss:
    """The loss by name: cross_entropy (weights 1 except a masked class 0), weighted_cross_entropy, weighted_focal."""
    if kind not in KINDS:
        raise ValueError(f"unknown loss {kind!r}; choose from {KINDS}")
    w = np.asarray(weights, dtype=float)
    if kind == "cross_entropy":
        w = (w > 0).astype(float) if w[0] == 0 else np.ones_like(w)
    return SegmentationLoss(w, gamma if kind == "weighted_focal" else 0.0)
