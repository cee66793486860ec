"""The thesis's own published patch sets as an area's prepared data (``source: thesis_patches``,
``rocksoil import-thesis``).

The thesis's author published the patches its models were trained on (repository
``Javif16/geo2020_Javier_Martinez``, folders ``Set-up/Thesis/Thesis/data_thermal_<variant>/`` with
``thermal/N.tif``, ``mask/N.tif`` and ``patch_positions.json``). Facts of that layout this reader deals with:

* The tiffs carry **no CRS and no transform**; ``patch_positions.json`` gives per file id ``x`` (row offset,
  pixels), ``y`` (column offset) and ``date_idx`` (chronological; the dates themselves are not published).
  Windows are 64 px with stride 64. The patches are placed on the area's thermal grid from
  ``parameters/<area>.yaml`` with offset (0, 0) at its north-west corner (the thesis tiled its crop from there).
* The band the thesis code called "LST" holds **LST_err** (K, 0.7-2.0): its filename filter matched
  ``_LST_`` in both names. Detected here from the value range, and the band is named for what it is.
  Channel 1 is EmisWB. Multimodal sets append optical R, G, B (not used by the workbook) and then SAR:
  a min-max-normalised VV twice (the "VH" is a copy of VV, flagged).
* Pixels that failed the thesis's QC whitelist are **0**, not NaN (NaN where the source had no data):
  both become invalid here.
* Folders hold **stale files** (ids with no position, left from runs on other areas) which the thesis
  loader read anyway at [0, 0, 0]: they are left out and listed, as are files of another shape or band
  count and masks with codes outside 0-13.
* Its split: file names in lexicographic order ("0", "1", "10", "100", ...), 70 / 15 / 15 without shuffling.
  It is reproduced as the ``thesis_files`` protocol (a per-pixel, per-date split stored in the cube).

The source is only read. Written under ``data/<area>/``: ``interim/cube.zarr`` (the first set, normally
``thermal_only``; other sets as ``interim/cube_<variant>.zarr``), ``interim/labels.tif``,
``interim/inventory.csv`` (one row per date, with ``date_idx``) and ``raw/thesis_import.json`` +
``raw/thesis_import_files.csv`` (the import report and every file left out, with the reason).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes, io
from rocksoil_nb.core.grid import Grid, thermal_grid
from rocksoil_nb.prepare import patches
from rocksoil_nb.prepare.cube import ALL_BANDS, CubeAttrs, mark_complete, partial_path, publish, write_zarr

SOURCE = "thesis_patches"  # the parameters' ``source`` of an area imported from the published sets

SPLIT_SHARES = (0.70, 0.15)  # train, validation; the rest test (the thesis's split by file name)
SPLIT_CODES = {"train": 1, "val": 2, "test": 3}  # 0: pixel in no published file
FOLDER_RE = re.compile(r"^data_thermal_(?P<variant>\w+)$")
REPORT = "thesis_import.json"
FILES = "thesis_import_files.csv"


class NotThesisLayout(ValueError):
    """A path that is not one of the thesis's published patch sets."""


@dataclass
class PatchSet:
    """One published set, checked: patches (N, bands, 64, 64) raw values, masks (N, 64, 64) class codes,
    positions (N, 3) row, col, date_idx, and the thesis's file-name split of each patch."""

    variant: str
    source: Path
    ids: np.ndarray  # (N,) file id of thermal/N.tif
    x: np.ndarray  # (N, B, 64, 64) float32, raw units (K, emissivity 0-1, SAR as published)
    y: np.ndarray  # (N, 64, 64) uint8 class codes
    positions: np.ndarray  # (N, 3) int: row, col, date_idx
    split: np.ndarray  # (N,) train / val / test under the thesis's split by file name
    bands: list[str]  # what each band holds, named for what it is
    notes: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    @property
    def size(self) -> int:
        """Window size, pixels."""
        return int(self.x.shape[-1])

    @property
    def dates(self) -> int:
        return int(self.positions[:, 2].max()) + 1 if len(self.positions) else 0

    def fingerprint(self) -> str:
        """A short hash of what was read (ids, positions, values)."""
        h = hashlib.sha256()
        for a in (self.ids, self.positions, self.x, self.y):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


