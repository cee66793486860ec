"""What the thesis's LST_err mix-up costs (its code read LST_err where it meant LST; see rocksoil_nb/prepare/thesis_import.py).

A per-pixel random forest on each pixel's whole series, 3 x 3 spatial blocks as folds, with the temperature
channel taken as LST, as LST_err, or left out (emissivity only): on simulated areas (where both layers exist,
data/<aoi>/raw from `make simulate`) and on a thesis import (real data: only LST_err was published, so LST
cannot be measured there). Usage:
    .venv/bin/python bench/lst_err.py [santa_olalla santa_olalla_thesis ...]
"""

from __future__ import annotations

import sys
import time

from rocksoil_nb import config
from rocksoil_nb.analyse import difficulty
from rocksoil_nb.prepare import sources, steps
from rocksoil_nb.simulate import simulate


def main(areas: list[str]) -> None:
    print(f"{'area':20s} {'temperature':12s} {'series OA':>9s} {'series F1':>9s} {'majority':>8s} {'s':>5s}")
    for aoi in areas:
        cfg = config.load(aoi)
        if cfg.source == "thesis_patches":
            sources.acquire(cfg, progress=False)
            runs = [("LST_err", True), ("none", False)]
        else:
            simulate(cfg, progress=False)
            runs = [("LST", "LST"), ("LST_err", "LST_err"), ("none", None)]
        for name, temp in runs:
            t0 = time.time()
            if cfg.source == "thesis_patches":
                d = difficulty.measure_cube(cfg.layout.cube, steps.load_labels(cfg), temperature=temp)
            else:
                d = difficulty.measure(cfg.layout.raw_dir, temperature=temp)
            print(f"{aoi:20s} {name:12s} {d.series_oa:9.3f} {d.series_macro_f1:9.3f} {d.majority_oa:8.3f} {time.time() - t0:5.0f}",
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["santa_olalla", "santa_olalla_thesis"])
