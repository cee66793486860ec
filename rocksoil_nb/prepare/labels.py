"""Geology polygons → class raster on the thermal grid (02_labels).

Rule: each 70 m thermal pixel takes the class covering most of it, judged on a
``supersample`` × ``supersample`` lattice of sub-pixel centres (default 7 × 7, i.e. 10 m);
sub-pixels outside every polygon count as class 0 (no data); ties go to the smaller code.
Invalid polygons are repaired (``shapely.make_valid``) and reported, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rocksoil_nb.core import classes, io
from rocksoil_nb.core.grid import Grid


class LabelError(ValueError):
    """The geology vector cannot be turned into labels (no CRS, bad codes, no overlap...)."""


@dataclass
class LabelResult:
    """Labels on the thermal grid and what happened on the way."""

    labels: np.ndarray  # uint8 (rows, cols), codes 0-13
    grid: Grid
    n_polygons: int
    repaired: list = field(default_factory=list)  # [(feature index, reason)]
    path: Path | None = None

    def counts(self):
        """Pixel count and share per class present, as a DataFrame."""
        import pandas as pd

        c = np.bincount(self.labels.ravel(), minlength=classes.N_CLASSES)
        df = pd.DataFrame({"code": range(classes.N_CLASSES), "class": [classes.NAMES[k] for k in range(classes.N_CLASSES)],
                           "pixels": c, "share_%": np.round(100 * c / c.sum(), 2)})
        df["area_km2"] = np.round(df["pixels"] * self.grid.res**2 / 1e6, 3)
        return df[df["pixels"] > 0].reset_index(drop=True)


def read_geology(path: str | Path, class_field: str = "class_code"):
    """Read a geology vector (GeoPackage, shapefile…) and check CRS and class codes."""
    import geopandas as gpd

    path = Path(path)
    if not path.exists():
        raise LabelError(f"{path}: geology vector not found")
    try:
        gdf = gpd.read_file(path)
    except Exception as e:  # noqa: BLE001 - report any reader failure with the file name
        raise LabelError(f"{path}: cannot read as a vector file: {e}") from None
    if gdf.crs is None:
        raise LabelError(f"{path}: the geology vector has no CRS; assign one (e.g. EPSG:25830) in QGIS or with geopandas.set_crs")
    if class_field not in gdf.columns:
        raise LabelError(f"{path}: no class field {class_field!r}; fields are {list(gdf.columns.drop('geometry'))}")
    codes = gdf[class_field]
    if codes.isna().any():
        rows = np.flatnonzero(codes.isna())[:10].tolist()
        raise LabelError(f"{path}: {int(codes.isna().sum())} feature(s) have no value in {class_field!r} (rows {rows})")
    import pandas as pd

    as_num = pd.to_numeric(codes, errors="coerce").to_numpy(dtype=float)
    words = np.isnan(as_num)
    if words.any():
        raise LabelError(f"{path}: {class_field!r} must hold class codes 0-{classes.N_CLASSES - 1} (numbers: see "
                         f"rocksoil_nb.core.classes), but {int(words.sum())} feature(s) hold text such as "
                         f"{sorted(set(map(str, codes[words])))[:5]} (rows {np.flatnonzero(words)[:10].tolist()}); "
                         "map the unit names to codes first")
    bad = (as_num != np.round(as_num)) | (as_num < 0) | (as_num > classes.N_CLASSES - 1)
    if bad.any():
        raise LabelError(f"{path}: class codes outside 0-{classes.N_CLASSES - 1} in {class_field!r}: "
                         f"{sorted(set(as_num[bad].tolist()))[:10]} (rows {np.flatnonzero(bad)[:10].tolist()})")
    gdf[class_field] = as_num.astype(int)
    if gdf.crs.is_geographic and len(gdf):
        x0, y0, x1, y1 = gdf.total_bounds
        if min(x0, y0) < -180 or x1 > 180 or y1 > 90 or y0 < -90:
            raise LabelError(f"{path}: the file says {gdf.crs.to_string()} (degrees) but its coordinates reach "
                             f"{np.round([x0, y0, x1, y1]).tolist()}, which are metres of a projected CRS (UTM?); "
                             "set the CRS the coordinates are really in (QGIS: Layer CRS, or geopandas.set_crs)")
    return gdf


def repair(gdf) -> tuple:
    """Make every geometry valid; return (gdf, [(row, reason), ...]) listing what was repaired."""
    from shapely import make_valid
    from shapely.validation import explain_validity

    repaired = []
    geoms = list(gdf.geometry)
    for i, g in enumerate(geoms):
        if g is not None and not g.is_valid:
            repaired.append((i, explain_validity(g)))
            geoms[i] = make_valid(g)
    gdf = gdf.copy()
    gdf["geometry"] = geoms
    return gdf, repaired


def rasterize(gdf, grid: Grid, class_field: str = "class_code", supersample: int = 7) -> np.ndarray:
    """Majority-of-sub-pixels class raster (uint8) of polygons ``gdf`` on ``grid``."""
    import rasterio.features
    from affine import Affine

    if gdf.crs is None:
        raise LabelError("the geology vector has no CRS")
    g = gdf.to_crs(grid.crs)
    w, s, e, n = grid.bounds
    if len(g) == 0 or g.geometry.isna().all() or g.geometry.is_empty.all():
        raise LabelError("the geology layer has no polygons (an empty layer, or another layer of the file holds the map)")
    minx, miny, maxx, maxy = g.total_bounds
    if maxx <= w or minx >= e or maxy <= s or miny >= n:
        raise LabelError(f"the geology polygons (bounds {np.round([minx, miny, maxx, maxy]).tolist()} in {grid.crs}) "
                         f"do not overlap the thermal grid (bounds {np.round(grid.bounds).tolist()})")
    k = int(supersample)
    fine_t = Affine(grid.res / k, 0, grid.x0, 0, -grid.res / k, grid.y0)
    shapes = ((geom, int(c)) for geom, c in zip(g.geometry, g[class_field]) if geom is not None and not geom.is_empty)
    fine = rasterio.features.rasterize(shapes, out_shape=(grid.rows * k, grid.cols * k), transform=fine_t, fill=0, dtype="uint8")
    counts = np.zeros((classes.N_CLASSES, grid.rows, grid.cols), dtype=np.uint16)
    blocks = fine.reshape(grid.rows, k, grid.cols, k)
    for c in range(classes.N_CLASSES):
        counts[c] = (blocks == c).sum(axis=(1, 3))
    return counts.argmax(axis=0).astype(np.uint8)


def make_labels(vector_path: str | Path, grid: Grid, out_path: str | Path | None = None, class_field: str = "class_code",
                supersample: int = 7) -> LabelResult:
    """Read, repair and rasterise the geology vector onto ``grid``; write ``labels.tif`` if ``out_path``."""
    gdf = read_geology(vector_path, class_field)
    gdf, repaired = repair(gdf)
    try:
        lab = rasterize(gdf, grid, class_field, supersample)
    except LabelError as e:
        raise LabelError(f"{vector_path}: {e}") from None
    res = LabelResult(lab, grid, len(gdf), repaired)
    if out_path is not None:
        res.path = io.write_geotiff(out_path, lab, grid.crs, grid.transform, colormap=classes.rgb_table(),
                                    tags={"rule": f"majority of {supersample}x{supersample} sub-pixels; 0 outside polygons",
                                          "source": str(Path(vector_path).name)}, band_descriptions=["class_code"])
    return res


def find_geology_vector(raw_dir: str | Path) -> Path:
    """The geology vector in ``raw/geology/`` (GeoPackage preferred, else shapefile)."""
    folder = Path(raw_dir) / "geology"
    found = sorted(folder.glob("*.gpkg")) + sorted(folder.glob("*.shp"))
    if not found:
        raise LabelError(f"{folder}: no geology vector (*.gpkg or *.shp); run 01_acquire first")
    return found[0]


def repaired_table(result: LabelResult):
    """The repaired geometries as a table (feature row, what was wrong)."""
    import pandas as pd

    return pd.DataFrame(result.repaired, columns=["feature_row", "problem (repaired with make_valid)"])


def subpixel_votes(gdf, grid: Grid, row: int, col: int, class_field: str = "class_code", supersample: int = 7) -> tuple[np.ndarray, int]:
    """The rule of :func:`rasterize` on one thermal pixel: its ``supersample`` × ``supersample`` sub-pixel classes
    and the class that wins (most sub-pixels; ties to the smaller code; outside every polygon = 0)."""
    k = int(supersample)
    one = Grid(grid.crs, grid.x0 + col * grid.res, grid.y0 - row * grid.res, grid.res / k, k, k)
    sub = rasterize(gdf, one, class_field, 1)
    return sub, int(np.bincount(sub.ravel(), minlength=classes.N_CLASSES).argmax())