# --------------------------------------------------------------------------- finding and reading sets


def find_sets(src: str | Path) -> list[Path]:
    """The published sets under ``src``: a ``data_thermal_<variant>`` folder, a clone (or any folder) holding
    such folders, a folder with ``thermal/``, ``mask/`` and ``patch_positions*.json``, or the development
    ``.npz``. Raises :class:`NotThesisLayout` naming ``src`` when none is there."""
    src = Path(src).expanduser()
    if not src.exists():
        raise NotThesisLayout(f"{src}: no such file or folder")
    if src.is_file():
        if src.suffix == ".npz":
            return [src]
        raise NotThesisLayout(f"{src}: a file that is not a patch-set .npz; give a data_thermal_<variant> folder or a clone of "
                              "the thesis repository")
    if _is_set_folder(src):
        return [src]
    found = sorted(p for p in src.rglob("data_thermal_*") if p.is_dir() and _is_set_folder(p))
    if not found:
        raise NotThesisLayout(f"{src}: not the thesis's patch layout: expected data_thermal_<variant>/ folders with thermal/N.tif, "
                              "mask/N.tif and patch_positions.json (or the development .npz)")
    return found


def _is_set_folder(p: Path) -> bool:
    return (p / "thermal").is_dir() and (p / "mask").is_dir() and _positions_file(p) is not None


def _positions_file(p: Path) -> Path | None:
    for name in ("patch_positions.json", "patch_positions_full.json"):
        if (p / name).exists():
            return p / name
    return None


def _variant_of(path: Path, notes: list[str]) -> str:
    m = FOLDER_RE.match(path.stem if path.is_file() else path.name)
    if m:
        return m.group("variant")
    for v in sorted(patches.VARIANTS, key=len, reverse=True):  # longest match first (sar_thermal_only before thermal_only)
        if path.stem.endswith(v):
            return v
    notes.append(f"{path.name}: the name does not say the variant (data_thermal_<variant>); taken as {patches.DEFAULT_VARIANT}")
    return patches.DEFAULT_VARIANT


def file_name_split(names: list[str]) -> dict[str, str]:
    """The thesis's split: file names in lexicographic order, the first 70 % train, the next 15 % validation,
    the rest test, without shuffling (a split by file name, neither by date nor by place)."""
    order = sorted(names)
    n = len(order)
    n_train, n_val = int(SPLIT_SHARES[0] * n), int(SPLIT_SHARES[1] * n)
    return {name: "train" if i < n_train else "val" if i < n_train + n_val else "test" for i, name in enumerate(order)}


