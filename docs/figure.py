"""The README's and the documentation's front figure, drawn from a report's files (never by hand):
``python docs/figure.py --aoi villoslada --profile standard --run thermal_only-tae-spatial`` writes
``docs/_static/map_beside_geology.png``: the area's geology map (the labels) beside the run's consensus map, the spatial
protocol's test blocks outlined, with the test blocks' macro-F1 of that map in the title."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "_static" / "map_beside_geology.png"


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from rocksoil_nb import config
    from rocksoil_nb.core import classes
    from rocksoil_nb.infer import reconstruct
    from rocksoil_nb.infer.maps import read_map
    from rocksoil_nb.learn import registry
    from rocksoil_nb.prepare.steps import load_labels
    from rocksoil_nb.viz import plots

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aoi", default="villoslada")
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--run", default="thermal_only-tae-spatial", help="a mapped run: <variant>-<model>-<protocol>")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args(argv)
    cfg = config.load(a.aoi, a.profile)
    run = config.RunName.parse(a.run)
    variant, model, protocol = run.variant, run.model, run.protocol
    codes, _ = read_map(cfg.layout.maps_dir(variant, model, protocol) / "consensus_classes.tif")
    labels = load_labels(cfg)
    region = np.load(cfg.layout.patches_dir(variant) / "spatial_split.npy")
    f1 = reconstruct.map_scores(codes, labels, region == 2, cfg.classes.include_nodata)["macro_f1"]
    px = cfg.area.pixel_size_m
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    plots.class_map(labels, axes[0], "geology map (1:50,000, rasterised to 70 m)", px, legend=False)
    plots.class_map(codes, axes[1], f"{registry.title(model)} map from a year of ECOSTRESS passes", px, legend=False)
    for ax in axes:
        ax.contour(region == 2, levels=[0.5], colors="k", linewidths=1.0, linestyles="--")
    shown = np.unique(np.concatenate([labels.ravel(), codes[codes < classes.N_CLASSES].ravel()]))
    handles = classes.legend_handles(shown) + [Line2D([], [], color="k", ls="--", label="test blocks (never trained on)")]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.99, 0.5), frameon=False, fontsize=8, title="class")
    where = cfg.title + (" (simulated stand-in)" if cfg.source == "simulated" else "")
    fig.suptitle(f"{where}: macro-F1 {f1:.2f} on the test blocks ({variant}, {protocol} protocol, profile {a.profile})")
    fig.tight_layout()
    fig.savefig(a.out, dpi=90, bbox_inches="tight")
    print(f"written: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
