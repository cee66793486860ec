"""Map files that open in QGIS: Cloud-Optimized GeoTIFFs on the thermal grid (CRS, transform, the class
colour table embedded, overviews) with a QGIS ``.qml`` style beside each.

Class maps are uint8 codes 0-13 with 255 = not mapped (no valid input that date); confidence maps are
float32 max-softmax probabilities 0-1 with NaN = not mapped. Uncertainty products from the class probabilities
(as sits and Kuhn et al. 2018 use them): a multi-band probability map (one band per class, named), the Shannon
entropy of the probabilities (bits; 0 = certain, log2 of the class count = no idea) and the margin between the best
and the second-best class (0 = a tie, 1 = certain).

Kuhn, S., Cracknell, M. J. & Reading, A. M. (2018). Lithologic mapping using Random Forests applied to geophysical and
remote-sensing data: a demonstration study from the Eastern Goldfields of Australia. *Geophysics* 83(4), B183–B193.
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


def entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy (bits) of class probabilities (..., classes) over the last axis; NaN where the input is."""
    p = np.asarray(probs, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=-1)
    return np.where(np.isnan(p).any(-1), np.nan, h).astype(np.float32)


def margin(probs: np.ndarray) -> np.ndarray:
    """Best minus second-best class probability (..., classes) → (...), 0-1; NaN where the input is."""
    p = np.sort(np.asarray(probs, np.float64), axis=-1)
    return (p[..., -1] - p[..., -2]).astype(np.float32)


def write_probability_map(path: str | Path, probs: np.ndarray, grid, codes: list[int], tags: dict | None = None) -> Path:
    """Class probabilities (y, x, 14) as a multi-band COG with one band per class of ``codes`` (band description
    "<code> <name>"; NaN = not mapped), and a ``.qml`` showing band 1 on a 0-1 ramp (pick another band in QGIS)."""
    p = np.asarray(probs, dtype=np.float32)
    if p.shape[:2] != grid.shape:
        raise ValueError(f"{path}: probability map {p.shape[:2]} does not match the grid {grid.shape}")
    bands = np.moveaxis(p[..., list(codes)], -1, 0)
    names = [f"{k} {classes.NAMES[k]}" for k in codes]
    path = io.write_geotiff(Path(path), bands, grid.crs, grid.transform, nodata=float("nan"),
                            tags={"units": "probability 0-1", "bands": "; ".join(names), **(tags or {})}, band_descriptions=names,
                            cog_overviews="average")
    io.write_text(path.with_suffix(".qml"), confidence_qml(f"probability of {names[0]} (band 1)"))
    return path


def write_uncertainty_maps(prefix: str | Path, probs: np.ndarray, grid, codes: list[int], tags: dict | None = None) -> dict:
    """``<prefix>_probabilities.tif``, ``<prefix>_entropy.tif`` and ``<prefix>_margin.tif`` (each with its ``.qml``) from
    class probabilities (y, x, 14) (NaN = not mapped); returns their paths by product."""
    prefix = Path(prefix)
    top = float(np.log2(max(len(codes), 2)))
    return {"probabilities": write_probability_map(f"{prefix}_probabilities.tif", probs, grid, codes, tags),
            "entropy": write_continuous_map(f"{prefix}_entropy.tif", entropy(probs), grid, "bits",
                                            "entropy of the class probabilities", 0.0, top, tags),
            "margin": write_continuous_map(f"{prefix}_margin.tif", margin(probs), grid, "probability 0-1",
                                           "margin: best minus second-best class probability", 0.0, 1.0, tags)}


def aoa_qml() -> str:
    """QGIS style of an area-of-applicability map: 0 outside (red), 1 inside (green)."""
    r = ET.Element("rasterrenderer", type="paletted", band="1", opacity="1", alphaBand="-1", nodataColor="")
    pal = ET.SubElement(r, "colorPalette")
    ET.SubElement(pal, "paletteEntry", value="0", color="#d7301f", label="0 outside the area of applicability", alpha="255")
    ET.SubElement(pal, "paletteEntry", value="1", color="#1a9850", label="1 inside", alpha="255")
    return _qml(r)


def write_aoa_map(path: str | Path, inside: np.ndarray, mapped: np.ndarray, grid, tags: dict | None = None) -> Path:
    """Area of applicability (y, x) as a uint8 COG: 1 inside, 0 outside, 255 where nothing is mapped; and its ``.qml``."""
    a = np.where(mapped, np.asarray(inside, bool).astype(np.uint8), NOT_MAPPED).astype(np.uint8)
    if a.shape != grid.shape:
        raise ValueError(f"{path}: AOA map {a.shape} does not match the grid {grid.shape}")
    return _write(Path(path), a, grid, NOT_MAPPED, None, {"values": "1 inside, 0 outside the area of applicability", **(tags or {})},
                  "inside the area of applicability (1) or not (0)", "nearest", aoa_qml())
