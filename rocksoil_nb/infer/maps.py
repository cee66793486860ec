"""Map files that open in QGIS: Cloud-Optimized GeoTIFFs on the thermal grid (CRS, transform, the class
colour table embedded, overviews) with a QGIS ``.qml`` style beside each.

Class maps are uint8 codes 0-13 with 255 = not mapped (no valid input that date); confidence maps are
float32 max-softmax probabilities 0-1 with NaN = not mapped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from rocksoil_nb.core import classes, io

NOT_MAPPED = 255
#: viridis stops for the confidence ramp (value, hex colour)
_RAMP = ((0.0, "#440154"), (0.25, "#3b528b"), (0.5, "#21918c"), (0.75, "#5ec962"), (1.0, "#fde725"))


def _qml(renderer: ET.Element) -> str:
    root = ET.Element("qgis", version="3.28", styleCategories="AllStyleCategories")
    pipe = ET.SubElement(root, "pipe")
    pipe.append(renderer)
    ET.SubElement(root, "blendMode").text = "0"
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode")


def class_qml() -> str:
    """QGIS style: paletted renderer with the 14 classes' colours and names ('code name')."""
    r = ET.Element("rasterrenderer", type="paletted", band="1", opacity="1", alphaBand="-1", nodataColor="")
    pal = ET.SubElement(r, "colorPalette")
    for c in classes.CLASSES:
        ET.SubElement(pal, "paletteEntry", value=str(c.code), color=c.color, label=f"{c.code} {c.name}", alpha="255")
    return _qml(r)


def confidence_qml(label: str = "confidence (max softmax probability)", vmin: float = 0.0, vmax: float = 1.0) -> str:
    """QGIS style: pseudocolour ramp (viridis) fixed to ``vmin``-``vmax`` (0-1 for confidence)."""
    r = ET.Element("rasterrenderer", type="singlebandpseudocolor", band="1", opacity="1", alphaBand="-1",
                   classificationMin=f"{vmin:g}", classificationMax=f"{vmax:g}")
    shader = ET.SubElement(ET.SubElement(r, "rastershader"), "colorrampshader", colorRampType="INTERPOLATED",
                           classificationMode="1", clip="0", minimumValue=f"{vmin:g}", maximumValue=f"{vmax:g}", labelPrecision="3")
    for v, col in _RAMP:
        value = vmin + v * (vmax - vmin)
        ET.SubElement(shader, "item", value=f"{value:g}", color=col, label=f"{value:.3g}", alpha="255")
    ET.SubElement(r, "rasterTransparency")
    r.set("description", label)
    return _qml(r)


def _write(path: Path, arr: np.ndarray, grid, nodata, colormap, tags: dict, description: str, resampling: str, qml: str) -> Path:
    path = io.write_geotiff(path, arr, grid.crs, grid.transform, nodata=nodata, colormap=colormap, tags=tags,
                            band_descriptions=[description], cog_overviews=resampling)
    io.write_text(path.with_suffix(".qml"), qml)
    return path


def write_class_map(path: str | Path, codes: np.ndarray, grid, tags: dict | None = None) -> Path:
    """Class codes (y, x) uint8 (255 = not mapped) as a COG with the colour table, and its ``.qml``."""
    a = np.asarray(codes, dtype=np.uint8)
    if a.shape != grid.shape:
        raise ValueError(f"{path}: class map {a.shape} does not match the grid {grid.shape}")
    table = classes.rgb_table()
    table[NOT_MAPPED] = (0, 0, 0, 0)
    return _write(Path(path), a, grid, NOT_MAPPED, table, {"classes": "; ".join(f"{k}={v}" for k, v in classes.NAMES.items()),
                                                          **(tags or {})}, "rock/soil class code", "mode", class_qml())


def write_confidence_map(path: str | Path, conf: np.ndarray, grid, tags: dict | None = None) -> Path:
    """Confidence (y, x) float32 0-1 (NaN = not mapped) as a COG and its ``.qml``."""
    a = np.asarray(conf, dtype=np.float32)
    if a.shape != grid.shape:
        raise ValueError(f"{path}: confidence map {a.shape} does not match the grid {grid.shape}")
    return _write(Path(path), a, grid, float("nan"), None, {"units": "probability 0-1", **(tags or {})},
                  "confidence: max softmax probability", "average", confidence_qml())


def write_continuous_map(path: str | Path, values: np.ndarray, grid, units: str, description: str, vmin: float, vmax: float,
                         tags: dict | None = None) -> Path:
    """A continuous product (y, x) float32 (NaN = no value) as a COG and its ``.qml`` (viridis over ``vmin``-``vmax``)."""
    a = np.asarray(values, dtype=np.float32)
    if a.shape != grid.shape:
        raise ValueError(f"{path}: map {a.shape} does not match the grid {grid.shape}")
    return _write(Path(path), a, grid, float("nan"), None, {"units": units, **(tags or {})}, description, "average",
                  confidence_qml(f"{description} ({units})", vmin, vmax))


def read_map(path: str | Path) -> tuple[np.ndarray, dict]:
    """A written map and its metadata (crs, transform, tags)."""
    import rasterio

    with rasterio.open(path) as s:
        return s.read(1), {"crs": s.crs, "transform": s.transform, "tags": s.tags()}
