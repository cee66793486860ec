"""Patches and sequences of the seven dataset variants (05_patches); the split protocols are in
:mod:`rocksoil_nb.prepare.splits`, the manifest record in :mod:`rocksoil_nb.prepare.manifest`.

* Windows of ``patch_size`` pixels with ``overlap`` (0-1) cover the whole area (the last row and
  column of windows are flush with the edge); positions (row, col, date) are kept.
* Minimum-valid rule: a patch (or a sequence's last frame) is kept when at least
  ``min_valid_fraction`` of its pixels are valid in that scene *and* labelled (class != 0);
  each earlier frame of a sequence needs half of that.
* Variants (thesis §4): ``thermal_only`` (LST, EmisWB, every kept pass), ``thermal_sar`` (LST,
  EmisWB, VV, VH, passes with same-day SAR), ``sar_thermal_only`` (the same passes, thermal bands only),
  ``day`` / ``night`` (by the inventory's rule), ``winter`` (22 Sep-21 Mar) / ``summer``.
* ConvLSTM sequences: T consecutive kept dates of one location, stride ``sequence_stride``; the label
  is the last frame's.
* Whole years (``tae``, kind ``year``): one sample per location and calendar year, its frames the year's passes
  on which the window is at least half as valid as the minimum-valid rule asks (at most ``year_frames``, the
  most valid ones, in time order; at least :data:`MIN_YEAR_FRAMES`), padded with -1 to the dataset's T; the
  window must be labelled to the minimum-valid share. Where the cube's dates are unknown (a thesis import), blocks
  of :data:`~rocksoil_nb.prepare.cube.UNDATED_YEAR_DATES` consecutive dates stand in for years. Split like the others:
  ``spatial`` by place, ``thesis`` by the date of the sample's middle frame.
* Normalisation statistics come from the training samples only, per protocol.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes, io
from rocksoil_nb.prepare.cube import (
    THERMAL_BANDS,
    attrs_of,
    band_index,
    band_names,
    flags_known,
    held_variant,
    open_cube,
    pass_flags,
    resolve_bands,
    scene_offsets,
    temperature_band,
    year_ids,
)
from rocksoil_nb.prepare.manifest import DatasetManifest, KindInfo, NormStats, ProtocolInfo, SpatialInfo
from rocksoil_nb.prepare.splits import PROTOCOLS, SPLITS, assign_split, file_split, make_spatial_split, thesis_split

VARIANTS: dict[str, dict] = {
    "thermal_only": {"bands": THERMAL_BANDS, "when": None, "thesis_configuration": "final"},
    "thermal_sar": {"bands": THERMAL_BANDS + ("VV", "VH"), "when": "has_sar"},
    "sar_thermal_only": {"bands": THERMAL_BANDS, "when": "has_sar"},
    "day": {"bands": THERMAL_BANDS, "when": "is_day"},
    "night": {"bands": THERMAL_BANDS, "when": "~is_day"},
    "winter": {"bands": THERMAL_BANDS, "when": "~is_summer"},
    "summer": {"bands": THERMAL_BANDS, "when": "is_summer"},
}
#: the variant taken when nothing else says which (a set whose folder name does not tell, data that gives no other)
DEFAULT_VARIANT = next(iter(VARIANTS))


MIN_YEAR_FRAMES = 4  # a location-year with fewer usable passes gives no ``year`` sample


def year_samples(valid: np.ndarray, labels: np.ndarray, times: np.ndarray, years: np.ndarray, pos: list[tuple[int, int]], size: int,
                 min_valid: float, max_frames: int) -> pd.DataFrame:
    """Whole-year samples: columns t0..t{T-1} (cube time indices in time order, -1 padding), year, row, col.

    ``times`` the variant's time indices (sorted); ``years`` the year of every cube time index (:func:`year_ids`)."""
    labelled = labels != classes.NODATA
    rr = np.array([p[0] for p in pos])
    cc = np.array([p[1] for p in pos])
    lab_ok = _window_fraction(labelled, size)[rr, cc] >= min_valid
    frac = {int(t): _window_fraction(valid[t] & labelled, size)[rr, cc] for t in times}
    rows = []
    for y in np.unique(years[times]):
        ts = np.array([t for t in times if years[t] == y], dtype=int)
        f = np.stack([frac[int(t)] for t in ts])  # (dates, positions)
        for j in np.flatnonzero(lab_ok):
            ok = np.flatnonzero(f[:, j] >= min_valid / 2)
            if len(ok) < MIN_YEAR_FRAMES:
                continue
            if len(ok) > max_frames:
                ok = np.sort(ok[np.argsort(-f[ok, j], kind="stable")[:max_frames]])
            rows.append((int(y), int(rr[j]), int(cc[j]), ts[ok].tolist()))
    t_max = max((len(r[3]) for r in rows), default=0)
    cols = [f"t{i}" for i in range(t_max)]
    data = [{**{c: (fr[i] if i < len(fr) else -1) for i, c in enumerate(cols)}, "year": y, "row": r, "col": c_}
            for y, r, c_, fr in rows]
    return pd.DataFrame(data, columns=cols + ["year", "row", "col"])


