"""Patches, sequences and split protocols (05_patches).

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
* Split protocols: ``thesis`` (chronological, no shuffle: the last 15 % of dates are test, the last
  15 % of the rest validation; the same places appear in every split) and ``spatial`` (blocks of the
  area assigned to train / val / test, patches wholly inside one block, a gap of ``buffer_patches``
  patch sizes between training and evaluation patches, every class in training where the area allows).
* Normalisation statistics come from the training samples only, per protocol.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from . import classes, io
from .cube import THERMAL_BANDS

VARIANTS: dict[str, dict] = {
    "thermal_only": {"bands": THERMAL_BANDS, "when": None},
    "thermal_sar": {"bands": THERMAL_BANDS + ("VV", "VH"), "when": "has_sar"},
    "sar_thermal_only": {"bands": THERMAL_BANDS, "when": "has_sar"},
    "day": {"bands": THERMAL_BANDS, "when": "is_day"},
    "night": {"bands": THERMAL_BANDS, "when": "~is_day"},
    "winter": {"bands": THERMAL_BANDS, "when": "~is_summer"},
    "summer": {"bands": THERMAL_BANDS, "when": "is_summer"},
}
PROTOCOLS = ("thesis", "spatial")
SPLITS = ("train", "val", "test")


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


def variant_times(coords: pd.DataFrame, variant: str) -> np.ndarray:
    """Indices (into the cube's time axis) of the passes a variant uses."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {list(VARIANTS)}")
    when = VARIANTS[variant]["when"]
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


# --------------------------------------------------------------------------- split protocols


def thesis_split(sample_times: np.ndarray, test_fraction: float = 0.15, val_fraction: float = 0.15) -> np.ndarray:
    """Chronological split by date (no shuffle): latest dates test, the latest of the rest validation."""
    dates = np.unique(sample_times)
    n_test = max(1, int(np.ceil(test_fraction * len(dates)))) if len(dates) > 2 else 0
    rest = dates[: len(dates) - n_test]
    n_val = max(1, int(np.ceil(val_fraction * len(rest)))) if len(rest) > 1 else 0
    test_d, val_d = set(dates[len(dates) - n_test :]), set(rest[len(rest) - n_val :])
    return np.array(["test" if t in test_d else "val" if t in val_d else "train" for t in sample_times], dtype=object)


@dataclass
class SpatialSplit:
    """Blocks of the area assigned to train (0) / val (1) / test (2), and the gap enforced between them."""

    region: np.ndarray  # (y, x) uint8: 0 train, 1 val, 2 test
    block_px: int
    buffer_px: int
    classes_missing_in_train: list[int]


def _chessboard_distance(mask: np.ndarray) -> np.ndarray:
    """Pixels (chessboard metric) from each pixel to the nearest True pixel of ``mask`` (large if none)."""
    if not mask.any():
        return np.full(mask.shape, 10**6, dtype=np.int64)
    return ndimage.distance_transform_cdt(~mask, metric="chessboard").astype(np.int64)


def assign_split(pos_rc: np.ndarray, size: int, split: SpatialSplit) -> np.ndarray:
    """Split of each window (row, col): the block split it lies wholly in, '' when it straddles blocks or
    lies within the buffer of an evaluation block (train: from val and test; val: from test)."""
    reg = split.region
    d_val, d_test = _chessboard_distance(reg == 1), _chessboard_distance(reg == 2)
    out = []
    for r, c in pos_rc:
        win = reg[r : r + size, c : c + size]
        s = int(win.flat[0])
        if not (win == s).all():
            out.append("")
            continue
        gap_test = d_test[r : r + size, c : c + size].min()
        gap_val = d_val[r : r + size, c : c + size].min()
        if s == 0 and (gap_test < split.buffer_px or gap_val < split.buffer_px):
            out.append("")
        elif s == 1 and gap_test < split.buffer_px:
            out.append("")
        else:
            out.append(SPLITS[s])
    return np.array(out, dtype=object)


def make_spatial_split(labels: np.ndarray, size: int, pos: list[tuple[int, int]], block_patches: int = 2,
                       buffer_patches: float = 1.0, test_fraction: float = 0.15, val_fraction: float = 0.15,
                       seed: int = 7, tries: int = 300) -> SpatialSplit:
    """Choose test and validation blocks (seeded search) so that every class present in the area is
    present in the training patches where possible, with test and val near their target shares."""
    rows, cols = labels.shape
    block = max(size, int(block_patches * size))
    by, bx = int(np.ceil(rows / block)), int(np.ceil(cols / block))
    nb = by * bx
    if nb < 3:
        raise ValueError(f"the area ({rows} x {cols} px) holds fewer than 3 blocks of {block} px: "
                         "use smaller patches or spatial_block_patches for the spatial protocol")
    n_test = max(1, int(round(test_fraction * nb)))
    n_val = max(1, int(round(val_fraction * (nb - n_test))))
    bid = (np.arange(rows)[:, None] // block) * bx + (np.arange(cols)[None, :] // block)
    present = set(np.unique(labels)) - {classes.NODATA}
    rng = np.random.default_rng(seed)
    pos_rc = np.array(pos)
    best, best_score = None, None
    buffer_px = int(round(buffer_patches * size))
    for _ in range(tries):
        perm = rng.permutation(nb)
        code = np.zeros(nb, dtype=np.uint8)
        code[perm[:n_test]] = 2
        code[perm[n_test : n_test + n_val]] = 1
        region = code[bid]
        sp = SpatialSplit(region, block, buffer_px, [])
        a = assign_split(pos_rc, size, sp)
        if not (a == "train").any() or not (a == "test").any() or not (a == "val").any():
            continue
        train_px = np.zeros_like(labels, dtype=bool)
        for (r, c), s in zip(pos_rc, a):
            if s == "train":
                train_px[r : r + size, c : c + size] = True
        have = set(np.unique(labels[train_px])) - {classes.NODATA}
        test_share = (region == 2).mean()
        score = (len(have & present), -abs(test_share - test_fraction), -(a == "").mean())
        if best_score is None or score > best_score:
            best, best_score = SpatialSplit(region, block, buffer_px, sorted(int(k) for k in present - have)), score
    if best is None:
        raise ValueError(f"no block assignment leaves train, val and test patches with a {buffer_px}-px buffer; "
                         "use smaller patches, smaller blocks or a smaller buffer for this area")
    return best


# --------------------------------------------------------------------------- normalisation and histograms


def norm_stats(data, valid: np.ndarray, windows: pd.DataFrame, size: int, band_index: list[int], tcols: list[str]) -> dict:
    """Mean and standard deviation per band over the valid pixels of the given (training) windows."""
    n = len(band_index)
    s1, s2, cnt = np.zeros(n), np.zeros(n), np.zeros(n)
    cover: dict[int, np.ndarray] = {}
    for _, w in windows.iterrows():
        for tc in tcols:
            t = int(w[tc])
            m = cover.setdefault(t, np.zeros(valid.shape[1:], dtype=bool))
            m[w["row"] : w["row"] + size, w["col"] : w["col"] + size] = True
    for t, m in cover.items():
        sel = m & valid[t]
        if not sel.any():
            continue
        block = np.asarray(data[t][band_index])  # (bands, y, x)
        vals = block[:, sel].astype(np.float64)
        fin = np.isfinite(vals)
        s1 += np.where(fin, vals, 0).sum(1)
        s2 += np.where(fin, vals**2, 0).sum(1)
        cnt += fin.sum(1)
    mean = s1 / np.maximum(cnt, 1)
    std = np.sqrt(np.maximum(s2 / np.maximum(cnt, 1) - mean**2, 1e-12))
    return {"mean": mean.tolist(), "std": std.tolist(), "pixels": cnt.astype(int).tolist()}


def class_histogram(labels: np.ndarray, windows: pd.DataFrame, size: int) -> np.ndarray:
    """Labelled pixels per class (14) over the windows (a pixel counts once per window)."""
    h = np.zeros(classes.N_CLASSES, dtype=np.int64)
    for r, c in zip(windows["row"], windows["col"]):
        h += np.bincount(labels[r : r + size, c : c + size].ravel(), minlength=classes.N_CLASSES)
    return h


def reassemble(patches: np.ndarray, pos: list[tuple[int, int]], shape: tuple[int, int]) -> np.ndarray:
    """Place patches (N, P, P) back at their positions (later patches overwrite overlaps)."""
    out = np.zeros(shape, dtype=patches.dtype)
    p = patches.shape[1]
    for a, (r, c) in zip(patches, pos):
        out[r : r + p, c : c + p] = a
    return out


# --------------------------------------------------------------------------- building a dataset


def build_variant(cube_path: Path, labels: np.ndarray, variant: str, out_dir: Path, hp, pp, labels_path: Path | None = None) -> dict:
    """Make one variant's dataset: samples (CNN and sequences), both split protocols, norm stats,
    histograms, written to ``out_dir`` (samples.csv, spatial_split.npy, manifest.json)."""
    from .cube import ALL_BANDS, open_cube, pass_flags

    ds = open_cube(cube_path)
    times = variant_times(pass_flags(ds), variant)
    bands = list(VARIANTS[variant]["bands"])
    bidx = [ALL_BANDS.index(b) for b in bands]
    size = hp.patch_size
    pos = positions(labels.shape, size, hp.patch_overlap)
    valid = ds["valid"].values.astype(bool)
    cnn = samples(valid, labels, times, pos, size, pp.min_valid_fraction)
    seq = samples(valid, labels, times, pos, size, pp.min_valid_fraction, hp.sequence_length, hp.sequence_stride)
    split = make_spatial_split(labels, size, pos, pp.spatial_block_patches, pp.buffer_patches, pp.test_fraction,
                               pp.val_fraction, pp.split_seed)
    manifest = {"variant": variant, "bands": bands, "patch_size": size, "overlap": hp.patch_overlap,
                "min_valid_fraction": pp.min_valid_fraction, "sequence_length": hp.sequence_length,
                "sequence_stride": hp.sequence_stride, "cube": str(cube_path), "labels": str(labels_path or ""),
                "cube_inputs_hash": ds.attrs.get("inputs_hash"),
                "dates_utc": [str(pd.Timestamp(ds["time"].values[t])) for t in times], "positions": len(pos),
                "spatial": {"block_px": split.block_px, "buffer_px": split.buffer_px,
                            "classes_missing_in_train": split.classes_missing_in_train}, "kinds": {}}
    data = ds["data"].values  # (time, band, y, x); small enough per area to hold while building
    for kind, df in (("cnn", cnn), ("seq", seq)):
        tcols = ["t"] if kind == "cnn" else [f"t{i}" for i in range(hp.sequence_length)]
        last = df[tcols[-1]].to_numpy() if len(df) else np.array([], dtype=int)
        df = df.copy()
        df["split_thesis"] = thesis_split(last, pp.test_fraction, pp.val_fraction) if len(df) else []
        df["split_spatial"] = assign_split(df[["row", "col"]].to_numpy(), size, split) if len(df) else []
        info = {"samples": len(df), "columns": tcols}
        for proto in PROTOCOLS:
            col = f"split_{proto}"
            counts = {s: int((df[col] == s).sum()) for s in SPLITS}
            train = df[df[col] == "train"]
            stats = norm_stats(data, valid, train, size, bidx, tcols) if len(train) else None
            hist = {s: class_histogram(labels, df[df[col] == s], size).tolist() for s in SPLITS}
            info[proto] = {"counts": counts, "norm": stats, "class_pixels": hist}
        manifest["kinds"][kind] = info
        io.write_csv(out_dir / f"samples_{kind}.csv", df)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "spatial_split.npy", split.region)
    io.write_json(out_dir / "manifest.json", manifest)
    return manifest


def histogram_table(manifest: dict, kind: str = "cnn") -> pd.DataFrame:
    """Labelled pixels per class and split for both protocols (rows: class; columns: protocol/split)."""
    cols = {}
    for proto in PROTOCOLS:
        for s in SPLITS:
            cols[(proto, s)] = manifest["kinds"][kind][proto]["class_pixels"][s]
    df = pd.DataFrame(cols, index=[f"{k} {classes.NAMES[k]}" for k in range(classes.N_CLASSES)])
    return df[(df.sum(axis=1) > 0)]


def params_of(hp, pp) -> dict:
    return {"hyperparameters": dataclasses.asdict(hp), "patches": dataclasses.asdict(pp)}


def read_manifest(out_dir: Path) -> dict:
    p = Path(out_dir) / "manifest.json"
    if not p.exists():
        raise FileNotFoundError(f"{p}: no dataset; run 05_patches first")
    return json.loads(p.read_text())
