"""Figures used by the notebooks: class maps with legend and scale bar, scene quick-looks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes
from rocksoil_nb.prepare.scenes import scene_table


def scale_bar(ax, pixel_m: float, ncols: int, frac: float = 0.25) -> None:
    """Draw a scale bar (km) on an image axis whose pixels are ``pixel_m`` metres."""
    target = pixel_m * ncols * frac
    nice = [100, 200, 500, 1000, 2000, 5000, 10000, 20000]
    length_m = max([n for n in nice if n <= target] or [nice[0]])
    px = length_m / pixel_m
    x0, y0 = ncols * 0.05, ax.get_ylim()[0] * 0.95
    ax.plot([x0, x0 + px], [y0, y0], color="k", lw=4, solid_capstyle="butt")
    ax.plot([x0, x0 + px], [y0, y0], color="w", lw=2, solid_capstyle="butt")
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    ax.text(x0 + px / 2, y0 * 0.97, label, ha="center", va="bottom", fontsize=8,
            bbox=dict(facecolor="white", alpha=0.7, lw=0, pad=1))


def class_map(labels: np.ndarray, ax=None, title: str = "", pixel_m: float = 70.0, legend: bool = True):
    """Categorical map with the fixed 14-colour table, a legend of the classes present and a scale bar."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    cmap, norm = classes.colormap()
    cmap = cmap.with_extremes(bad="white")
    labels = np.ma.masked_greater_equal(np.asarray(labels), classes.N_CLASSES)  # e.g. 255 = not mapped
    ax.imshow(labels, cmap=cmap, norm=norm, interpolation="nearest")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    scale_bar(ax, pixel_m, labels.shape[1])
    if legend:
        ax.legend(handles=classes.legend_handles(np.unique(labels.compressed())), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=8, title="class", frameon=False)
    return ax


def raster_map(arr: np.ndarray, ax=None, title: str = "", units: str = "", cmap: str = "inferno", pixel_m: float = 70.0,
               robust: bool = True, vmin: float | None = None, vmax: float | None = None):
    """Continuous raster with a colour bar in ``units`` and a scale bar; NaN shown grey. ``vmin``/``vmax``
    fix the colour range (else the 2nd-98th percentiles when ``robust``)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    a = np.asarray(arr, dtype=float)
    finite = a[np.isfinite(a)]
    if vmin is None and vmax is None:
        vmin, vmax = (np.percentile(finite, [2, 98]) if robust and finite.size else (None, None))
    cm = plt.get_cmap(cmap).with_extremes(bad="0.7")
    im = ax.imshow(np.ma.masked_invalid(a), cmap=cm, vmin=vmin, vmax=vmax, interpolation="nearest")
    plt.colorbar(im, ax=ax, shrink=0.8, label=units)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    scale_bar(ax, pixel_m, a.shape[1])
    return ax


def quicklooks_of(cfg: AreaConfig):
    """01_acquire's quick-looks for the area's source: raw scenes and the geology map, or for a thesis import the
    clearest imported scene and the label map rebuilt from the published masks."""
    from rocksoil_nb.prepare import cube, sources

    if not sources.imported(cfg):
        return quicklooks(cfg.layout.raw_dir, cfg.geology_class_field)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(15, 5))
    a, title, units = sources.clearest_scene(cfg)
    grid = cube.grid_of(cube.open_cube(cfg.layout.cube))
    raster_map(a, axes[0], title, units, pixel_m=grid.res)
    class_map(cube.read_labels(cfg.layout.labels, grid), axes[1], "labels from the published masks", pixel_m=grid.res)
    fig.tight_layout()
    return fig


def quicklooks(raw_dir: str | Path, vector_class_field: str = "class_code"):
    """Figure with one clear LST scene (K), one Sentinel-1 VV scene (dB) and the geology map."""
    import geopandas as gpd
    import matplotlib.pyplot as plt
    import rasterio


    raw = Path(raw_dir)
    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    st = scene_table(raw)
    kept = st[st["kept"]] if "kept" in st else st
    if len(kept):
        best = kept.sort_values("valid_fraction", ascending=False).iloc[0]
        t = best["time_utc"]
        with rasterio.open(raw / "ecostress" / best["LST_file"].split(";")[0]) as s:
            raster_map(s.read(1), axes[0], f"ECOSTRESS LST {t:%Y-%m-%d %H:%M} UTC", "LST (K)", pixel_m=s.res[0])
    else:
        axes[0].set_title("no clear ECOSTRESS scene")
    vv = sorted((raw / "sentinel1").glob("*_VV.tif"))
    if vv:
        with rasterio.open(vv[len(vv) // 2]) as s:
            raster_map(s.read(1), axes[1], f"Sentinel-1 VV {vv[len(vv) // 2].name[10:25]} UTC", "backscatter (dB)", cmap="gray",
                       pixel_m=s.res[0])
    else:
        axes[1].set_title("no Sentinel-1 scene")
    gpkgs = sorted((raw / "geology").glob("*.gpkg")) + sorted((raw / "geology").glob("*.shp"))
    if gpkgs:
        gdf = gpd.read_file(gpkgs[0])
        cmap, norm = classes.colormap()
        gdf.plot(column=vector_class_field, cmap=cmap, norm=norm, ax=axes[2], edgecolor="0.2", linewidth=0.2)
        axes[2].set_title(f"geology map ({gpkgs[0].name}, {gdf.crs.to_string() if gdf.crs else 'no CRS'})")
        axes[2].legend(handles=classes.legend_handles(gdf[vector_class_field].unique()), loc="upper left",
                       bbox_to_anchor=(1.01, 1), fontsize=7, frameon=False)
        axes[2].ticklabel_format(style="plain", useOffset=False)
        axes[2].tick_params(axis="x", labelrotation=30, labelsize=7)
        axes[2].tick_params(axis="y", labelsize=7)
        axes[2].set_xlabel("easting (m)")
        axes[2].set_ylabel("northing (m)")
    fig.tight_layout()
    return fig