def positions(shape: tuple[int, int], size: int, overlap: float) -> list[tuple[int, int]]:
    """Upper-left corners of windows covering ``shape`` (the last window flush with each edge)."""
    rows, cols = shape
    if size > rows or size > cols:
        raise ValueError(f"patch size {size} is larger than the area ({rows} x {cols} pixels)")
    step = max(1, int(round(size * (1 - overlap))))

    def axis(n):
        s = list(range(0, n - size + 1, step))
        if s[-1] != n - size:
            s.append(n - size)
        return s

    return [(r, c) for r in axis(rows) for c in axis(cols)]


def available_variants(cfg: AreaConfig, wanted=None) -> list[str]:
    """The variants (of ``wanted``, default all) this area's data gives: all of them for acquired data; for a
    thesis import, only the published sets that were imported (without dates, no variant can be cut from another)."""
    wanted = list(wanted or VARIANTS)
    if not held_variant(cfg.layout.cube):  # any variant can be cut from the area's cube
        return wanted
    return [v for v in wanted if held_variant(cfg.layout.cube_for(v)) == v]


def primary_variant(cfg: AreaConfig, variant: str | None = None) -> str:
    """The one rule for "the variant a step shows" when none is given (``variant`` empty): for a thesis import, the
    imported set's (the first set, the one in ``interim/cube.zarr``); else the first of the profile's variants that
    the data gives. A given ``variant`` is returned as it is."""
    if variant:
        return variant
    own = held_variant(cfg.layout.cube)
    if own:  # a cube holding one variant (a thesis import)
        return own
    have = available_variants(cfg, cfg.profile.variants)
    return have[0] if have else DEFAULT_VARIANT


def area_variants(cfg: AreaConfig) -> list[str]:
    """The variants the area's steps work on: the profile's variants that its data gives, or, where the data gives
    none of them (a thesis import of the ``day`` set under a profile listing ``thermal_only``), the area's
    :func:`primary_variant`."""
    return available_variants(cfg, cfg.profile.variants) or [primary_variant(cfg)]


