"""Which calibration transfers from validation blocks to test blocks? Every method against none, on a report's runs.

For each finished spatial run of an area's variant: the test ECE of its probabilities as they are (none), after
temperature scaling and after one-vs-rest isotonic regression, each fitted on the run's validation split, with the
ratio to none (below 1: the method helped on ground it was not fitted on), the method 08 chooses on held-out
validation blocks, and the seconds spent computing the run's probabilities.

    ROCKSOIL_WORKDIR=/work/runs .venv/bin/python bench/calibration.py villoslada puertollano santa_olalla --profile standard
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd


def measure(aoi: str, profile: str, variant: str | None = None) -> pd.DataFrame:
    from rocksoil_nb import config
    from rocksoil_nb.analyse.confidence import split_probabilities
    from rocksoil_nb.learn import calibration, registry
    from rocksoil_nb.prepare import patches

    cfg = config.load(aoi, profile)
    variant = patches.primary_variant(cfg, variant)
    rows = []
    for model in registry.names():
        run_dir = cfg.layout.run_dir(variant, model, "spatial")
        if not (run_dir / "metrics.json").exists():
            continue
        t0 = time.perf_counter()
        p_val, y_val, g_val = split_probabilities(cfg, run_dir, "val")
        p_test, y_test, _ = split_probabilities(cfg, run_dir, "test")
        seconds = time.perf_counter() - t0
        none = calibration.ece(p_test, y_test)
        row = {"area": aoi, "model": registry.title(model), "test ECE none": none}
        for name, method in (("temperature", calibration.Temperature), ("isotonic", calibration.Isotonic)):
            ece = calibration.ece(method().fit(p_val, y_val).apply(p_test), y_test)
            row[f"test ECE {name}"], row[f"{name} / none"] = ece, ece / none
        row["08 chooses"] = calibration.choose(calibration.cross_validated(p_val, y_val, g_val), "temperature")
        row["probabilities s"] = seconds
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("areas", nargs="+")
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--variant", default=None)
    a = ap.parse_args(argv)
    table = pd.concat([measure(area, a.profile, a.variant) for area in a.areas], ignore_index=True)
    print(table.round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
