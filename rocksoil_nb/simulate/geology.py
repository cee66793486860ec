"""Simulated geology: a fine "true" class raster from geological processes, and the
generalised, slightly displaced polygon map a geologist would digitise from it.

Lengths are metres; the true raster lives on a 10 m grid.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from rocksoil_nb.core import classes
from rocksoil_nb.core.grid import Grid
from rocksoil_nb.simulate.noise import smooth_field, threshold_for_fraction

TRUE_RES_M = 10.0


def _coords(world: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates relative to the grid centre (x east, y north), metres, float32."""
    x, y = world.centres()
    x = (x - x.mean()).astype(np.float32)
    y = (y - y.mean()).astype(np.float32)
    return x[None, :], y[:, None]


def _river_paths(world: Grid, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Meandering river centre-lines (pixel row/col arrays) crossing the grid."""
    rows, cols = world.shape
    paths = []
    for _ in range(n):
        horizontal = rng.random() < 0.5
        length = cols if horizontal else rows
        t = np.arange(length, dtype=float)
        heading = np.cumsum(rng.normal(0, 0.04, length))
        heading = ndimage.gaussian_filter1d(heading, 40) * 1.5
        offset = rng.uniform(0.25, 0.75) * (rows if horizontal else cols)
        lateral = offset + np.cumsum(np.tan(np.clip(heading, -1.0, 1.0)))
        meander = 0.4 * length / 12 * np.sin(2 * np.pi * t / rng.uniform(60, 140) + rng.uniform(0, 6.3))
        lateral = lateral + meander
        if horizontal:
            paths.append(np.stack([lateral, t], axis=1))
        else:
            paths.append(np.stack([t, lateral], axis=1))
    return paths


def _blob(x, y, cx, cy, radius, rough, scale=0.25):
    """Boolean mask of a noise-perturbed disc of ``radius`` metres around (cx, cy)."""
    d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
    return d < radius * (1.0 + scale * rough)


def true_geology(geo, world: Grid, rng: np.random.Generator) -> np.ndarray:
    """The true class raster (uint8, codes 1-13) on ``world`` (10 m) from the recipe ``geo``."""
    rows, cols = world.shape
    res = world.res
    x, y = _coords(world)
    th = np.deg2rad(geo.strike_deg)
    u = x * np.sin(th) + y * np.cos(th)  # along strike
    v = x * np.cos(th) - y * np.sin(th)  # across strike
    warp_v = smooth_field((rows, cols), 1500 / res, rng) * geo.warp_m
    warp_u = smooth_field((rows, cols), 2500 / res, rng) * geo.warp_m
    lam = geo.fold_wavelength_m
    plunge = rng.uniform(0.05, 0.15)
    s = v + warp_v + geo.fold_amplitude_m * np.cos(2 * np.pi * (v + warp_u) / lam + rng.uniform(0, 2 * np.pi)) + plunge * u
    codes = np.array([int(r[0]) for r in geo.column], dtype=np.uint8)
    thick = np.array([float(r[1]) for r in geo.column])
    bounds = np.cumsum(thick)
    total = bounds[-1]
    pos = np.mod(s - s.min() + rng.uniform(0, total), total)
    g = codes[np.searchsorted(bounds, pos, side="right").clip(0, len(codes) - 1)]
    del s, pos, u, v, warp_u

    span_x, span_y = cols * res, rows * res
    rough = smooth_field((rows, cols), 300 / res, rng)

    if geo.foliated_belt_m > 0:
        vb = rng.uniform(-0.3, 0.3) * min(span_x, span_y)
        vv = x * np.cos(th) - y * np.sin(th) + warp_v * 2
        g[np.abs(vv - vb) < geo.foliated_belt_m / 2] = 11
        del vv
    del warp_v

    for _ in range(geo.plutons):
        cx, cy = rng.uniform(-0.3, 0.3) * span_x, rng.uniform(-0.3, 0.3) * span_y
        d = np.sqrt(((x - cx) / rng.uniform(0.8, 1.2)) ** 2 + (y - cy) ** 2) / (1.0 + 0.25 * rough)
        aureole = (d < geo.pluton_radius_m + geo.aureole_m) & np.isin(g, (7, 8, 11))
        g[aureole] = 12
        g[d < geo.pluton_radius_m] = 10
        del d

    for _ in range(geo.volcanic_centres):
        cx, cy = rng.uniform(-0.45, 0.45) * span_x, rng.uniform(-0.45, 0.45) * span_y
        r = geo.volcanic_radius_m * rng.uniform(0.6, 1.4)
        g[_blob(x, y, cx, cy, r, rough, 0.35)] = 9

    cover_field = smooth_field((rows, cols), 700 / res, rng)
    for host, soil, frac in geo.covers:
        on_host = g == int(host)
        if on_host.any():
            thr = threshold_for_fraction(cover_field[on_host], frac)
            g[on_host & (cover_field > thr)] = int(soil)
        cover_field = np.roll(cover_field, (rows // 3, cols // 5), axis=(0, 1))  # decorrelate the next cover

    river_lines = _river_paths(world, geo.rivers, rng)
    if river_lines:
        line = np.zeros((rows, cols), dtype=bool)
        for p in river_lines:
            r_ = np.clip(np.round(p[:, 0]).astype(int), 0, rows - 1)
            c_ = np.clip(np.round(p[:, 1]).astype(int), 0, cols - 1)
            ok = (p[:, 0] >= 0) & (p[:, 0] < rows) & (p[:, 1] >= 0) & (p[:, 1] < cols)
            line[r_[ok], c_[ok]] = True
        dist = ndimage.distance_transform_edt(~line).astype(np.float32) * res
        width = geo.alluvium_m * (1.0 + 0.35 * rough)
        rel = dist / np.maximum(width, 1.0)
        split = smooth_field((rows, cols), 400 / res, rng)
        g[(rel < 1.0) & (rel >= 0.3) & (split > 0.3)] = 2  # floodplain clay (back swamps)
        g[(rel < 1.0) & (rel >= 0.3) & (split <= 0.3)] = 4  # floodplain silt
        g[rel < 0.3] = 1  # channel-belt sand
        g[(rel >= 1.0) & (rel < 1.35) & (split > 0.8)] = 6  # terrace loam
    else:
        dist = None

    for _ in range(geo.peat_hollows):
        if dist is not None and rng.random() < 0.6:
            near = np.argwhere((dist > geo.alluvium_m) & (dist < 3 * geo.alluvium_m))
            rr, cc = near[rng.integers(len(near))] if len(near) else (rng.integers(rows), rng.integers(cols))
            cx, cy = x[0, cc], y[rr, 0]
        else:
            cx, cy = rng.uniform(-0.45, 0.45) * span_x, rng.uniform(-0.45, 0.45) * span_y
        g[_blob(x, y, cx, cy, geo.peat_radius_m * rng.uniform(0.6, 1.4), rough, 0.4)] = 5

    if geo.reservoir_radius_m > 0:
        if river_lines:
            p = river_lines[0]
            k = rng.integers(len(p) // 4, 3 * len(p) // 4)
            rr, cc = np.clip(p[k].astype(int), 0, [rows - 1, cols - 1])
            cx, cy = x[0, cc], y[rr, 0]
        else:
            cx, cy = 0.0, 0.0
        g[_blob(x, y, cx, cy, geo.reservoir_radius_m, rough, 0.45)] = 13
    return g


def class_fractions(true: np.ndarray, factor: int) -> np.ndarray:
    """Per-block class fractions (14, rows/factor, cols/factor), float32, of a fine class raster."""
    rows, cols = true.shape[0] // factor, true.shape[1] // factor
    t = true[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor)
    out = np.empty((classes.N_CLASSES, rows, cols), dtype=np.float32)
    for k in range(classes.N_CLASSES):
        out[k] = (t == k).mean(axis=(1, 3))
    return out


def block_mode(true: np.ndarray, factor: int) -> np.ndarray:
    """Majority class of each ``factor`` × ``factor`` block (ties → smaller code)."""
    return class_fractions(true, factor).argmax(axis=0).astype(np.uint8)


def geologic_map(geo, true: np.ndarray, world: Grid, rng: np.random.Generator):
    """The digitised 1:50,000-style map of ``true`` as a GeoDataFrame (CRS of ``world``).

    Generalised (50 m block majority, polygons under ``map_min_area_m2`` merged into
    neighbours), displaced by a smooth georeferencing error of ~``map_displacement_m``,
    a sheet-edge strip and a built-up patch left unmapped (class 0), a few units
    mis-assigned to a related class, and one digitising error (a self-intersecting ring).
    Returns ``(gdf, info)`` with what was done.
    """
    import geopandas as gpd
    import rasterio.features
    from affine import Affine
    from shapely.geometry import Polygon, shape

    f = 5  # 10 m → 50 m
    coarse = block_mode(true, f)
    res = world.res * f
    rows, cols = coarse.shape
    # georeferencing error: smooth displacement field plus a global shift
    disp = geo.map_displacement_m / res
    dr = smooth_field((rows, cols), 3000 / res, rng) * disp + rng.normal(0, disp / 2)
    dc = smooth_field((rows, cols), 3000 / res, rng) * disp + rng.normal(0, disp / 2)
    rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    moved = ndimage.map_coordinates(coarse, [rr + dr, cc + dc], order=0, mode="nearest").astype(np.uint8)
    # unmapped: a strip along one sheet edge and a built-up area
    unm = np.zeros_like(moved, dtype=bool)
    strip = max(1, int(round(geo.unmapped_fraction * 0.6 * (rows if rng.random() < 0.5 else cols))))
    side = rng.integers(4)
    if side == 0:
        unm[:strip, :] = True
    elif side == 1:
        unm[-strip:, :] = True
    elif side == 2:
        unm[:, :strip] = True
    else:
        unm[:, -strip:] = True
    town_r = np.sqrt(geo.unmapped_fraction * 0.4 * rows * cols / np.pi)
    tr, tc = rng.uniform(0.2, 0.8) * rows, rng.uniform(0.2, 0.8) * cols
    unm |= (rr - tr) ** 2 + (cc - tc) ** 2 < town_r**2
    moved[unm] = 0
    # generalise: merge polygons smaller than the minimum mappable area
    min_px = max(2, int(geo.map_min_area_m2 / res**2))
    gen = rasterio.features.sieve(moved, size=min_px, connectivity=8)
    transform = Affine(res, 0, world.x0, 0, -res, world.y0)
    related = {1: 4, 4: 6, 6: 4, 2: 4, 3: 8, 7: 8, 8: 7, 11: 12, 12: 11, 9: 7, 10: 12, 5: 2}
    recs, n_relabelled = [], 0
    for geom, val in rasterio.features.shapes(gen, connectivity=4, transform=transform):
        code = int(val)
        poly = shape(geom).simplify(res * 0.5, preserve_topology=True)
        if poly.is_empty:
            continue
        if code in related and rng.random() < 0.03:
            code = related[code]
            n_relabelled += 1
        recs.append({"class_code": code, "geometry": poly})
    # one digitising error: swap two vertices of a mid-size polygon's exterior ring
    cand = [i for i, r in enumerate(recs) if isinstance(r["geometry"], Polygon) and len(r["geometry"].exterior.coords) > 8]
    broken = None
    if cand:
        i = cand[rng.integers(len(cand))]
        ring = list(recs[i]["geometry"].exterior.coords)[:-1]
        k = rng.integers(1, len(ring) - 2)
        ring[k], ring[k + 1] = ring[k + 1], ring[k]
        bad = Polygon(ring, [list(h.coords) for h in recs[i]["geometry"].interiors])
        if not bad.is_valid:
            recs[i]["geometry"] = bad
            broken = i
    gdf = gpd.GeoDataFrame(recs, geometry="geometry", crs=world.crs)
    gdf["class_name"] = [classes.NAMES[c] for c in gdf["class_code"]]
    gdf["unit_id"] = np.arange(1, len(gdf) + 1)
    broken_unit = None if broken is None else int(gdf["unit_id"].iloc[broken])
    gdf = gdf[gdf["class_code"] != 0].reset_index(drop=True)  # unmapped = no polygon
    info = {
        "polygons": int(len(gdf)),
        "relabelled_units": n_relabelled,
        "invalid_polygons": int((~gdf.geometry.is_valid).sum()),
        "broken_unit_id": broken_unit,
        "displacement_m_rms": float(np.sqrt(np.mean(dr**2 + dc**2)) * res),
        "unmapped_fraction": float(unm.mean()),
    }
    return gdf, info