def variant_times(coords: pd.DataFrame, variant: str, known: set[str] | None = None) -> np.ndarray:
    """Indices (into the cube's time axis) of the passes a variant uses. ``known``: the flags that are facts of
    the cube (a thesis import without dates knows neither day/night nor season); a variant selecting on
    another flag is refused."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {list(VARIANTS)}")
    when = VARIANTS[variant]["when"]
    if when is not None and known is not None and when.lstrip("~") not in known:
        raise ValueError(f"variant {variant!r} selects passes by {when.lstrip('~')}, which this cube does not know (its dates "
                         "were not published); import the thesis's own data_thermal_{variant} folder for it")
    if when is None:
        sel = np.ones(len(coords), dtype=bool)
    elif when.startswith("~"):
        sel = ~coords[when[1:]].to_numpy(bool)
    else:
        sel = coords[when].to_numpy(bool)
    return np.flatnonzero(sel)


def _window_fraction(mask: np.ndarray, size: int) -> np.ndarray:
    """Share of True pixels in every size × size window (array indexed by upper-left corner)."""
    c = np.pad(np.cumsum(np.cumsum(mask.astype(np.int64), 0), 1), ((1, 0), (1, 0)))
    s = c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]
    return s / float(size * size)


def samples(valid: np.ndarray, labels: np.ndarray, times: np.ndarray, pos: list[tuple[int, int]], size: int,
            min_valid: float, seq_len: int = 0, seq_stride: int = 3) -> pd.DataFrame:
    """Samples passing the minimum-valid rule: columns t (CNN) or t0..t{T-1} (sequence, time order), row, col.

    ``valid`` is (time, y, x) bool over the whole cube; ``times`` the variant's time indices (sorted).
    """
    labelled = labels != classes.NODATA
    rr = np.array([p[0] for p in pos])
    cc = np.array([p[1] for p in pos])
    frac = {int(t): _window_fraction(valid[t] & labelled, size)[rr, cc] for t in times}
    rows = []
    if seq_len <= 0:
        for t in times:
            ok = frac[int(t)] >= min_valid
            rows += [{"t": int(t), "row": int(r), "col": int(c)} for r, c in zip(rr[ok], cc[ok])]
        return pd.DataFrame(rows, columns=["t", "row", "col"])
    ts = np.sort(times)
    for start in range(0, len(ts) - seq_len + 1, seq_stride):
        win = ts[start : start + seq_len]
        ok = frac[int(win[-1])] >= min_valid
        for t in win[:-1]:
            ok &= frac[int(t)] >= min_valid / 2
        for r, c in zip(rr[ok], cc[ok]):
            rows.append({**{f"t{i}": int(t) for i, t in enumerate(win)}, "row": int(r), "col": int(c)})
    return pd.DataFrame(rows, columns=[f"t{i}" for i in range(seq_len)] + ["row", "col"])


# --------------------------------------------------------------------------- normalisation and histograms


def norm_stats(data, valid: np.ndarray, windows: pd.DataFrame, size: int, band_index: list[int], tcols: list[str],
               offsets: np.ndarray | None = None) -> NormStats:
    """Mean and standard deviation per band over the valid pixels of the given (training) windows; ``offsets``
    (time, bands), when given, are subtracted from each date first (the scene medians of an anomaly input)."""
    n = len(band_index)
    s1, s2, cnt = np.zeros(n), np.zeros(n), np.zeros(n)
    cover: dict[int, np.ndarray] = {}
    for _, w in windows.iterrows():
        for tc in tcols:
            t = int(w[tc])
            if t < 0:  # padding of a year sample
                continue
            m = cover.setdefault(t, np.zeros(valid.shape[1:], dtype=bool))
            m[w["row"] : w["row"] + size, w["col"] : w["col"] + size] = True
    for t, m in cover.items():
        sel = m & valid[t]
        if not sel.any():
            continue
        block = np.asarray(data[t][band_index])  # (bands, y, x)
        vals = block[:, sel].astype(np.float64) - (0.0 if offsets is None else offsets[t][:, None])
        fin = np.isfinite(vals)
        s1 += np.where(fin, vals, 0).sum(1)
        s2 += np.where(fin, vals**2, 0).sum(1)
        cnt += fin.sum(1)
    mean = s1 / np.maximum(cnt, 1)
    std = np.sqrt(np.maximum(s2 / np.maximum(cnt, 1) - mean**2, 1e-12))
    return NormStats(mean.tolist(), std.tolist(), cnt.astype(int).tolist())


def class_histogram(labels: np.ndarray, windows: pd.DataFrame, size: int) -> np.ndarray:
    """Labelled pixels per class (14) over the windows (a pixel counts once per window)."""
    h = np.zeros(classes.N_CLASSES, dtype=np.int64)
    for r, c in zip(windows["row"], windows["col"]):
        h += np.bincount(labels[r : r + size, c : c + size].ravel(), minlength=classes.N_CLASSES)
    return h


# --------------------------------------------------------------------------- building a dataset


def build_variant(cube_path: Path, labels: np.ndarray, variant: str, out_dir: Path, hp, pp, labels_path: Path | None = None
                  ) -> DatasetManifest:
    """Make one variant's dataset: samples (CNN and sequences), both split protocols, norm stats,
    histograms, written to ``out_dir`` (samples_<kind>.csv, spatial_split.npy, manifest.json)."""
    ds = open_cube(cube_path)
    times = variant_times(pass_flags(ds), variant, flags_known(ds))
    bands = resolve_bands(band_names(ds), VARIANTS[variant]["bands"])
    bidx = band_index(band_names(ds), bands, cube_path)
    size = hp.patch_size
    pos = positions(labels.shape, size, hp.patch_overlap)
    valid = ds["valid"].values.astype(bool)
    cnn = samples(valid, labels, times, pos, size, pp.min_valid_fraction)
    seq = samples(valid, labels, times, pos, size, pp.min_valid_fraction, hp.sequence_length, hp.sequence_stride)
    split = make_spatial_split(labels, size, pos, pp.spatial_block_patches, pp.buffer_patches, pp.test_fraction,
                               pp.val_fraction, pp.split_seed)
    kinds = [("cnn", cnn), ("seq", seq)]
    kinds.append(("year", year_samples(valid, labels, times, year_ids(ds), pos, size, pp.min_valid_fraction,
                                       getattr(hp, "year_frames", 36))))
    manifest = DatasetManifest(
        variant=variant, bands=bands, patch_size=size, overlap=hp.patch_overlap, min_valid_fraction=pp.min_valid_fraction,
        sequence_length=hp.sequence_length, sequence_stride=hp.sequence_stride, cube=str(cube_path), labels=str(labels_path or ""),
        cube_inputs_hash=attrs_of(ds).inputs_hash, dates_utc=[_date_text(ds, t) for t in times],
        positions=len(pos), spatial=SpatialInfo(split.block_px, split.buffer_px, split.classes_missing_in_train))
    data = ds["data"].values  # (time, band, y, x); small enough per area to hold while building
    codes = ds["file_split"].values if "file_split" in ds else None
    protocols = PROTOCOLS + (("thesis_files",) if codes is not None else ())
    temp = temperature_band(ds)
    anomaly = scene_offsets(data, valid, bidx, bands.index(temp)) if temp in bands else None  # (time, bands) K
    for kind, df in kinds:
        tcols = (["t"] if kind == "cnn" else [f"t{i}" for i in range(hp.sequence_length)] if kind == "seq"
                 else [c for c in df.columns if c.startswith("t") and c[1:].isdigit()])
        if kind == "year":  # the thesis split by the middle frame's date
            t = df[tcols].to_numpy()
            last = np.array([int(np.median(r[r >= 0])) for r in t], dtype=int) if len(df) else np.array([], dtype=int)
        else:
            last = df[tcols[-1]].to_numpy() if len(df) else np.array([], dtype=int)
        df = df.copy()
        df["split_thesis"] = thesis_split(last, pp.test_fraction, pp.val_fraction) if len(df) else []
        df["split_spatial"] = assign_split(df[["row", "col"]].to_numpy(), size, split) if len(df) else []
        if codes is not None:
            df["split_thesis_files"] = file_split(codes, last, df[["row", "col"]].to_numpy(), size)
        year = kind == "year"
        info = KindInfo(len(df), tcols, anomaly=temp if year and anomaly is not None else None)
        for proto in protocols:
            col = f"split_{proto}"
            counts = {s: int((df[col] == s).sum()) for s in SPLITS}
            train = df[df[col] == "train"]
            stats = norm_stats(data, valid, train, size, bidx, tcols, anomaly if year else None) if len(train) else None
            hist = {s: class_histogram(labels, df[df[col] == s], size).tolist() for s in SPLITS}
            info.protocols[proto] = ProtocolInfo(counts, stats, hist)
        manifest.kinds[kind] = info
        io.write_csv(out_dir / f"samples_{kind}.csv", df)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "spatial_split.npy", split.region)
    manifest.write(out_dir)
    return manifest


def _date_text(ds, t: int) -> str:
    """A pass's UTC time, or ``date_idx N`` when the cube's dates are unknown (a thesis import)."""
    v = ds["time"].values[t]
    return str(pd.Timestamp(v)) if not pd.isna(v) else f"date_idx {int(ds['date_idx'].values[t])}"


def describe_sample(dataset_dir: str | Path, i: int = 0, kind: str = "cnn") -> dict:
    """Where one sample of a dataset lies: its date(s) (UTC), pixel window, position in metres from the grid's
    corner, and its split under each protocol."""
    m = DatasetManifest.read(dataset_dir)
    df = pd.read_csv(Path(dataset_dir) / f"samples_{kind}.csv")
    if not 0 <= i < len(df):
        raise IndexError(f"{dataset_dir}: sample {i} of {len(df)} {kind} samples")
    r = df.iloc[i]
    cols = m.kinds[kind].columns
    ds = open_cube(m.cube)
    times = [_date_text(ds, int(r[c])) + (" UTC" if not pd.isna(ds["time"].values[int(r[c])]) else "") for c in cols]
    p = m.patch_size
    res = float(attrs_of(ds).res_m)
    return {"dates": times, "rows": f"{r['row']}-{r['row'] + p - 1}", "cols": f"{r['col']}-{r['col'] + p - 1}",
            "offset from the grid's north-west corner": f"{r['col'] * res:.0f} m east, {r['row'] * res:.0f} m south",
            "thesis split": r["split_thesis"], "spatial split": r["split_spatial"] if isinstance(r["split_spatial"], str) else "(buffer)"}
