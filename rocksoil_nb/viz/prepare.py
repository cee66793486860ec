"""Figures of 03_preprocess and 05_patches: the passes and the scene filter, the spatial blocks, and the
class histograms per split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes
from rocksoil_nb.prepare import patches
from rocksoil_nb.prepare.manifest import DatasetManifest
from rocksoil_nb.prepare.splits import PROTOCOLS, SPLITS
from rocksoil_nb.prepare.steps import load_labels
from rocksoil_nb.viz import plots


def plot_inventory(inv: pd.DataFrame, ax=None):
    """Valid fraction of every pass over time (UTC): kept ● / dropped ×, day orange / night blue."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 3.5))
    t = pd.to_datetime(inv["time_utc"], utc=True)
    dated = not t.isna().all()
    if not dated:  # a thesis import: only the order of the dates is known
        t = inv["date_idx"]
    for dn, col in (("day", "tab:orange"), ("night", "tab:blue"), ("unknown", "0.3")):
        if not (inv["daynight"] == dn).any():
            continue
        for kept, marker in ((True, "o"), (False, "x")):
            m = (inv["daynight"] == dn) & (inv["kept"] == kept)
            ax.scatter(t[m], inv.loc[m, "valid_fraction"], marker=marker, color=col, s=18,
                       label=f"{dn}, {'kept' if kept else 'dropped'} ({int(m.sum())})")
    ax.set_ylabel("valid pixel fraction")
    ax.set_xlabel("acquisition time (UTC)" if dated else "date index (dates not published; chronological)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.set_title("ECOSTRESS passes and the scene filter")
    return ax


def plot_split_histograms(manifest: DatasetManifest, kind: str = "cnn"):
    """Class shares of labelled pixels per split, thesis and spatial protocols side by side."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 4), sharey=True)
    for ax, proto in zip(axes, PROTOCOLS):
        hist = manifest.protocol(kind, proto).class_pixels
        codes = [k for k in range(1, classes.N_CLASSES) if any(hist[s][k] for s in SPLITS)]
        width = 0.27
        for i, (s, hatch) in enumerate(zip(SPLITS, ("", "//", ".."))):
            h = np.array(hist[s], dtype=float)
            share = h[codes] / max(h[1:].sum(), 1)
            ax.bar(np.arange(len(codes)) + (i - 1) * width, share, width, color=[classes.NAMES_COLOR[k] for k in codes],
                   edgecolor="0.2", hatch=hatch, label=s)
        ax.set_xticks(np.arange(len(codes)), [classes.NAMES[k] for k in codes], rotation=45, ha="right", fontsize=8)
        ax.set_title(f"{proto} protocol")
        ax.set_ylabel("share of labelled pixels")
        ax.legend(title="split")
    fig.suptitle(f"{manifest.variant}: class histograms per split ({kind})")
    fig.tight_layout()
    return fig


def plot_spatial_split(cfg: AreaConfig, variant: str | None = None):
    """The spatial protocol's blocks (train / val / test) over the labels, with the scale bar."""
    variant = patches.primary_variant(cfg, variant)
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    region = np.load(cfg.layout.patches_dir(variant) / "spatial_split.npy")
    labels = load_labels(cfg)
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    plots.class_map(labels, axes[0], "labels", legend=False)
    axes[1].imshow(region, cmap=ListedColormap(["#4daf4a", "#ff7f00", "#e41a1c"]), vmin=0, vmax=2, interpolation="nearest")
    axes[1].set_title("spatial protocol: blocks")
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    plots.scale_bar(axes[1], cfg.area.pixel_size_m, region.shape[1])
    axes[1].legend(handles=[Patch(color=c, label=s) for c, s in zip(("#4daf4a", "#ff7f00", "#e41a1c"), SPLITS)],
                   loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    return fig
