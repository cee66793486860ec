"""Steps of 01_acquire, 02_labels and 03_preprocess that depend on where an area's data comes from.

Acquired data (``simulated``, ``local``, ``appeears+gee``) goes through acquisition, rasterisation of the
geology vector, QC decoding and the scene filter. A thesis import (``thesis_patches``) arrives already
filtered, labelled and placed on the grid: these steps show what was imported and say why the
acquisition and QC steps do not apply, so the same notebooks run on both. Nothing after 03 asks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rocksoil_nb import acquire as acquisition
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import ecostress
from rocksoil_nb.core.grid import Grid
from rocksoil_nb.prepare import cube, labels, scenes, thesis_import

IMPORTED = thesis_import.SOURCE
NOT_APPLICABLE = ("This area is a thesis import: its passes were filtered and its pixels QC-screened by the thesis's own code "
                  "before publication (pixels that failed are 0 in the published files and invalid here). There are no raw "
                  "ECOSTRESS files, QC words or geology polygons to look at; the import report above says what was read.")


def imported(cfg: AreaConfig) -> bool:
    """Whether the area's data is one of the thesis's published patch sets."""
    return cfg.source == IMPORTED


@dataclass
class Example:
    """A worked example for a notebook's 'look inside' cell: a sentence and, where there is one, a table."""

    text: str
    table: pd.DataFrame | None = None


def acquire(cfg: AreaConfig, progress: bool = True) -> acquisition.AcquireResult:
    """01_acquire: run the area's source (a thesis import reads its published sets), the same record whatever the source."""
    if not imported(cfg):
        return acquisition.run(cfg, progress=progress)
    r = thesis_import.run(cfg, progress=progress)
    return acquisition.AcquireResult(IMPORTED, cfg.layout.raw_dir, r.skipped, max(s["dates"] for s in r.sets), 0, 0, False,
                                     r.notes(), {"sets": r.table().to_dict("records"), "grid": r.grid})


def pass_table(cfg: AreaConfig) -> pd.DataFrame:
    """01_acquire: every ECOSTRESS pass with its cloud / bad / valid fractions and whether the scene filter keeps it
    (a thesis import: one row per published date, ``date_idx`` in chronological order)."""
    if imported(cfg):
        return pd.read_csv(cfg.layout.inventory)
    return scenes.scene_table(cfg.layout.raw_dir, cfg.scene_filter.max_cloud_fraction, cfg.scene_filter.max_bad_fraction)


def qc_example(cfg: AreaConfig, passes: pd.DataFrame) -> Example:
    """01_acquire: the decoded QC word of the centre pixel of the first pass."""
    if imported(cfg):
        return Example(NOT_APPLICABLE)
    name = cube.pieces(passes["QC_file"].iloc[0])[0]
    qc, _ = ecostress.read_layer(cfg.layout.raw_dir / "ecostress" / name)
    row, col = qc.shape[0] // 2, qc.shape[1] // 2
    return Example(f"{name}, pixel ({row}, {col}): QC word {qc[row, col]} = {int(qc[row, col]):016b}", ecostress.qc_table(qc[row, col]))


def reference_grid(cfg: AreaConfig) -> Grid:
    """02_labels: the thermal grid most LST files share (a thesis import: the area's grid the patches were placed on)."""
    if imported(cfg):
        return cube.grid_of(cube.open_cube(cfg.layout.cube))
    return ecostress.reference_grid(cfg.layout.raw_dir / "ecostress", crs=cfg.area.crs)


def make_labels(cfg: AreaConfig, grid: Grid) -> tuple[labels.LabelResult, str]:
    """02_labels: rasterise the geology vector onto ``grid`` into ``interim/labels.tif`` (a thesis import: the label
    map rebuilt from the published masks); the result and a sentence on where it came from."""
    if imported(cfg):
        lab = cube.read_labels(cfg.layout.labels, grid)
        rep = thesis_import.report(cfg)
        return labels.LabelResult(lab, grid, 0, [], cfg.layout.labels), f"{rep.labels['note']} -> {cfg.layout.labels}"
    vector = labels.find_geology_vector(cfg.layout.raw_dir)
    result = labels.make_labels(vector, grid, cfg.layout.labels, cfg.geology_class_field)
    return result, f"{result.n_polygons} polygons from {vector.name} -> {result.path}"


def label_example(cfg: AreaConfig, grid: Grid, result: labels.LabelResult) -> Example:
    """02_labels: the 7 × 7 sub-pixel classes (10 m) of the centre pixel and the class that wins it."""
    from rocksoil_nb.core import classes

    if imported(cfg):
        return Example("The published masks are already on the 70 m grid (one class per pixel, as the thesis rasterised "
                       "them); there are no polygons to rasterise here.")
    gdf = labels.repair(labels.read_geology(labels.find_geology_vector(cfg.layout.raw_dir), cfg.geology_class_field))[0]
    row, col = grid.rows // 2, grid.cols // 2
    sub, winner = labels.subpixel_votes(gdf, grid, row, col, cfg.geology_class_field)
    return Example(f"pixel ({row}, {col}): sub-pixel classes\n{sub}\n-> {winner} {classes.name(winner)} "
                   f"(labels.tif holds {result.labels[row, col]})")


def explain_pass(cfg: AreaConfig, inv: pd.DataFrame, i: int = 0) -> str:
    """03_preprocess: the day/night and season rules on one pass, in words."""
    if imported(cfg):
        return (f"date_idx {int(inv['date_idx'].iloc[i])}: the published set gives no date or time, only the order of its "
                f"dates, so local solar time, day/night ({inv['daynight'].iloc[i]}) and season ({inv['season'].iloc[i]}) cannot be "
                "derived; the day/night and season variants need the thesis's own data_thermal_<variant> folders.")
    p = cfg.preprocess
    return scenes.explain_pass(inv, i, p.daynight_rule, p.day_start_hour, p.day_end_hour)


def clearest_scene(cfg: AreaConfig) -> tuple[np.ndarray, str, str]:
    """The cube's date with most valid pixels: (temperature band values, its title, units) for a quick-look."""
    ds = cube.open_cube(cfg.layout.cube)
    t = int(np.argmax(ds["valid"].sum(("y", "x")).values))
    band = cube.temperature_band(ds)
    when = f"date_idx {t}" if not cube.dates_known(ds) else f"{pd.Timestamp(ds['time'].values[t]):%Y-%m-%d %H:%M} UTC"
    return ds["data"].sel(band=band).values[t], f"{band} {when} (imported)", f"{band} (K)"