def _read_tif(path: Path) -> np.ndarray:
    """All bands of a published tiff (they have no georeference, which is expected here and reported)."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as s:
            return s.read().astype(np.float32)


def read_folder(folder: str | Path, progress: bool = True) -> PatchSet:
    """Read and check one ``data_thermal_<variant>`` folder (never written to)."""
    folder = Path(folder)
    notes: list[str] = []
    variant = _variant_of(folder, notes)
    pos_file = _positions_file(folder)
    if pos_file is None:
        raise NotThesisLayout(f"{folder}: no patch_positions.json")
    try:
        pos = json.loads(pos_file.read_text())
        pos = {str(k): (int(v["x"]), int(v["y"]), int(v["date_idx"])) for k, v in pos.items()}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise NotThesisLayout(f"{pos_file}: not the thesis's positions file (id -> x, y, date_idx): {e}") from None
    files = sorted((folder / "thermal").glob("*.tif"), key=lambda p: p.stem)
    names = [p.stem for p in files if p.stem.isdigit()]
    skipped = [(str(p.relative_to(folder)), "not a numbered patch file") for p in files if not p.stem.isdigit()]
    if not names:
        raise NotThesisLayout(f"{folder / 'thermal'}: no numbered patch files N.tif")
    split = file_name_split(names)  # over every file the thesis loader read, stale ones included
    xs, ys, ps, ids, sp = [], [], [], [], []
    shape = None
    for name in tqdm(sorted(names, key=int), desc=f"read {folder.name}", unit="patch", disable=not progress):
        rel = f"thermal/{name}.tif"
        if name not in pos:
            skipped.append((rel, "no entry in patch_positions.json (a stale file from another run)"))
            continue
        mpath = folder / "mask" / f"{name}.tif"
        if not mpath.exists():
            skipped.append((rel, "no mask/N.tif beside it"))
            continue
        try:
            x, m = _read_tif(folder / rel), _read_tif(mpath)
        except Exception as e:  # noqa: BLE001 - any unreadable file is listed, not fatal
            skipped.append((rel, f"unreadable: {e}"))
            continue
        if shape is None:
            shape = x.shape
        if x.shape != shape or x.shape[1] != x.shape[2]:
            skipped.append((rel, f"shape {x.shape} differs from {shape} (bands, rows, cols) of the set"))
            continue
        if m.shape != (1, *x.shape[1:]):
            skipped.append((f"mask/{name}.tif", f"mask shape {m.shape}, expected (1, {x.shape[1]}, {x.shape[2]})"))
            continue
        mm = m[0]
        if not np.isfinite(mm).all() or (mm != np.round(mm)).any() or mm.min() < 0 or mm.max() >= classes.N_CLASSES:
            skipped.append((f"mask/{name}.tif", f"class codes outside 0-{classes.N_CLASSES - 1}"))
            continue
        xs.append(x)
        ys.append(mm.astype(np.uint8))
        ps.append(pos[name])
        ids.append(int(name))
        sp.append(split[name])
    missing = len(set(pos) - set(names))
    if missing:
        notes.append(f"{missing} of {len(pos)} positions have no file in thermal/ (not published or left out)")
    if not xs:
        raise NotThesisLayout(f"{folder}: no usable patch (every file was left out; see the reasons)")
    return _finish(PatchSet(variant, folder, np.array(ids), np.stack(xs), np.stack(ys), np.array(ps, dtype=np.int64),
                            np.array(sp, dtype=object), [], notes, skipped))


def read_npz(path: str | Path) -> PatchSet:
    """Read the development bundle (``X`` (N, 64, 64, B), ``y``, ``positions``, ``patch_id``) built from one set."""
    path = Path(path)
    notes: list[str] = []
    try:
        z = np.load(path, allow_pickle=False)
        x = np.transpose(z["X"].astype(np.float32), (0, 3, 1, 2))
        y, p = z["y"], z["positions"].astype(np.int64)
        ids = z["patch_id"].astype(np.int64) if "patch_id" in z else np.arange(len(x))
    except (KeyError, ValueError, OSError) as e:
        raise NotThesisLayout(f"{path}: not a patch-set bundle (X, y, positions, patch_id): {e}") from None
    if x.shape[2] != x.shape[3] or y.shape != (len(x), *x.shape[2:]) or p.shape != (len(x), 3):
        raise NotThesisLayout(f"{path}: shapes X {x.shape}, y {y.shape}, positions {p.shape} are not N square patches")
    bad = (y.reshape(len(y), -1) >= classes.N_CLASSES).any(1)
    skipped = [(f"patch {i}", f"class codes outside 0-{classes.N_CLASSES - 1}") for i in ids[bad]]
    split = file_name_split([str(i) for i in ids])
    keep = ~bad
    notes.append("read from the development bundle: the thesis's split is taken over its ids (stale files are not in it)")
    return _finish(PatchSet(_variant_of(path, notes), path, ids[keep], x[keep], y[keep].astype(np.uint8), p[keep],
                            np.array([split[str(i)] for i in ids[keep]], dtype=object), [], notes, skipped))


def read_set(path: str | Path, progress: bool = True) -> PatchSet:
    """One published set from a folder or the development ``.npz``."""
    path = Path(path)
    return read_npz(path) if path.suffix == ".npz" else read_folder(path, progress)


def _finish(s: PatchSet) -> PatchSet:
    """Name the bands for what they hold and record what was found."""
    nb = s.x.shape[1]
    layouts = {2: ["?", "EmisWB"], 4: ["?", "EmisWB", "VV", "VH"], 5: ["?", "EmisWB", "R", "G", "B"],
               7: ["?", "EmisWB", "R", "G", "B", "VV", "VH"]}
    if nb not in layouts:
        raise NotThesisLayout(f"{s.source}: {nb} bands per patch; the thesis's sets have 2 (thermal), 4 (+ SAR), 5 (+ RGB) or 7")
    bands = list(layouts[nb])
    v0 = _values(s.x[:, 0])
    if not v0.size:
        raise NotThesisLayout(f"{s.source}: band 1 holds no value (all 0 or NaN)")
    p1, p50, p99 = np.percentile(v0, [1, 50, 99])
    if p99 < 20:
        bands[0] = "LST_err"
        within, across = _spread(s.x[:, 0], s.positions[:, 2])
        s.notes.append(f"band 1, the slot the thesis code called 'LST', holds LST_err (K; p1-p99 {p1:.2f}-{p99:.2f}): its filename "
                       "filter matched '_LST_' in both the LST and the LST_err file names. It is named LST_err here; "
                       f"there is no land-surface temperature in this set. LST_err varies between dates (sd of date medians "
                       f"{across:.3f} K) but hardly within one (median within-date sd {within:.3f} K): it tells dates apart, "
                       "not ground")
    elif 150 < p50 < 380:
        bands[0] = "LST"
        s.notes.append(f"band 1 holds LST (K; median {p50:.1f})")
    else:
        raise NotThesisLayout(f"{s.source}: band 1 (median {p50:.3g}) is neither LST (K) nor LST_err (K)")
    e = _values(s.x[:, 1])
    if e.size and not (0.5 < np.median(e) <= 1.0):
        raise NotThesisLayout(f"{s.source}: band 2 (median {np.median(e):.3g}) is not broadband emissivity (0-1)")
    if "VV" in bands:
        iv, ih = bands.index("VV"), bands.index("VH")
        a, b = s.x[:, iv], s.x[:, ih]
        if np.array_equal(np.nan_to_num(a, nan=-1), np.nan_to_num(b, nan=-1)):
            s.notes.append("the SAR pair is one band twice: 'VH' is a copy of VV (the thesis's SAR channels); kept as published")
        vv = _values(a)
        if vv.size and vv.min() >= 0 and vv.max() <= 1:
            s.notes.append("SAR is min-max normalised to 0-1 as published, not backscatter in dB")
    if "R" in bands:
        s.notes.append("the optical R, G, B bands are not a workbook input and are left out")
    zero = float(np.mean(s.x[:, 0] == 0))
    s.notes.append(f"{zero:.1%} of pixels are 0 (failed the thesis's QC whitelist) and {float(np.mean(~np.isfinite(s.x[:, 0]))):.1%} "
                   "NaN (no source data): both are invalid here")
    s.bands = bands
    return s


def _spread(band: np.ndarray, date_idx: np.ndarray) -> tuple[float, float]:
    """(median over dates of the within-date standard deviation, standard deviation of the date medians) of a band."""
    within, medians = [], []
    for d in np.unique(date_idx):
        v = _values(band[date_idx == d])
        if v.size > 1:
            within.append(float(np.std(v)))
            medians.append(float(np.median(v)))
    return (float(np.median(within)) if within else np.nan), (float(np.std(medians)) if medians else np.nan)


def _values(a: np.ndarray) -> np.ndarray:
    v = a[np.isfinite(a)]
    return v[v != 0]


# --------------------------------------------------------------------------- writing the area


@dataclass
class ImportResult:
    """What an import wrote and found: per set, patches, dates, bands and notes; files left out."""

    area: str
    sets: list[dict]
    grid: dict
    labels: dict
    skipped: bool = False  # already imported from the same files: nothing written

    def table(self) -> pd.DataFrame:
        """One row per set: variant, source, patches, files left out, dates, bands, cube."""
        return pd.DataFrame([{k: s[k] for k in ("variant", "patches", "left_out", "dates", "bands", "cube")} for s in self.sets])

    def notes(self) -> list[str]:
        """Everything the reader found, set by set, then the placement."""
        return [f"{s['variant']}: {n}" for s in self.sets for n in s["notes"]] + [self.grid["placement"], self.labels["note"]]


def _band_names(s: PatchSet) -> list[str]:
    """The cube's five band slots (LST or LST_err, EmisWB, VV, VH, NDVI) for this set."""
    return [s.bands[0]] + list(ALL_BANDS[1:])


