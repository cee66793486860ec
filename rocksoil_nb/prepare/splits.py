"""The split protocols (05_patches).

* ``thesis``: chronological, no shuffle: the last 15 % of dates are test, the last 15 % of the rest
  validation; the same places appear in every split (geology leaks from train to test).
* ``spatial``: blocks of the area assigned to train / val / test, patches wholly inside one block, a gap
  of ``buffer_patches`` patch sizes between training and evaluation patches, every class in training
  where the area allows.
* ``thesis_files`` (thesis imports only): the thesis's own split of its published files by name (70/15/15 in
  lexicographic order, see :mod:`rocksoil_nb.prepare.thesis_import`); a sample takes the split of the file
  that holds its centre pixel on its (last) date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from rocksoil_nb.core import classes

PROTOCOLS = ("thesis", "spatial")  # every dataset has both
ALL_PROTOCOLS = PROTOCOLS + ("thesis_files",)
SPLITS = ("train", "val", "test")


def file_split(codes: np.ndarray, times: np.ndarray, pos_rc: np.ndarray, size: int) -> np.ndarray:
    """The ``thesis_files`` split of windows: ``codes`` (time, y, x) 0 none, 1 train, 2 val, 3 test; each window
    takes the code at its centre on date ``times``; '' where no published file holds it."""
    names = np.array(("",) + SPLITS, dtype=object)
    if len(times) == 0:
        return np.array([], dtype=object)
    h = size // 2
    return names[codes[np.asarray(times, int), pos_rc[:, 0] + h, pos_rc[:, 1] + h]]


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


def sample_units(samples: pd.DataFrame, protocol: str, block_px: int | None = None) -> np.ndarray:
    """The held-out unit of each sample (int64): the spatial block of its window under ``spatial`` (windows of the
    test split lie wholly in one block of ``block_px``), else the date of its label (``t``, or the last frame
    ``t{T-1}`` of a sequence, or the ``year`` of a whole-year sample)."""
    if protocol == "spatial":
        if not block_px:
            raise ValueError("the spatial protocol's units need the block size (block_px)")
        return (samples["row"].to_numpy(np.int64) // block_px) * 1_000_000 + samples["col"].to_numpy(np.int64) // block_px
    if "year" in samples:
        return samples["year"].to_numpy(np.int64)
    tcols = sorted((c for c in samples.columns if c.startswith("t") and c[1:].isdigit()), key=lambda c: int(c[1:]))
    col = "t" if "t" in samples else tcols[-1]
    return samples[col].to_numpy(np.int64)
