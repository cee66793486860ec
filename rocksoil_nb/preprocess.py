"""Steps of 03_preprocess and 05_patches for an area, as the notebooks call them (one call per step)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import cube, ecostress, inventory, io, patches


def inventory_path(cfg) -> Path:
    return cfg.interim_dir / "inventory.csv"


def cube_path(cfg) -> Path:
    return cfg.interim_dir / "cube.zarr"


def labels_path(cfg) -> Path:
    return cfg.interim_dir / "labels.tif"


def patches_dir(cfg, variant: str) -> Path:
    return cfg.data_dir / "patches" / variant


def run_inventory(cfg, progress: bool = True) -> pd.DataFrame:
    """Build and save ``interim/inventory.csv`` for the area's raw ECOSTRESS files."""
    inv = inventory.build(cfg.raw_dir, cfg.preprocess, cfg.scene_filter, progress=progress)
    io.write_csv(inventory_path(cfg), inv)
    return inv


def inventory_summary(inv: pd.DataFrame) -> pd.DataFrame:
    """Passes kept and dropped, by reason, day/night and season."""
    reason = inv["reason"].fillna("").str.split(";").str[0].str.replace(r"\s\d+%.*", "", regex=True)
    reason = reason.where(inv["kept"], reason).replace("", "kept")
    return pd.crosstab(reason.rename("outcome"), [inv["daynight"], inv["season"]], margins=True, margins_name="all")


def plot_inventory(inv: pd.DataFrame, ax=None):
    """Valid fraction of every pass over time (UTC): kept ● / dropped ×, day orange / night blue."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 3.5))
    t = pd.to_datetime(inv["time_utc"], utc=True)
    for dn, col in (("day", "tab:orange"), ("night", "tab:blue")):
        for kept, marker in ((True, "o"), (False, "x")):
            m = (inv["daynight"] == dn) & (inv["kept"] == kept)
            ax.scatter(t[m], inv.loc[m, "valid_fraction"], marker=marker, color=col, s=18,
                       label=f"{dn}, {'kept' if kept else 'dropped'} ({int(m.sum())})")
    ax.set_ylabel("valid pixel fraction")
    ax.set_xlabel("acquisition time (UTC)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.set_title("ECOSTRESS passes and the scene filter")
    return ax


def run_cube(cfg, inv: pd.DataFrame, progress: bool = True) -> Path:
    """Align the kept passes (and matched Sentinel-1/2) on the reference grid into ``interim/cube.zarr``."""
    ref = ecostress.reference_grid(cfg.raw_dir / "ecostress")
    return cube.build(cfg.raw_dir, inv, ref, cube_path(cfg), cfg.preprocess, cfg.acquisition.sar_window_days,
                      cfg.acquisition.ndvi_window_days, progress=progress)


def cube_summary(path: Path) -> pd.DataFrame:
    """Per band: passes with data, share of valid pixels, and median / 2nd / 98th percentile of values."""
    ds = cube.open_cube(path)
    rows = []
    for b in ds["band"].values:
        a = ds["data"].sel(band=b).values
        fin = np.isfinite(a)
        v = a[fin]
        rows.append({"band": str(b), "passes_with_data": int(fin.any(axis=(1, 2)).sum()), "valid_share": round(float(fin.mean()), 3),
                     "p2": float(np.percentile(v, 2)) if v.size else np.nan, "median": float(np.median(v)) if v.size else np.nan,
                     "p98": float(np.percentile(v, 98)) if v.size else np.nan})
    return pd.DataFrame(rows).round(3)


def load_labels(cfg) -> np.ndarray:
    ds = cube.open_cube(cube_path(cfg))
    return cube.read_labels(labels_path(cfg), cube.grid_of(ds))


def run_patches(cfg, variants=None, progress: bool = True) -> dict[str, dict]:
    """Build every variant's dataset (skipping those already built from the same cube and parameters)."""
    from tqdm.auto import tqdm

    labels = load_labels(cfg)
    ds = cube.open_cube(cube_path(cfg))
    key = {"cube": ds.attrs.get("inputs_hash"), **patches.params_of(cfg.hyperparameters, cfg.patches)}
    out = {}
    for v in tqdm(list(variants or patches.VARIANTS), desc="variants", disable=not progress):
        d = patches_dir(cfg, v)
        stamp = d / "params.json"
        if stamp.exists() and json.loads(stamp.read_text()) == key and (d / "manifest.json").exists():
            out[v] = patches.read_manifest(d)
            continue
        out[v] = patches.build_variant(cube_path(cfg), labels, v, d, cfg.hyperparameters, cfg.patches, labels_path(cfg))
        io.write_json(stamp, key)
    return out


