"""Forward-pass floating-point operations of the models (multiply-add = 2 FLOPs), counted from the
layers: convolutions, transposed convolutions, ConvLSTM cells (per time step), dense maps; batch norm,
activations and pooling are left out (memory-bound, small)."""

from __future__ import annotations

import numpy as np


def _shape(t):
    return tuple(int(s) for s in t.shape[1:])


def layer_flops(layer, repeat: int = 1) -> float:
    from keras import layers

    name = type(layer).__name__
    if isinstance(layer, layers.TimeDistributed):
        t = _shape(layer.input)[0]
        inner = layer.layer
        if hasattr(inner, "layers"):
            return t * sum(layer_flops(sub) for sub in inner.layers)
        return t * layer_flops(inner)
    if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose)):
        cin = _shape(layer.input)[-1]
        k = int(np.prod(layer.kernel_size))
        if isinstance(layer, layers.Conv2DTranspose):
            h, w, _ = _shape(layer.input)
        else:
            h, w, _ = _shape(layer.output)
        return 2.0 * h * w * k * cin * layer.filters * repeat
    if name == "ConvLSTM2D":
        ins = _shape(layer.input)
        t, h, w, cin = ins
        k = int(np.prod(layer.kernel_size))
        return 2.0 * t * h * w * k * (cin + layer.filters) * 4 * layer.filters
    if name == "TemporalAttention":
        t, h, w, c = _shape(layer.input)
        return 2.0 * t * h * w * c * layer.heads * layer.key_dim
    if hasattr(layer, "layers") and layer.layers:
        return sum(layer_flops(sub) for sub in layer.layers)
    return 0.0


def model_flops(model) -> float:
    """Forward FLOPs for one sample (patch or sequence)."""
    return float(sum(layer_flops(layer) for layer in model.layers))


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Measured float32 matrix-multiply rate of this machine (GFLOP/s, best of ``repeats``)."""
    import time

    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best / 1e9
