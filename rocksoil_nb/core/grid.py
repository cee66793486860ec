"""Raster grids: the 70 m ECOSTRESS thermal grid of an area and finer export grids.

A grid is a CRS, an affine transform (pixel corners, metres) and a shape (rows, cols).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: CRS, pixel size (m), upper-left corner (m) and shape (rows, cols)."""

    crs: str
    x0: float  # west edge, m
    y0: float  # north edge, m
    res: float  # pixel size, m
    rows: int
    cols: int

    @property
    def transform(self) -> Affine:
        return Affine(self.res, 0.0, self.x0, 0.0, -self.res, self.y0)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in metres."""
        return (self.x0, self.y0 - self.rows * self.res, self.x0 + self.cols * self.res, self.y0)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates (x of columns, y of rows), metres."""
        x = self.x0 + (np.arange(self.cols) + 0.5) * self.res
        y = self.y0 - (np.arange(self.rows) + 0.5) * self.res
        return x, y

    def shifted(self, drow: int, dcol: int, drows: int = 0, dcols: int = 0) -> Grid:
        """The grid moved by whole pixels (and resized), as AppEEARS crops of other dates can be."""
        return Grid(self.crs, self.x0 + dcol * self.res, self.y0 - drow * self.res, self.res, self.rows + drows, self.cols + dcols)


def utm_bounds(ne: list[float], sw: list[float], crs: str) -> tuple[float, float, float, float]:
    """Bounds (west, south, east, north) in ``crs`` metres of a WGS84 [lat, lon] box."""
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    lats = [sw[0], sw[0], ne[0], ne[0]]
    lons = [sw[1], ne[1], sw[1], ne[1]]
    xs, ys = tr.transform(lons, lats)
    return min(xs), min(ys), max(xs), max(ys)


def thermal_grid(area) -> Grid:
    """The area's 70 m thermal grid: the configured shape centred on the box, snapped to the tile lattice.

    ECOSTRESS tiles start on 100 km lines of the UTM zone, so pixel edges fall on
    multiples of 70 m from those lines; AppEEARS crops keep that lattice.
    """
    w, s, e, n = utm_bounds(area.ne, area.sw, area.crs)
    res = float(area.pixel_size_m)
    rows, cols = area.shape
    cx, cy = (w + e) / 2, (s + n) / 2
    tile_x = math.floor(cx / 100000.0) * 100000.0
    tile_y = math.ceil(cy / 100000.0) * 100000.0
    x0 = tile_x + round((cx - cols * res / 2 - tile_x) / res) * res
    y0 = tile_y - round((tile_y - (cy + rows * res / 2)) / res) * res
    return Grid(area.crs, x0, y0, res, rows, cols)


def cover_grid(extent: Grid, res: float, pad: float = 0.0) -> Grid:
    """A grid of spacing ``res`` on multiples of ``res`` that covers ``extent`` (plus ``pad`` metres)."""
    w, s, e, n = extent.bounds
    x0 = math.floor((w - pad) / res) * res
    y1 = math.ceil((n + pad) / res) * res
    x1 = math.ceil((e + pad) / res) * res
    y0 = math.floor((s - pad) / res) * res
    return Grid(extent.crs, x0, y1, res, int(round((y1 - y0) / res)), int(round((x1 - x0) / res)))


def _crs_name(crs) -> str | None:
    return None if crs is None else (crs.to_string() if hasattr(crs, "to_string") else str(crs))


def lattice_offset(crs, transform, ref: Grid) -> tuple[int, int] | None:
    """(row, col) of a raster's upper-left corner in ``ref`` pixels when it lies on ``ref``'s lattice: same CRS,
    same north-up pixel size, corner a whole number of pixels away. None otherwise (it must be reprojected).

    The one rule for "is this raster on the reference grid" (inventory and cube alignment)."""
    t = transform
    if _crs_name(crs) != ref.crs or abs(t.a - ref.res) > 1e-6 or abs(t.e + ref.res) > 1e-6 or t.b != 0 or t.d != 0:
        return None
    dc, dr = (t.c - ref.x0) / ref.res, (ref.y0 - t.f) / ref.res
    if abs(dc - round(dc)) > 1e-3 or abs(dr - round(dr)) > 1e-3:
        return None
    return int(round(dr)), int(round(dc))


def grid_status(crs, transform, shape: tuple[int, int], ref: Grid) -> tuple[str, str]:
    """(status, problem) of a raster's grid against the reference grid: ``reference``, ``shifted (r, c) px``,
    ``other CRS``, ``other pixel size``, ``off-lattice`` (all usable after alignment), or ``no CRS`` / ``no overlap``
    with the problem that makes the raster unusable."""
    name = _crs_name(crs)
    if name is None:
        return "no CRS", "no CRS: cannot be placed on the map"
    if name != ref.crs:
        return f"other CRS ({name})", ""
    rows, cols = shape
    w, n = transform.c, transform.f
    e, s = w + cols * transform.a, n + rows * transform.e
    rw, rs, re_, rn = ref.bounds
    if e <= rw or w >= re_ or n <= rs or s >= rn:
        return "no overlap", "no overlap with the reference grid"
    if abs(transform.a - ref.res) > 1e-6 or abs(transform.e + ref.res) > 1e-6:
        return f"other pixel size ({transform.a:g} m)", ""
    off = lattice_offset(crs, transform, ref)
    if off is None:
        return "off-lattice", ""
    if off == (0, 0) and tuple(shape) == ref.shape:
        return "reference", ""
    return f"shifted ({off[0]}, {off[1]}) px", ""


def window_of(outer: Grid, inner: Grid) -> tuple[int, int]:
    """(row, col) offset of ``inner``'s corner in ``outer`` pixels; both must share spacing multiples."""
    col = (inner.x0 - outer.x0) / outer.res
    row = (outer.y0 - inner.y0) / outer.res
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        raise ValueError("grids are not aligned")
    return int(round(row)), int(round(col))
