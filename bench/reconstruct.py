"""Full-scene reconstruction cost and prediction memory. Usage:
    .venv/bin/python bench/reconstruct.py [--rows 267 --cols 397] [--large 2000] [--patch 64]

1. On a full-size stand-in grid (default the Villoslada thermal grid, 267 x 397 pixels of 70 m), the time
   to reconstruct one date (read + normalise the frames, cut the overlapping windows, predict, average,
   argmax) against the bare model prediction of the same windows already in memory. Target: stitching
   overhead (ratio - 1) under 20 %.
2. Peak resident memory of ``rocksoil predict``'s mapping step on a large scene (default 2000 x 2000
   pixels, 3 dates), measured in a child process, beside the size of one date's input.
Models are untrained (timing only); the cube is synthetic, written to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_cube(path: Path, rows: int, cols: int, n_t: int, seed: int = 0) -> Path:
    import xarray as xr

    from rocksoil_nb.core.grid import Grid

    g = Grid("EPSG:32630", 500000.0, 4650000.0, 70.0, rows, cols)
    rng = np.random.default_rng(seed)
    x, y = g.centres()
    ds = None
    for t in range(n_t):
        data = np.full((1, 5, rows, cols), np.nan, np.float32)
        data[0, 0] = 290 + 10 * rng.standard_normal((rows, cols)).astype(np.float32)
        data[0, 1] = 0.97 + 0.01 * rng.standard_normal((rows, cols)).astype(np.float32)
        valid = np.ones((1, rows, cols), np.uint8)
        ds = xr.Dataset({"data": (("time", "band", "y", "x"), data), "valid": (("time", "y", "x"), valid)},
                        coords={"time": [np.datetime64("2022-01-01") + np.timedelta64(7 * t, "D")],
                                "band": ["LST", "EmisWB", "VV", "VH", "NDVI"],
                                "y": y, "x": x, "is_day": ("time", [True]), "is_summer": ("time", [False]),
                                "local_solar_hour": ("time", [13.0]), "has_sar": ("time", [False]), "has_ndvi": ("time", [False])},
                        attrs={"crs": g.crs, "transform": list(g.transform)[:6], "complete": True})
        if t == 0:
            enc = {"data": {"chunks": (1, 5, 256, 256)}, "valid": {"chunks": (1, 256, 256)}}
            ds.to_zarr(path, mode="w", encoding=enc, zarr_format=2, consolidated=True)
        else:
            ds.to_zarr(path, append_dim="time", consolidated=True)
    return path


def spec_for(kind: str, patch: int, t: int):
    from rocksoil_nb.learn.runs import RunSpec

    return RunSpec(area="bench", variant="thermal_only", model="cnn" if kind == "cnn" else "convlstm", protocol="spatial", kind=kind,
                   bands=["LST", "EmisWB"], mean=[290.0, 0.97], std=[10.0, 0.01], patch_size=patch, overlap=0.5,
                   sequence_length=t if kind == "seq" else 1, validity_channel=False, crs="EPSG:32630", pixel_size_m=70.0)


def stitching_overhead(rows: int, cols: int, patch: int, t: int, work: Path, repeats: int = 5) -> pd.DataFrame:
    import keras

    from rocksoil_nb.infer import reconstruct
    from rocksoil_nb.learn import models
    from rocksoil_nb.learn.decision import probabilities
    from rocksoil_nb.prepare import patches

    cube = make_cube(work / "full.zarr", rows, cols, t + 1)
    out = []
    for name in ("cnn", "convlstm"):
        kind = "seq" if name == "convlstm" else "cnn"
        spec = spec_for(kind, patch, t)
        shape = (patch, patch, 2) if kind == "cnn" else (t, patch, patch, 2)
        net = models.build(name, shape, base_filters=16)
        net.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
        reader = reconstruct.CubeReader(cube, spec)
        pos = patches.positions((rows, cols), patch, 0.5)
        frames = list(range(t + 1 - (t if kind == "seq" else 1), t + 1))
        xs = [reader.frame(f)[0] for f in frames]
        win = np.stack([np.stack([x[r : r + patch, c : c + patch] for x in xs]) if kind == "seq" else xs[-1][r : r + patch, c : c + patch]
                        for r, c in pos])
        probabilities(net, win[:64])  # warm-up
        bare, full = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            probabilities(net, win, 64)
            bare.append(time.perf_counter() - t0)
            reader._cache.clear()  # read the frames from the cube again
            t0 = time.perf_counter()
            dm = reconstruct.predict_date(net, reader, frames, pos, patch, kind == "seq", 64)
            _ = dm.codes, dm.confidence
            full.append(time.perf_counter() - t0)
        b, f = float(np.median(bare)), float(np.median(full))  # interleaved repeats, medians: this machine's timings vary ±10 %
        out.append({"model": name, "grid": f"{rows} x {cols}", "windows/date": len(pos), "bare predict s": round(b, 2),
                    "reconstruct s/date": round(f, 2), "ratio": round(f / b, 3), "overhead %": round(100 * (f / b - 1), 1)})
    return pd.DataFrame(out)


def _child(cube: str, patch: int) -> None:
    """Run the mapping step of ``rocksoil predict`` and print the peak RSS (MiB) as JSON."""
    import resource

    import keras

    from rocksoil_nb.infer import reconstruct
    from rocksoil_nb.learn import models

    spec = spec_for("cnn", patch, 1)
    net = models.build("cnn", (patch, patch, 2), base_filters=16)
    net.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
    import tracemalloc

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()  # numpy reports its buffers to tracemalloc: the peak of arrays the mapping step holds
    t0 = time.perf_counter()
    rec = reconstruct.reconstruct(net, cube, spec, Path(cube).parent / "maps", progress=False)
    _, traced_peak = tracemalloc.get_traced_memory()
    print(json.dumps({"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_before_mib": before,
                      "traced_peak_mib": traced_peak / 2**20, "dates": len(rec.dates), "seconds": time.perf_counter() - t0}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=267)
    ap.add_argument("--cols", type=int, default=397)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--t", type=int, default=5)
    ap.add_argument("--large", type=int, default=2000, help="side of the large scene in pixels (0 = skip)")
    ap.add_argument("--child", default="")
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.patch)
        return
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        print(f"1. stitching overhead on a {a.rows} x {a.cols} grid, {a.patch}-px windows at 50 % overlap (target: overhead < 20 %)")
        print(stitching_overhead(a.rows, a.cols, a.patch, a.t, work).to_string(index=False), flush=True)
        if a.large:
            n = a.large
            cube = make_cube(work / "large.zarr", n, n, 3)
            r = subprocess.run([sys.executable, __file__, "--child", str(cube), "--patch", str(a.patch)], capture_output=True, text=True,
                               check=True)
            res = json.loads(r.stdout.strip().splitlines()[-1])
            frame_mib = n * n * 5 * 4 / 2**20
            acc_mib = n * n * 14 * 4 / 2**20
            print(f"\n2. predict on a {n} x {n} scene ({n * 70 / 1000:.0f} km side), 3 dates, cnn, {a.patch}-px windows: "
                  f"{res['seconds']:.0f} s; peak RSS {res['peak_rss_mib']:.0f} MiB "
                  f"(after loading the model: {res['rss_before_mib']:.0f} MiB); "
                  f"one date of the cube {frame_mib:.0f} MiB, one probability accumulator {acc_mib:.0f} MiB; "
                  f"arrays held at the peak (tracemalloc) {res['traced_peak_mib']:.0f} MiB = {res['traced_peak_mib'] / acc_mib:.1f} "
                  f"accumulators, whatever the number of dates")


if __name__ == "__main__":
    main()
