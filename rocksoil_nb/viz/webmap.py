"""The map in its place: a run's class, confidence, entropy and area-of-applicability maps as layers over a basemap with
the geology map's polygons, in JupyterLab (geemap's ``Map``, an ipyleaflet map; no Earth Engine account needed).

Each layer is one of 08's files (``reports/<aoi>/<profile>/maps/<run>/consensus_*.tif``) reprojected to Web Mercator
(EPSG:3857, nearest neighbour for classes and AOA) and drawn as an image overlay, so the map needs no tile server and
works from the notebook's own files. The basemap is OpenStreetMap's tiles; where its server cannot be reached
(workshops offline, tests), the map shows the layers on a blank background and says so. Layer toggles: the layer
control (top right); the class legend: bottom right.
"""

from __future__ import annotations

import base64
import io as _io
import socket
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes
from rocksoil_nb.infer.maps import NOT_MAPPED, read_map

BASEMAP_HOST = "tile.openstreetmap.org"  # OpenStreetMap's tile server (geemap's default basemap)
WEB_CRS = "EPSG:3857"
#: layers drawn from a run's consensus files, bottom to top: file, title, how they are coloured
LAYERS = (("consensus_entropy.tif", "entropy (bits)", "magma_r"),
          ("consensus_confidence.tif", "confidence (0-1)", "viridis"),
          ("consensus_classes.tif", "classes", "classes"),
          ("consensus_aoa.tif", "outside the area of applicability", "aoa"))
CLASSES_FILE = "consensus_classes.tif"


