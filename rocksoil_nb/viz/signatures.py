"""Figures of 04_signatures: class median LST over time (day ●, night ○), the diurnal against seasonal
amplitude per class, the whole-series features per class and the apparent-thermal-inertia map."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rocksoil_nb.core import classes


def plot_signatures(series: pd.DataFrame, codes=None, ax=None, title: str = ""):
    """LST median per class over time (lines) with interquartile bands; day passes ●, night passes ○."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 5))
    codes = sorted(series["code"].unique()) if codes is None else codes
    dated = not series.empty and not series["time_utc"].isna().all()
    x = "time_utc" if dated else "date_idx"  # a thesis import: only the order of the dates is known
    for k in codes:
        g = series[series["code"] == k].sort_values(x)
        if g.empty:
            continue
        color = classes.NAMES_COLOR[k]
        ax.fill_between(g[x], g["q25"], g["q75"], color=color, alpha=0.15, lw=0)
        ax.plot(g[x], g["median"], color=color, lw=1, label=f"{k} {classes.NAMES[k]}")
        for dn, marker, face in (("day", "o", color), ("night", "o", "white"), ("unknown", ".", color)):
            gg = g[g["daynight"] == dn]
            ax.scatter(gg[x], gg["median"], marker=marker, s=14, facecolors=face, edgecolors=color, lw=0.8, zorder=3)
    band = series["band"].iloc[0] if "band" in series and len(series) else "LST"
    ax.set_ylabel(f"{band} (K)" if band.startswith("LST") else band)
    ax.set_xlabel("date (UTC)" if dated else "date index (dates not published; chronological)")
    ax.set_title(title or f"Thermal signatures: class median {band}, IQR shaded" + ("; ● day, ○ night" if dated else ""))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    return ax


def plot_amplitudes(amp: pd.DataFrame, ax=None):
    """Diurnal vs seasonal amplitude per class (K) with 95 % intervals."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    for _, r in amp.iterrows():
        c = classes.NAMES_COLOR[int(r["code"])]
        ax.errorbar(r["diurnal_K"], r["seasonal_K"], xerr=[[r["diurnal_K"] - r["diurnal_lo"]], [r["diurnal_hi"] - r["diurnal_K"]]],
                    yerr=[[r["seasonal_K"] - r["seasonal_lo"]], [r["seasonal_hi"] - r["seasonal_K"]]], fmt="o", color=c,
                    mec="0.2", label=f"{int(r['code'])} {r['class']}")
    ax.set_xlabel("diurnal amplitude: median day − night LST (K)")
    ax.set_ylabel("seasonal amplitude: median summer − winter LST (K)")
    ax.set_title("Sand vs clay and the other classes (95 % bootstrap intervals)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    return ax


def plot_series_features(feats: pd.DataFrame, cols: int = 3):
    """Box plots of each whole-series feature per class (units in each panel's title), classes in their colours."""
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(feats["feature"]))
    if not names:
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no whole-series feature could be computed", ha="center", va="center", transform=ax.transAxes)
        return fig
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    codes = sorted(feats["code"].unique())
    for ax, name in zip(axes.ravel(), names):
        g = feats[feats["feature"] == name]
        data = [g.loc[g["code"] == k, "value"].to_numpy() for k in codes]
        keep = [i for i, d in enumerate(data) if len(d)]
        bp = ax.boxplot([data[i] for i in keep], patch_artist=True, showfliers=False, widths=0.6)
        for patch, i in zip(bp["boxes"], keep):
            patch.set_facecolor(classes.NAMES_COLOR[codes[i]])
        ax.set_xticks(range(1, len(keep) + 1), [str(codes[i]) for i in keep], fontsize=8)
        ax.set_xlabel("class code")
        ax.set_title(f"{name} ({g['unit'].iloc[0]})", fontsize=10)
    for ax in axes.ravel()[len(names):]:
        ax.set_axis_off()
    fig.legend(handles=classes.legend_handles(codes), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_ati(res, labels: np.ndarray, pixel_m: float = 70.0):
    """The apparent-thermal-inertia map (1/K, scale bar) and its distribution per class (box plots)."""
    import matplotlib.pyplot as plt

    from rocksoil_nb.analyse.thermal_inertia import per_class
    from rocksoil_nb.viz import plots

    fig, axes = plt.subplots(1, 2, figsize=(15, 5), gridspec_kw={"width_ratios": [1.1, 1]})
    if not res.available:
        for ax in axes:
            ax.set_axis_off()
        axes[0].text(0.0, 0.5, res.note, ha="left", va="center", transform=axes[0].transAxes, wrap=True)
        return fig
    plots.raster_map(res.ati, axes[0], f"apparent thermal inertia (albedo {res.albedo} assumed)", "ATI (1/K)", cmap="viridis",
                     pixel_m=pixel_m)
    t = per_class(res.ati, labels)
    codes = sorted(t["code"].unique())
    bp = axes[1].boxplot([t.loc[t["code"] == k, "ati"].to_numpy() for k in codes], patch_artist=True, showfliers=False)
    for patch, k in zip(bp["boxes"], codes):
        patch.set_facecolor(classes.NAMES_COLOR[k])
    axes[1].set_xticks(range(1, len(codes) + 1), [f"{k} {classes.NAMES[k]}" for k in codes], rotation=45, ha="right", fontsize=8)
    axes[1].set_ylabel("ATI (1/K)")
    axes[1].set_title("ATI per class (median, quartiles, 1.5 IQR whiskers)")
    fig.tight_layout()
    return fig