def _cube_dataset(s: PatchSet, grid: Grid, area: str, fingerprint: str):
    import xarray as xr

    d, (h, w) = s.dates, grid.shape
    data = np.full((d, len(ALL_BANDS), h, w), np.nan, dtype=np.float32)
    file_split = np.zeros((d, h, w), dtype=np.uint8)
    src_idx = [0, 1] + ([s.bands.index("VV"), s.bands.index("VH")] if "VV" in s.bands else [])
    for k, (r, c, t) in enumerate(s.positions):
        for j, b in enumerate(src_idx):
            data[t, j, r : r + s.size, c : c + s.size] = s.x[k, b]
        file_split[t, r : r + s.size, c : c + s.size] = SPLIT_CODES[s.split[k]]
    thermal = data[:, :2]
    valid = (np.isfinite(thermal) & (thermal != 0)).all(axis=1)
    data[:, :2] = np.where(valid[:, None], thermal, np.nan)
    x, y = grid.centres()
    has_sar = "VV" in s.bands
    flags = {"day": ("is_day", True), "night": ("is_day", False), "summer": ("is_summer", True), "winter": ("is_summer", False)}
    known = {"has_sar": True, "has_ndvi": True}
    is_day, is_summer = np.zeros(d, bool), np.zeros(d, bool)
    if s.variant in flags:
        name, value = flags[s.variant]
        (is_day if name == "is_day" else is_summer)[:] = value
        known[name] = True
    ds = xr.Dataset(
        {"data": (("time", "band", "y", "x"), data), "valid": (("time", "y", "x"), valid.astype(np.uint8)),
         "file_split": (("time", "y", "x"), file_split)},
        coords={"time": np.full(d, np.datetime64("NaT"), dtype="datetime64[ns]"), "band": _band_names(s), "y": y, "x": x,
                "date_idx": ("time", np.arange(d)), "is_day": ("time", is_day), "is_summer": ("time", is_summer),
                "local_solar_hour": ("time", np.full(d, np.nan)), "has_sar": ("time", np.full(d, has_sar)),
                "has_ndvi": ("time", np.zeros(d, bool))})
    ds.attrs.update(CubeAttrs(
        crs=grid.crs, transform=list(grid.transform)[:6], res_m=grid.res, inputs_hash=fingerprint,
        units=f"{s.bands[0]} K; EmisWB 0-1" + ("; VV, VH as published (see notes)" if has_sar else ""),
        time="unknown: the published set has no dates; date_idx is their chronological order",
        dates_known=False, flags_known=sorted(known), source=SOURCE, source_path=str(s.source), variant=s.variant,
        file_split="codes 0 none, 1 train, 2 val, 3 test: the thesis's split of its files by name (70/15/15 in lexicographic order)",
        notes=json.dumps(s.notes),
        alignment="published 64-px patches placed at their row/col offsets on the area's grid (no georeference in the files)").to_attrs())
    return ds


