"""Print how hard each area is for a per-pixel random forest (DESIGN §5).

For every area (or those named on the command line): simulate into data/<aoi>/raw when
missing, then score a per-pixel forest on one clear date and on the whole kept series,
labels from the digitised map, 3 x 3 spatial blocks as folds. A thesis import (real data,
e.g. santa_olalla_thesis) is scored on its imported cube and label map. Usage:
    .venv/bin/python bench/difficulty.py [demo puertollano ...]
"""

from __future__ import annotations

import sys
import time

from rocksoil_nb import config
from rocksoil_nb.analyse import difficulty
from rocksoil_nb.prepare import sources, steps
from rocksoil_nb.prepare.scenes import scene_table
from rocksoil_nb.simulate import simulate


def main(areas: list[str]) -> None:
    print(f"{'area':14s} {'passes':>6s} {'kept':>5s} {'1-date OA':>9s} {'1-date F1':>9s} {'series OA':>9s} {'series F1':>9s} "
          f"{'majority':>8s} {'sim s':>6s} {'rf s':>6s}")
    for aoi in areas:
        cfg = config.load(aoi)
        t0 = time.time()
        if cfg.source == "thesis_patches":
            sources.acquire(cfg, progress=False)
            t1 = time.time()
            d = difficulty.measure_cube(cfg.layout.cube, steps.load_labels(cfg))
            passes = kept = d.scenes_used
        else:
            simulate(cfg, progress=False)
            t1 = time.time()
            st = scene_table(cfg.layout.raw_dir, cfg.scene_filter.max_cloud_fraction, cfg.scene_filter.max_bad_fraction)
            d = difficulty.measure(cfg.layout.raw_dir)
            passes, kept = len(st), int(st["kept"].sum())
        t2 = time.time()
        print(f"{aoi:14s} {passes:6d} {kept:5d} {d.single_date_oa:9.3f} {d.single_date_macro_f1:9.3f} "
              f"{d.series_oa:9.3f} {d.series_macro_f1:9.3f} {d.majority_oa:8.3f} {t1 - t0:6.0f} {t2 - t1:6.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["demo", "puertollano", "santa_olalla", "villoslada"])
