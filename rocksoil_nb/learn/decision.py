"""The class decision, in one place: class probabilities of a model in batches, and the class (and its
confidence) chosen per pixel. Training scores, results tables, full-scene maps, ``rocksoil predict``,
the explorer and the Python API all decide through :func:`decide`.
"""

from __future__ import annotations

import numpy as np

from rocksoil_nb.core.classes import N_CLASSES, NAMES


def probabilities(model, x: np.ndarray, batch: int = 64) -> np.ndarray:
    """Class probabilities (N, H, W, 14) float32 of a Keras model or the per-pixel forest, ``batch`` samples at a time."""
    f = model.predict_proba if hasattr(model, "predict_proba") else model.predict_on_batch
    parts = [np.asarray(f(x[i : i + batch]), dtype=np.float32) for i in range(0, len(x), batch)]
    return np.concatenate(parts) if parts else np.zeros((0, *x.shape[-3:-1], N_CLASSES), np.float32)


def among_choices(p: np.ndarray, include_nodata: bool = False) -> np.ndarray:
    """Probabilities (..., 14) over the classes a map can choose: without ``include_nodata`` class 0 (no data, which
    takes no part in training) gets 0 and the others are rescaled to sum to 1, so a map's probability bands, its
    confidence and its calibration all speak of the classes it can show. Unchanged with ``include_nodata``."""
    if include_nodata:
        return p
    q = np.array(p, dtype=np.float32)
    q[..., 0] = 0.0
    s = q.sum(-1, keepdims=True)
    return np.divide(q, s, out=q, where=s > 0)


def decide(p: np.ndarray, include_nodata: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(class, confidence) per pixel from probabilities (..., 14): the most probable class and its
    probability; class 0 (no data) is never chosen unless ``include_nodata`` (it takes no part in training)."""
    first = 0 if include_nodata else 1
    conf = np.array(p[..., first], dtype=np.float32)  # a running maximum over classes: no copy of the (…, 14) array
    k = np.full(conf.shape, first, dtype=np.uint8)
    for c in range(first + 1, p.shape[-1]):
        better = p[..., c] > conf  # strict: ties keep the lower code, as argmax does
        conf[better] = p[..., c][better]
        k[better] = c
    return k, conf


def pixel_table(p: np.ndarray, include_nodata: bool = False):
    """The decision on one pixel: each class's probability and which one :func:`decide` chooses."""
    import pandas as pd


    k, conf = decide(np.asarray(p, np.float32)[None], include_nodata)
    df = pd.DataFrame({"class": [f"{c} {NAMES[c]}" for c in range(len(p))], "probability": np.round(p, 3)})
    df["chosen"] = ["◀" if c == int(k[0]) else "" for c in range(len(p))]
    return df.sort_values("probability", ascending=False).head(5).set_index("class")