def variants_table(manifests: dict[str, dict]) -> pd.DataFrame:
    """Samples per variant, kind (CNN patches, ConvLSTM sequences) and split, for both protocols."""
    rows = []
    for v, m in manifests.items():
        for kind, info in m["kinds"].items():
            rec = {"variant": v, "kind": kind, "bands": "+".join(m["bands"]), "dates": len(m["dates_utc"]), "samples": info["samples"]}
            for proto in patches.PROTOCOLS:
                for s in patches.SPLITS:
                    rec[f"{proto}:{s}"] = info[proto]["counts"][s]
            rec["spatial: classes missing in train"] = ",".join(map(str, m["spatial"]["classes_missing_in_train"])) or "none"
            rows.append(rec)
    return pd.DataFrame(rows)


def plot_split_histograms(manifest: dict, kind: str = "cnn"):
    """Class shares of labelled pixels per split, thesis and spatial protocols side by side."""
    import matplotlib.pyplot as plt

    from . import classes

    fig, axes = plt.subplots(1, 2, figsize=(14, 4), sharey=True)
    for ax, proto in zip(axes, patches.PROTOCOLS):
        hist = manifest["kinds"][kind][proto]["class_pixels"]
        codes = [k for k in range(1, classes.N_CLASSES) if any(hist[s][k] for s in patches.SPLITS)]
        width = 0.27
        for i, (s, hatch) in enumerate(zip(patches.SPLITS, ("", "//", ".."))):
            h = np.array(hist[s], dtype=float)
            share = h[codes] / max(h[1:].sum(), 1)
            ax.bar(np.arange(len(codes)) + (i - 1) * width, share, width, color=[classes.NAMES_COLOR[k] for k in codes],
                   edgecolor="0.2", hatch=hatch, label=s)
        ax.set_xticks(np.arange(len(codes)), [classes.NAMES[k] for k in codes], rotation=45, ha="right", fontsize=8)
        ax.set_title(f"{proto} protocol")
        ax.set_ylabel("share of labelled pixels")
        ax.legend(title="split")
    fig.suptitle(f"{manifest['variant']}: class histograms per split ({kind})")
    fig.tight_layout()
    return fig


def plot_spatial_split(cfg, variant: str = "thermal_only"):
    """The spatial protocol's blocks (train / val / test) over the labels, with the scale bar."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from . import plots

    region = np.load(patches_dir(cfg, variant) / "spatial_split.npy")
    labels = load_labels(cfg)
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    plots.class_map(labels, axes[0], "labels", legend=False)
    axes[1].imshow(region, cmap=ListedColormap(["#4daf4a", "#ff7f00", "#e41a1c"]), vmin=0, vmax=2, interpolation="nearest")
    axes[1].set_title("spatial protocol: blocks")
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    plots.scale_bar(axes[1], 70.0, region.shape[1])
    axes[1].legend(handles=[Patch(color=c, label=s) for c, s in zip(("#4daf4a", "#ff7f00", "#e41a1c"), patches.SPLITS)],
                   loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    return fig


def inventory_view(inv: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    """The inventory columns worth reading first (first ``n`` passes)."""
    cols = ["time_utc", "local_solar_hour", "daynight", "season", "grid", "cloud_fraction", "bad_fraction", "valid_fraction", "kept",
            "reason"]
    return inv[cols].head(n)
