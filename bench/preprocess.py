"""How long 03_preprocess (inventory + cube) and 05_patches (all seven variants) take for an area,
against simply reading the same ECOSTRESS files with rasterio. Usage:
    .venv/bin/python bench/preprocess.py [villoslada]
Simulates the area first when its raw data is missing. Works on a scratch copy of interim/ and patches/.
"""

from __future__ import annotations

import shutil
import sys
import time

import rasterio

from rocksoil_nb import config
from rocksoil_nb.core import ecostress
from rocksoil_nb.prepare import labels, steps
from rocksoil_nb.simulate import simulate


def main(aoi: str) -> None:
    cfg = config.load(aoi)
    simulate(cfg, progress=False)
    for d in (cfg.layout.interim_dir / "cube.zarr", cfg.layout.data_dir / "patches"):
        shutil.rmtree(d, ignore_errors=True)
    ref = ecostress.reference_grid(cfg.layout.raw_dir / "ecostress")
    labels.make_labels(labels.find_geology_vector(cfg.layout.raw_dir), ref, cfg.layout.labels)

    t0 = time.perf_counter()
    inv = steps.run_inventory(cfg, progress=False)
    t1 = time.perf_counter()
    steps.run_cube(cfg, inv, progress=False)
    t2 = time.perf_counter()
    manifests = steps.run_patches(cfg, progress=False)
    t3 = time.perf_counter()

    # baseline: read the same layers of every pass (inventory) and of the kept passes (cube) with rasterio
    eco = cfg.layout.raw_dir / "ecostress"
    r0 = time.perf_counter()
    for _, row in inv.iterrows():
        for lay in ("LST", "QC", "cloud"):
            if row[f"{lay}_file"]:
                with rasterio.open(eco / row[f"{lay}_file"]) as s:
                    s.read(1)
    r1 = time.perf_counter()
    for _, row in inv[inv["kept"]].iterrows():
        for lay in ("LST", "EmisWB", "QC", "cloud"):
            with rasterio.open(eco / row[f"{lay}_file"]) as s:
                s.read(1)
    r2 = time.perf_counter()
    samples = sum(m.kinds["cnn"].samples + m.kinds["seq"].samples for m in manifests.values())
    print(f"area {aoi}: {len(inv)} passes, {int(inv['kept'].sum())} kept, grid {ref.rows} x {ref.cols}, {samples} samples in 7 variants")
    print(f"{'step':28s} {'seconds':>8s} {'rasterio read s':>16s} {'ratio':>7s}")
    print(f"{'03 inventory':28s} {t1 - t0:8.1f} {r1 - r0:16.1f} {(t1 - t0) / (r1 - r0):7.1f}")
    print(f"{'03 cube (align + Zarr)':28s} {t2 - t1:8.1f} {r2 - r1:16.1f} {(t2 - t1) / (r2 - r1):7.1f}")
    print(f"{'05 patches (7 variants)':28s} {t3 - t2:8.1f} {r2 - r1:16.1f} {(t3 - t2) / (r2 - r1):7.1f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "villoslada")