def _write_cube(ds, out: Path) -> Path:
    tmp = write_zarr(ds, partial_path(out))
    mark_complete(tmp)
    return publish(tmp, out)


def _inventory(s: PatchSet, ds) -> pd.DataFrame:
    """One row per date: date_idx, patches, covered and valid shares; the scene filter was the thesis's."""
    valid = ds["valid"].values.astype(bool)
    covered = np.isfinite(ds["data"].values[:, 1]) | (ds["file_split"].values > 0)
    n = np.bincount(s.positions[:, 2], minlength=s.dates)
    day = {"day": "day", "night": "night"}.get(s.variant, "unknown")
    season = {"summer": "summer", "winter": "winter"}.get(s.variant, "unknown")
    rows = []
    for t in range(s.dates):
        cov = covered[t].sum()
        rows.append({"date_idx": t, "time_utc": pd.NaT, "local_solar_hour": np.nan, "daynight": day, "season": season,
                     "grid": "placed from patch_positions.json", "patches": int(n[t]), "cloud_fraction": np.nan,
                     "bad_fraction": round(float(1 - valid[t].sum() / cov), 4) if cov else np.nan,
                     "valid_fraction": round(float(valid[t].mean()), 4), "kept": True,
                     "reason": "filtered by the thesis (its scene filter and QC whitelist; 0-filled pixels invalid)"})
    return pd.DataFrame(rows)


