"""Figures of 04_signatures: class median LST over time (day ●, night ○) and the diurnal against seasonal
amplitude per class."""

from __future__ import annotations

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
