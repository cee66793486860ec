"""Steps of 03_preprocess and 05_patches for an area, one call per notebook step, and their tables.
Paths come from ``cfg.layout``; figures are in :mod:`rocksoil_nb.viz.prepare`."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import ecostress, io
from rocksoil_nb.prepare import cube, patches, scenes, sources
from rocksoil_nb.prepare.manifest import DatasetManifest, DatasetOutdated
from rocksoil_nb.prepare.splits import SPLITS

log = logging.getLogger(__name__)


def run_inventory(cfg: AreaConfig, progress: bool = True) -> pd.DataFrame:
    """Build and save ``interim/inventory.csv`` for the area's raw ECOSTRESS files (a thesis import wrote its own:
    one row per published date)."""
    if sources.imported(cfg):
        return pd.read_csv(cfg.layout.inventory)
    inv = scenes.build(cfg.layout.raw_dir, cfg.preprocess, cfg.scene_filter, progress=progress, crs=cfg.area.crs)
    io.write_csv(cfg.layout.inventory, inv)
    return inv


def inventory_summary(inv: pd.DataFrame) -> pd.DataFrame:
    """Passes kept and dropped, by reason, day/night and season."""
    reason = inv["reason"].fillna("").str.split(";").str[0].str.replace(r"\s\d+%.*", "", regex=True)
    reason = reason.where(inv["kept"], reason).replace("", "kept")
    return pd.crosstab(reason.rename("outcome"), [inv["daynight"], inv["season"]], margins=True, margins_name="all")


def run_cube(cfg: AreaConfig, inv: pd.DataFrame, progress: bool = True) -> Path:
    """Align the kept passes (and matched Sentinel-1/2) on the reference grid into ``interim/cube.zarr`` (a thesis
    import wrote it from the published patches: it is checked and returned)."""
    if sources.imported(cfg):
        cube.open_cube(cfg.layout.cube)
        return cfg.layout.cube
    ref = ecostress.reference_grid(cfg.layout.raw_dir / "ecostress", crs=cfg.area.crs)
    return cube.build(cfg.layout.raw_dir, inv, ref, cfg.layout.cube, cfg.preprocess, cfg.acquisition.sar_window_days,
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


def load_labels(cfg: AreaConfig) -> np.ndarray:
    """The area's labels (uint8 class codes), checked to be on the cube's grid."""
    ds = cube.open_cube(cfg.layout.cube)
    return cube.read_labels(cfg.layout.labels, cube.grid_of(ds))


def run_patches(cfg: AreaConfig, variants=None, progress: bool = True) -> dict[str, DatasetManifest]:
    """Build every variant's dataset, reusing one already built from the same cube with the same patch settings
    (patch size, overlap, sequence length and stride, the minimum-valid rule and the split settings; epochs or
    learning rates do not rebuild it)."""
    labels = load_labels(cfg)
    out = {}
    for v in tqdm(list(variants or available_variants(cfg)), desc="variants", disable=not progress):
        cube_path = cfg.layout.cube_for(v)
        key = {"cube": cube.attrs_of(cube.open_cube(cube_path)).inputs_hash, **cfg.patch_settings}
        d = cfg.layout.patches_dir(v)
        stamp = d / "params.json"
        old = io.read_json_or(stamp)
        if old == key and (d / "manifest.json").exists():
            try:
                out[v] = DatasetManifest.read(d)
                continue
            except DatasetOutdated as e:
                log.info("rebuilding %s: %s", v, e)
        elif isinstance(old, dict):
            changed = sorted(k for k in set(old) | set(key) if old.get(k) != key.get(k))
            log.info("rebuilding %s: %s since the dataset in %s was made", v,
                     "the cube changed" if changed == ["cube"] else "changed: " + ", ".join(changed), d)
        out[v] = patches.build_variant(cube_path, labels, v, d, cfg.hyperparameters, cfg.patches, cfg.layout.labels)
        io.write_json(stamp, key)
    return out


available_variants = patches.available_variants  # the rules live beside the variant table
area_variants = patches.area_variants
primary_variant = patches.primary_variant


def variants_table(manifests: dict[str, DatasetManifest]) -> pd.DataFrame:
    """Samples per variant, kind (CNN patches, ConvLSTM sequences) and split, for both protocols."""
    rows = []
    for v, m in manifests.items():
        for kind, info in m.kinds.items():
            rec = {"variant": v, "kind": kind, "bands": "+".join(m.bands), "dates": len(m.dates_utc), "samples": info.samples}
            for proto in info.protocols:
                for s in SPLITS:
                    rec[f"{proto}:{s}"] = info.protocols[proto].counts[s]
            rec["spatial: classes missing in train"] = ",".join(map(str, m.spatial.classes_missing_in_train)) or "none"
            rows.append(rec)
    return pd.DataFrame(rows)


def inventory_view(inv: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    """The inventory columns worth reading first (first ``n`` passes)."""
    cols = [c for c in ("date_idx", "patches") if c in inv]
    cols += ["time_utc", "local_solar_hour", "daynight", "season", "grid", "cloud_fraction", "bad_fraction", "valid_fraction", "kept",
            "reason"]
    return inv[cols].head(n)