def run(cfg: AreaConfig, src: str | Path | None = None, progress: bool = True) -> ImportResult:
    """Import the published sets at ``src`` (default ``acquisition.thesis_patches`` of the area) as the area's cube(s),
    labels and scene table; skipped when the same files were already imported."""
    lay = cfg.layout
    src = Path(src or cfg.acquisition.thesis_patches)
    if not str(src) or str(src) == ".":
        raise NotThesisLayout(f"area {cfg.name!r}: set acquisition.thesis_patches (or pass SRC) to the published patch sets")
    if not src.is_absolute():
        src = cfg.root / src
    report_path = lay.raw_dir / REPORT
    paths = find_sets(src)
    stamp = _source_stamp(paths)
    if report_path.exists() and lay.cube.exists() and lay.labels.exists():
        old = io.read_json(report_path)
        if old.get("source_stamp") == stamp and all(Path(s["cube"]).exists() for s in old["result"]["sets"]):
            return ImportResult(**{**old["result"], "skipped": True})
    sets = [read_set(p, progress) for p in paths]
    order = sorted(range(len(sets)), key=lambda i: list(patches.VARIANTS).index(sets[i].variant))  # the variant table's order
    sets = [sets[i] for i in order]
    if len({s.variant for s in sets}) != len(sets):
        raise NotThesisLayout(f"{src}: two sets of the same variant: {[str(s.source) for s in sets]}")
    grid = thermal_grid(cfg.area)
    labels, lab_note = _labels(sets, grid)
    io.write_geotiff(lay.labels, labels, grid.crs, grid.transform, colormap=classes.rgb_table(),
                     tags={"rule": "class codes of the published masks placed at their positions; 0 outside",
                           "source": str(src)}, band_descriptions=["class_code"])
    out_sets, left = [], []
    for i, s in enumerate(sets):
        cube_path = lay.cube if i == 0 else lay.interim_dir / f"cube_{s.variant}.zarr"
        ds = _cube_dataset(s, grid, cfg.name, s.fingerprint())
        _write_cube(ds, cube_path)
        if i == 0:
            io.write_csv(lay.inventory, _inventory(s, ds))
        left += [{"variant": s.variant, "file": f, "reason": r} for f, r in s.skipped]
        out_sets.append({"variant": s.variant, "source": str(s.source), "patches": len(s.ids), "left_out": len(s.skipped),
                         "dates": s.dates, "bands": "+".join(b for b in s.bands if b not in ("R", "G", "B")), "cube": str(cube_path),
                         "notes": s.notes, "split_counts": {k: int((s.split == k).sum()) for k in SPLIT_CODES}})
    io.write_csv(lay.raw_dir / FILES, pd.DataFrame(left, columns=["variant", "file", "reason"]))
    extent = sets[0].positions[:, :2].max(axis=0) + sets[0].size
    gd = {"crs": grid.crs, "shape": list(grid.shape), "res_m": grid.res, "transform": list(grid.transform)[:6],
          "placement": (f"The published tiffs carry no CRS and no transform. The patches (a {extent[0]} x {extent[1]} px crop) were placed "
                        f"at their row/column offsets from the north-west corner of the area's {grid.rows} x {grid.cols} thermal grid "
                        f"({grid.crs}, {grid.res:.0f} m, from parameters/{cfg.name}.yaml); pixels outside the crop are no data.")}
    counts = np.bincount(labels.ravel(), minlength=classes.N_CLASSES)
    result = ImportResult(cfg.name, out_sets, gd, {"classes": {classes.NAMES[k]: int(v) for k, v in enumerate(counts) if v},
                                                   "note": lab_note})
    saved = {k: v for k, v in result.__dict__.items() if k != "skipped"}
    io.write_json(report_path, {"source_stamp": stamp, "source": str(src), "result": saved})
    return result


