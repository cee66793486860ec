"""Training and prediction throughput of each model at batch 4 and 32 (patches or sequences per second)
and the share of this machine's float32 matrix-multiply rate they reach: model FLOPs × samples/s ÷ the
peak measured in the same run (training counted as 3 × forward). Usage:
    .venv/bin/python bench/models.py [--patch 64] [--t 5] [--channels 2] [--filters 16]
Set KERAS_BACKEND=jax to measure under JAX (e.g. on a GPU machine).
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

from rocksoil_nb.learn import flops, losses, models


def throughput(model, x, y, batch: int, train: bool, seconds: float = 6.0) -> float:
    xb, yb = x[:batch], y[:batch]
    step = (lambda: model.train_on_batch(xb, yb)) if train else (lambda: model.predict_on_batch(xb))
    step()
    step()  # warm-up (tracing / compilation)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n * batch / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--t", type=int, default=5)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--filters", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=6.0)
    a = ap.parse_args()
    peak = flops.matmul_peak_gflops()
    print(f"backend {keras.backend.backend()}; measured float32 matmul peak {peak:.1f} GFLOP/s; patch {a.patch}, T {a.t}, "
          f"C {a.channels}, base filters {a.filters}")
    print(f"{'model':9s} {'GFLOP/sample':>12s} {'batch':>5s} {'train/s':>8s} {'train %peak':>11s} {'predict/s':>9s} {'predict %peak':>13s}")
    rng = np.random.default_rng(0)
    for name in models.MODELS:
        shape = (a.patch, a.patch, a.channels) if name == "cnn" else (a.t, a.patch, a.patch, a.channels)
        m = models.build(name, shape, base_filters=a.filters)
        m.compile(optimizer=keras.optimizers.Adam(1e-4), loss=losses.make("weighted_focal", losses.class_weights("equal")))
        f = flops.model_flops(m) / 1e9
        x = rng.normal(size=(32, *shape)).astype("float32")
        y = rng.integers(1, 14, (32, a.patch, a.patch))
        for batch in (4, 32):
            tr = throughput(m, x, y, batch, True, a.seconds)
            pr = throughput(m, x, y, batch, False, a.seconds)
            print(f"{name:9s} {f:12.3f} {batch:5d} {tr:8.1f} {100 * 3 * f * tr / peak:10.1f}% {pr:9.1f} {100 * f * pr / peak:12.1f}%",
                  flush=True)


if __name__ == "__main__":
    main()
