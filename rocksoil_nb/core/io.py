"""Atomic file writing (temp file + rename) for rasters, tables and JSON.

A reader never sees a half-written file: every writer here writes beside the
target and renames into place only when the file is complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once: os.umask can only be read by setting it


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None):
    """Yield a temporary path beside ``target``; rename it onto ``target`` if the block succeeds. The file gets the
    permissions the user's umask gives new files (a temporary file is private until then), and its data reach the
    disk before the rename (a full disk fails here, never as a short file under the final name)."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or target.suffix, dir=target.parent)
    except PermissionError:
        raise PermissionError(f"{target.parent}: cannot write {target.name} here (no permission); make the folder "
                              "writable, or work in another folder (ROCKSOIL_WORKDIR)") from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.is_file():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


#: the names atomic_path gives its temporary files: "." + target name + "." + 8 random characters + suffix
_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}(\.[A-Za-z0-9]+)?$")


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete the temporary files that an interrupted atomic write (a killed process) left in ``folder`` and below."""
    folder = Path(folder)
    gone = [p for p in folder.rglob(".*") if p.is_file() and _TEMP.match(p.name)] if folder.is_dir() else []
    for p in gone:
        p.unlink()
    return gone


def read_json(path: str | Path):
    """Parse a JSON file; a damaged or cut one is a ``ValueError`` naming the file (never a bare decoder error)."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: damaged or incomplete JSON ({e}); delete it and rerun the step that writes it") from None


def read_json_or(path: str | Path, default=None):
    """:func:`read_json`, or ``default`` when the file is missing or damaged (a record that is then rewritten)."""
    try:
        return read_json(path) if Path(path).exists() else default
    except ValueError:
        return default


def write_json(path: str | Path, obj) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_csv(path: str | Path, df, index: bool = False) -> Path:
    """Write a pandas DataFrame as CSV, atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index)
    return Path(path)


def write_geotiff(
    path: str | Path,
    array: np.ndarray,
    crs,
    transform,
    nodata=None,
    colormap: dict | None = None,
    tags: dict | None = None,
    band_descriptions: list[str] | None = None,
    compress: str = "deflate",
    cog_overviews: str | None = None,
) -> Path:
    """Write a 2-D (or bands-first 3-D) array as a GeoTIFF with CRS and transform, atomically.

    ``cog_overviews`` (a resampling name, e.g. ``mode`` for classes, ``average`` for continuous values)
    writes a Cloud-Optimized GeoTIFF (tiled, with overviews made that way) instead.
    """
    import rasterio

    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[None]
    predictor = 3 if np.issubdtype(arr.dtype, np.floating) else 2
    profile = dict(
        driver="GTiff",
        height=arr.shape[1],
        width=arr.shape[2],
        count=arr.shape[0],
        dtype=arr.dtype.name,
        crs=crs,
        transform=transform,
        nodata=nodata,
        compress=compress,
        predictor=predictor,
    )
    if cog_overviews:
        profile.update(driver="COG", blocksize=256, overview_resampling=cog_overviews)
    elif arr.shape[1] >= 256 and arr.shape[2] >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with atomic_path(path, suffix=".tif") as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr)
            if colormap is not None:
                dst.write_colormap(1, colormap)
            if tags:
                dst.update_tags(**{k: str(v) for k, v in tags.items()})
            for i, d in enumerate(band_descriptions or [], start=1):
                dst.set_band_description(i, d)
        verify_raster(tmp, f"{path} (as written)")
    return Path(path)


def verify_raster(path: str | Path, name: str | None = None) -> None:
    """Every block of the raster reads back, else ``ValueError`` naming it: an empty, cut or damaged GeoTIFF (a full
    disk, a killed process) is never taken for a complete one."""
    import rasterio

    path = Path(path)
    what = name or str(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise ValueError(f"{what}: empty or missing raster")
    try:
        with rasterio.open(path) as src:
            for _, window in src.block_windows(1):
                src.read(window=window)
    except rasterio.errors.RasterioError as e:
        raise ValueError(f"{what}: damaged or cut raster ({e})") from None


def raster_intact(path: str | Path) -> bool:
    """Whether :func:`verify_raster` passes (for resuming: a file that does not is written again)."""
    try:
        verify_raster(path)
    except ValueError:
        return False
    return True