def online(host: str = BASEMAP_HOST, timeout_s: float = 1.5) -> bool:
    """Whether this machine reaches the basemap's tile server (a TCP connection on port 443 within ``timeout_s``)."""
    try:
        socket.create_connection((host, 443), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def to_web(path: Path) -> tuple[np.ndarray, tuple[tuple[float, float], tuple[float, float]]]:
    """A map file reprojected to Web Mercator (nearest neighbour; no value where nothing maps) and its
    ((south, west), (north, east)) bounds in degrees."""
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

    with rasterio.open(path) as src:
        a = src.read(1)
        nodata = src.nodata
        tr, w, h = calculate_default_transform(src.crs, WEB_CRS, src.width, src.height, *src.bounds)
        fill = np.nan if a.dtype.kind == "f" else NOT_MAPPED
        out = np.full((h, w), fill, a.dtype)
        reproject(a, out, src_transform=src.transform, src_crs=src.crs, dst_transform=tr, dst_crs=WEB_CRS,
                  resampling=Resampling.nearest, src_nodata=nodata, dst_nodata=fill)
    west, north = tr * (0, 0)
    east, south = tr * (w, h)
    lon0, lat0, lon1, lat1 = transform_bounds(WEB_CRS, "EPSG:4326", west, south, east, north)
    return out, ((lat0, lon0), (lat1, lon1))


def colour(a: np.ndarray, how: str, vmax: float = 1.0) -> np.ndarray:
    """(y, x, 4) uint8 RGBA of a map: class colours, AOA (outside red, inside transparent) or a colour ramp over
    0-``vmax``; transparent where nothing is mapped."""
    from matplotlib import colormaps, colors

    rgba = np.zeros((*a.shape, 4), np.uint8)
    if how == "classes":
        for k, hexc in classes.NAMES_COLOR.items():
            rgba[a == k] = (*(int(255 * v) for v in colors.to_rgb(hexc)), 255)
    elif how == "aoa":
        rgba[a == 0] = (215, 48, 31, 200)
    else:
        ok = np.isfinite(a)
        rgba[ok] = (colormaps[how](np.clip(a[ok] / vmax, 0, 1)) * 255).astype(np.uint8)
    return rgba


def png_url(rgba: np.ndarray) -> str:
    """An RGBA image as a PNG data URL (the overlay travels with the notebook, no file server needed)."""
    from matplotlib.image import imsave

    buf = _io.BytesIO()
    imsave(buf, rgba, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def geology_geojson(cfg: AreaConfig) -> dict:
    """The geology map's units as polygons (GeoJSON in degrees, property ``class``: "code name")."""
    import rasterio
    from rasterio.features import shapes
    from rasterio.warp import transform_geom

    with rasterio.open(cfg.layout.labels) as s:
        labels, tr, crs = s.read(1), s.transform, s.crs
    feats = [{"type": "Feature", "geometry": transform_geom(crs, "EPSG:4326", geom),
              "properties": {"class": f"{int(v)} {classes.NAMES[int(v)]}"}}
             for geom, v in shapes(labels.astype(np.uint8), mask=labels > 0, transform=tr)]
    return {"type": "FeatureCollection", "features": feats}


@dataclass
class WebMap:
    """What :func:`web_map` built: the map widget, the layers on it, the legend's classes and a note for the reader."""

    map: object
    layers: list[str]
    legend: dict[str, str]
    note: str
    bounds: tuple = field(default=())


def web_map(cfg: AreaConfig, maps_dir: str | Path, basemap: bool | None = None) -> WebMap:
    """A geemap ``Map`` of the run's consensus layers (:data:`LAYERS`, those whose files exist) and the geology polygons,
    with a layer control and the class legend; ``basemap`` None: OpenStreetMap where its server answers (:func:`online`)."""
    import geemap
    import ipyleaflet

    maps_dir = Path(maps_dir)
    if not (maps_dir / CLASSES_FILE).exists():
        raise FileNotFoundError(f"{maps_dir / CLASSES_FILE}: no map of this run yet; run 08_evaluate's full-scene maps first")
    basemap = online() if basemap is None else basemap
    m = geemap.Map(ee_initialize=False, toolbar_ctrl=False, draw_ctrl=False, measure_ctrl=False, data_ctrl=False,
                   search_ctrl=False, layer_ctrl=False, scale_ctrl=True, fullscreen_ctrl=True)
    if not basemap:
        for layer in [la for la in m.layers if isinstance(la, ipyleaflet.TileLayer)]:
            m.remove(layer)
    names, bounds = [], None
    for file, title, how in LAYERS:
        path = maps_dir / file
        if not path.exists():
            continue
        a, bounds_ = to_web(path)
        vmax = float(np.log2(classes.N_CLASSES - 1)) if how == "magma_r" else 1.0
        bounds = bounds or bounds_
        m.add(ipyleaflet.ImageOverlay(url=png_url(colour(a, how, vmax)), bounds=bounds_, name=title,
                                      opacity=0.9))
        names.append(title)
    if cfg.layout.labels.exists():
        m.add(ipyleaflet.GeoJSON(data=geology_geojson(cfg), name="geology map (unit outlines)",
                                 style={"color": "black", "weight": 1, "fill": False, "opacity": 0.8}))
        names.append("geology map (unit outlines)")
    codes, _ = read_map(maps_dir / CLASSES_FILE)
    present = sorted(int(k) for k in np.unique(codes) if k != NOT_MAPPED)
    legend = {f"{k} {classes.NAMES[k]}": classes.NAMES_COLOR[k] for k in present}
    m.add(ipyleaflet.LegendControl(legend, title="class", position="bottomright"))  # drawn by leaflet itself, offline too
    m.add(ipyleaflet.LayersControl(position="topright"))
    (lat0, lon0), (lat1, lon1) = bounds
    m.center = ((lat0 + lat1) / 2, (lon0 + lon1) / 2)  # set, not fit_bounds (which waits for a browser to answer)
    m.zoom = int(np.clip(np.floor(np.log2(360.0 * 3 / max(lon1 - lon0, 1e-6))), 1, 18))  # the area about 3 tiles wide
    note = ("Basemap: OpenStreetMap." if basemap else
            f"No basemap: its tile server ({BASEMAP_HOST}) cannot be reached from this machine, so the layers are drawn on "
            "a blank background.")
    return WebMap(m, names, legend, note + f" Layers, bottom to top: {', '.join(names)}; toggle them top right "
                  "(uncheck the classes to see the confidence and entropy below them).", bounds)


def show(cfg: AreaConfig, maps_dir: str | Path | None, basemap: bool | None = None):
    """Display the run's web map with a sentence saying what it shows (or why there is none); in a batch report, where no
    live widget survives, only the sentence. Returns the :class:`WebMap` or None."""
    from IPython.display import Markdown, display

    from rocksoil_nb.viz import in_batch

    if in_batch():
        display(Markdown("*In JupyterLab this shows the run's classes, confidence, entropy and area of applicability as layers "
                         "over a basemap with the geology map's unit outlines (geemap); a batch report keeps no live map.*"))
        return None
    if maps_dir is None or not (Path(maps_dir) / CLASSES_FILE).exists():
        display(Markdown(f"*No map of this run on a basemap: {maps_dir or 'no run'} has no `{CLASSES_FILE}` (08_evaluate writes "
                         "it for the run it maps).*"))
        return None
    web = web_map(cfg, maps_dir, basemap)
    display(Markdown(web.note))
    display(web.map)
    return web