def _source_stamp(paths: list[Path]) -> str:
    """Names, sizes and modification times of every file of the sets (changes when the source changes)."""
    h = hashlib.sha256()
    for p in paths:
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
        for f in files:
            st = f.stat()
            h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _labels(sets: list[PatchSet], grid: Grid) -> tuple[np.ndarray, str]:
    """The label map from every set's masks; patches of one place that disagree are counted (the last one wins)."""
    labels = np.zeros(grid.shape, dtype=np.uint8)
    covered = np.zeros(grid.shape, dtype=bool)
    disagree = 0
    for s in sets:
        r_max, c_max = s.positions[:, 0].max() + s.size, s.positions[:, 1].max() + s.size
        if r_max > grid.rows or c_max > grid.cols or s.positions[:, :2].min() < 0:
            raise NotThesisLayout(f"{s.source}: the patches reach row {r_max}, column {c_max}, outside the area's "
                                  f"{grid.rows} x {grid.cols} grid: is this the right area?")
        for k, (r, c, _) in enumerate(s.positions):
            win = (slice(r, r + s.size), slice(c, c + s.size))
            if covered[win].any() and (labels[win][covered[win]] != s.y[k][covered[win]]).any():
                disagree += 1
            labels[win] = s.y[k]
            covered[win] = True
    note = (f"label map rebuilt from the masks: {covered.mean():.1%} of the grid covered; "
            f"{disagree} patch(es) disagree with an earlier mask of the same place")
    return labels, note


def import_area(root: Path, area: str, src: str | Path, name: str | None = None) -> str:
    """The area a CLI import writes to. ``area`` with ``source: thesis_patches`` is used as it is; any other area
    (a simulated one, say) lends its grid and class weights to a new ``parameters/<name>.yaml`` (default
    ``<area>_thesis``, with ``thesis_area: <area>`` so its published numbers sit beside ours), so the
    area's own data is never overwritten. Returns the area name to load."""
    import yaml

    base = root / "parameters" / f"{area}.yaml"
    if not base.exists():
        raise FileNotFoundError(f"{base}: no such area; the import places the patches on an area's grid from its parameters")
    d = yaml.safe_load(base.read_text())
    if d.get("source") == SOURCE and not name:
        return area
    name = name or f"{area}_thesis"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
        raise ValueError(f"--as {name!r}: an area name is letters, digits, '_' and '-' (it names parameters/<name>.yaml and "
                         "data/<name>/, which stay inside the project)")
    target = root / "parameters" / f"{name}.yaml"
    if target.exists():
        if yaml.safe_load(target.read_text()).get("source") != SOURCE:
            raise ValueError(f"{target}: exists and is not a thesis import; choose another --as name")
        return name
    d = {k: v for k, v in d.items() if k != "simulator"}
    d.update({"name": name, "title": f"{d.get('title', area)} (real, the thesis's published patches)", "source": SOURCE,
              "thesis_area": d.get("thesis_area", area)})
    d.setdefault("acquisition", {}).update({"thesis_patches": str(src), "sentinel": False})
    head = (f"# {name}: the thesis's published patch set(s) at {src}, placed on the grid of parameters/{area}.yaml\n"
            "# (written by `rocksoil import-thesis`; edit freely).\n")
    io.write_text(target, head + yaml.safe_dump(d, sort_keys=False))
    return name


def report(cfg: AreaConfig) -> ImportResult:
    """The last import's report of an area."""
    p = cfg.layout.raw_dir / REPORT
    if not p.exists():
        raise FileNotFoundError(f"{p}: no import report; run 01_acquire (or rocksoil import-thesis) first")
    try:
        return ImportResult(**io.read_json(p)["result"])
    except (KeyError, TypeError) as e:
        raise ValueError(f"{p}: the import report is damaged ({type(e).__name__}: {e}); run the import again "
                         "(rocksoil import-thesis or 01_acquire)") from None


def left_out(cfg: AreaConfig) -> pd.DataFrame:
    """Every file the import left out, with the reason."""
    p = cfg.layout.raw_dir / FILES
    return pd.read_csv(p) if p.exists() else pd.DataFrame(columns=["variant", "file", "reason"])
