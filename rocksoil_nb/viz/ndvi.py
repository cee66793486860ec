"""Figures of 09_ndvi_analysis: confidence against NDVI (hexbin density with the trend line) and the mean
confidence and NDVI maps side by side."""

from __future__ import annotations

import numpy as np

from rocksoil_nb.analyse.ndvi import Pairs
from rocksoil_nb.viz import plots


def hexbin_figure(p: Pairs, stats: dict, title: str = ""):
    """Density of (NDVI, confidence) pixels with the trend line and r."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    if not len(p.ndvi):
        return _nothing(fig, ax, "no NDVI matched to the mapped dates: nothing to plot")
    hb = ax.hexbin(p.ndvi, p.confidence, gridsize=40, cmap="Blues", mincnt=1, bins="log", extent=(-0.3, 1.0, 0, 1))
    fig.colorbar(hb, ax=ax, label="pixels per hexagon (log scale)")
    xs = np.linspace(max(-0.3, float(p.ndvi.min())), min(1.0, float(p.ndvi.max())), 50)
    ci = f"95 % {stats.get('block_lo', stats['fisher_lo']):.2f} … {stats.get('block_hi', stats['fisher_hi']):.2f}"
    ax.plot(xs, stats["intercept"] + stats["slope"] * xs, "r-", lw=2,
            label=f"trend: confidence = {stats['intercept']:.2f} {stats['slope']:+.2f} × NDVI\nPearson r = {stats['r']:.3f} ({ci})")
    ax.set_xlabel("NDVI (Sentinel-2, matched to the pass)")
    ax.set_ylabel("confidence (max softmax probability)")
    ax.set_xlim(-0.3, 1.0)
    ax.set_ylim(0, 1)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(title or f"{p.dates} dates, {stats['n']:,} pixels")
    fig.tight_layout()
    return fig


def maps_figure(p: Pairs, pixel_m: float = 70.0, title: str = ""):
    """Mean confidence and mean NDVI over the paired dates, side by side."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 5.2))
    if not len(p.ndvi):
        axes[1].set_axis_off()
        return _nothing(fig, axes[0], "no NDVI matched to the mapped dates: no maps")
    plots.raster_map(p.mean_confidence, axes[0], "mean confidence", "max softmax probability", cmap="viridis", vmin=0, vmax=1,
                     pixel_m=pixel_m)
    plots.raster_map(p.mean_ndvi, axes[1], "mean NDVI", "NDVI", cmap="RdYlGn", vmin=-0.2, vmax=0.9, pixel_m=pixel_m)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _nothing(fig, ax, text: str):
    """A figure that says why it is empty."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True)
    return fig
