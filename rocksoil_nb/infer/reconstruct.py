"""Full-scene maps from a trained model (08_evaluate, ``rocksoil predict``).

For each date, the whole area is cut into overlapping windows (the dataset's patch size and overlap,
the last window flush with each edge), each window (or sequence of the T kept dates ending at that
date) is predicted, and the class probabilities of overlapping windows are averaged per pixel (a
running sum and count: the thesis's cumulative average). Pixels not valid at the date get no class
(255) and no confidence (NaN). The multi-date consensus is the mean probability over the dates where
each pixel was valid. A seam score tells how much class changes concentrate on window borders.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rocksoil_nb.core import classes, io
from rocksoil_nb.infer import maps
from rocksoil_nb.learn import metrics, registry
from rocksoil_nb.learn.decision import among_choices, decide, probabilities
from rocksoil_nb.learn.inputs import date_planes, normalise, pass_dates
from rocksoil_nb.learn.runs import RunSpec
from rocksoil_nb.prepare import patches
from rocksoil_nb.prepare.cube import band_index, band_names, grid_of, open_cube, pass_flags, scene_median, year_ids

N = classes.N_CLASSES


class StitchAccumulator:
    """Running per-pixel sum and count of window probabilities (memory: y · x · K float32)."""

    def __init__(self, shape: tuple[int, int], k: int = N):
        self.sum = np.zeros((*shape, k), dtype=np.float32)
        self.count = np.zeros(shape, dtype=np.int32)

    def add(self, probs: np.ndarray, pos, mode: str = "mean") -> None:
        p = probs.shape[1]
        for a, (r, c) in zip(probs, pos):
            if mode == "last":
                self.sum[r : r + p, c : c + p] = a
                self.count[r : r + p, c : c + p] = 1
            else:
                self.sum[r : r + p, c : c + p] += a
                self.count[r : r + p, c : c + p] += 1

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean probabilities, count); the mean is computed in place (the accumulator is spent)."""
        self.sum /= np.maximum(self.count, 1)[..., None]
        return self.sum, self.count


def seam_score(codes: np.ndarray, pos: list[tuple[int, int]], size: int, nodata: int = maps.NOT_MAPPED) -> dict:
    """Class disagreement between neighbouring pixels across window borders, against elsewhere.

    Counts horizontal and vertical neighbour pairs (both mapped). ``ratio`` = border disagreement rate ÷
    the rate of all other pairs: about 1 means no seams; well above 1 means patch borders show in the map.
    """
    h, w = codes.shape
    rows = sorted({r for r, _ in pos} | {r + size for r, _ in pos} - {0, h})
    cols = sorted({c for _, c in pos} | {c + size for _, c in pos} - {0, w})
    ok = codes != nodata
    diff_v = (codes[1:] != codes[:-1]) & ok[1:] & ok[:-1]  # pair (i-1, i) at index i-1
    both_v = ok[1:] & ok[:-1]
    diff_h = (codes[:, 1:] != codes[:, :-1]) & ok[:, 1:] & ok[:, :-1]
    both_h = ok[:, 1:] & ok[:, :-1]
    seam_v = np.zeros(h - 1, bool)
    seam_v[[r - 1 for r in rows if 0 < r < h]] = True
    seam_h = np.zeros(w - 1, bool)
    seam_h[[c - 1 for c in cols if 0 < c < w]] = True
    s_diff = diff_v[seam_v].sum() + diff_h[:, seam_h].sum()
    s_n = both_v[seam_v].sum() + both_h[:, seam_h].sum()
    o_diff = diff_v[~seam_v].sum() + diff_h[:, ~seam_h].sum()
    o_n = both_v[~seam_v].sum() + both_h[:, ~seam_h].sum()
    s_rate = float(s_diff / s_n) if s_n else float("nan")
    o_rate = float(o_diff / o_n) if o_n else float("nan")
    return {"border_disagreement": s_rate, "other_disagreement": o_rate,
            "ratio": s_rate / o_rate if o_rate and np.isfinite(o_rate) and o_rate > 0 else float("nan")}


def sequence_frames(variant_times: np.ndarray, t: int, length: int) -> list[int] | None:
    """The ``length`` consecutive dates of the variant ending at ``t`` (cube time indices), or None if too few."""
    ts = np.sort(np.asarray(variant_times))
    i = int(np.searchsorted(ts, t))
    if i >= len(ts) or ts[i] != t or i + 1 < length:
        return None
    return [int(v) for v in ts[i + 1 - length : i + 1]]


def year_frames(reader, variant_times: np.ndarray, t: int, length: int) -> list[int] | None:
    """The passes of the variant in the year (:func:`~rocksoil_nb.prepare.cube.year_ids`) of date ``t`` (the
    ``length`` most valid, in time order), as a year model takes them, or None if fewer than
    :data:`~rocksoil_nb.prepare.patches.MIN_YEAR_FRAMES`."""
    ts = np.asarray(variant_times, int)
    same = ts[reader.years[ts] == reader.years[t]]
    if len(same) < patches.MIN_YEAR_FRAMES:
        return None
    if len(same) > length:
        share = np.array([reader.valid_share(int(v)) for v in same])
        same = np.sort(same[np.argsort(-share, kind="stable")[:length]])
    return [int(v) for v in same]


@dataclass
class DateMap:
    """One date's reconstruction: probabilities (y, x, K), validity of the (last) frame, windows per pixel."""

    time_index: int
    time_utc: pd.Timestamp
    probs: np.ndarray
    valid: np.ndarray
    count: np.ndarray
    include_nodata: bool = False

    @property
    def codes(self) -> np.ndarray:
        return np.where(self.valid, decide(self.probs, self.include_nodata)[0], maps.NOT_MAPPED).astype(np.uint8)

    @property
    def confidence(self) -> np.ndarray:
        return np.where(self.valid, decide(self.probs, self.include_nodata)[1], np.nan).astype(np.float32)


class CubeReader:
    """Normalised full frames of a cube for one model's bands (read once per date, cached for sequences)."""

    def __init__(self, cube_path: str | Path, spec: RunSpec, cache: int = 8):
        import zarr

        self.ds = open_cube(cube_path)
        self.grid = grid_of(self.ds)
        self.times = pd.DatetimeIndex(self.ds["time"].values)  # UTC
        self.years = year_ids(self.ds)  # the year (or block of dates) a whole-year model groups each date in
        self.flags = pass_flags(self.ds)
        grp = zarr.open_group(str(cube_path), mode="r")
        self.data, self.valid = grp["data"], grp["valid"]
        self.bidx = band_index(band_names(self.ds), spec.bands, cube_path)
        self.mean = np.asarray(spec.mean, np.float32)[:, None, None]
        self.std = np.asarray(spec.std, np.float32)[:, None, None]
        self.vc = bool(spec.validity_channel)
        self.anomaly = spec.bands.index(spec.anomaly) if spec.anomaly else None
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._size = max(cache, spec.frames)
        self.doy, self.is_day = pass_dates(cube_path) if spec.is_year else (None, None)
        self._share: dict[int, float] = {}

    def valid_share(self, t: int) -> float:
        """Share of the grid's pixels valid on cube date ``t``."""
        if t not in self._share:
            self._share[t] = float(np.asarray(self.valid[t]).mean())
        return self._share[t]

    def frame(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(normalised input (y, x, C), valid (y, x)) of cube date ``t``."""
        if t not in self._cache:
            x = np.asarray(self.data[t])[self.bidx].astype(np.float32)
            v = np.asarray(self.valid[t]).astype(bool)
            if self.anomaly is not None:  # a scene anomaly, as the model was trained on (K)
                x[self.anomaly] -= scene_median(x[self.anomaly], v)
            self._cache[t] = normalise(x, v, self.mean, self.std, self.vc)
            while len(self._cache) > self._size:
                self._cache.pop(next(iter(self._cache)))
        return self._cache[t]


def predict_date(model, reader: CubeReader, frames: list[int], pos: list[tuple[int, int]], size: int, seq: bool, batch: int = 64,
                 mode: str = "mean", include_nodata: bool = False, year_length: int = 0) -> DateMap:
    """Reconstruct one date (the last of ``frames``) from windows at ``pos``; ``seq``: the model takes (T, P, P, C).
    ``year_length`` > 0: a year model, whose ``frames`` are padded to that many dates and given the date planes; its
    map is valid wherever any of the year's frames is."""

    xs = [reader.frame(t) for t in frames]
    acc = StitchAccumulator(reader.grid.shape)
    if year_length:
        pad = year_length - len(frames)
        fr = np.array(frames + [frames[-1]] * pad)
        present = np.arange(year_length) < len(frames)
        planes = date_planes(reader.doy[fr], reader.is_day[fr], present, size)  # (T, P, P, 4)
        blank = np.zeros_like(xs[0][0][:size, :size])
    for b0 in range(0, len(pos), batch):
        part = pos[b0 : b0 + batch]
        if year_length:
            win = np.stack([np.concatenate([np.stack([x[r : r + size, c : c + size] for x, _ in xs] + [blank] * pad), planes], axis=-1)
                            for r, c in part])
        elif seq:
            win = np.stack([np.stack([x[r : r + size, c : c + size] for x, _ in xs]) for r, c in part])
        else:
            x = xs[-1][0]
            win = np.stack([x[r : r + size, c : c + size] for r, c in part])
        acc.add(among_choices(probabilities(model, win, batch), include_nodata), part, mode)
    probs, count = acc.result()
    t = frames[-1]
    valid = np.any([v for _, v in xs], axis=0) if year_length else xs[-1][1]
    return DateMap(t, reader.times[t], probs, valid, count, include_nodata)


@dataclass
class Reconstruction:
    """What :func:`reconstruct` wrote and measured."""

    out_dir: Path
    dates: pd.DataFrame  # one row per mapped date: time, valid share, mean confidence, seam ratio, files
    consensus_codes: np.ndarray
    consensus_confidence: np.ndarray
    grid: object
    files: list[Path] = field(default_factory=list)


def _present(probs: np.ndarray, spec: RunSpec) -> list[int]:
    """The classes a probability map has a band for: those the model gives any probability (class 0 only when it takes
    part in training)."""
    first = 0 if spec.include_nodata else 1
    top = np.nanmax(probs.reshape(-1, probs.shape[-1]), axis=0) if probs.size else np.zeros(probs.shape[-1])
    return [k for k in range(first, probs.shape[-1]) if top[k] > 0] or list(range(first, probs.shape[-1]))


def date_stamp(time_utc, index: int) -> str:
    """A map file's date part: the UTC time ``YYYYmmddTHHMMSS``, or ``date<index>`` where the cube has no dates."""
    return f"date{index:03d}" if pd.isna(time_utc) else pd.Timestamp(time_utc).strftime("%Y%m%dT%H%M%S")


def variant_dates(flags: pd.DataFrame, variant: str, which: str = "all", test_dates: list | None = None) -> np.ndarray:
    """Cube time indices to map: every date of the variant (``all``) or only the thesis protocol's test dates (``test``)."""
    all_vt = patches.variant_times(flags, variant)
    if which == "all":
        return all_vt
    if which == "test":
        if not test_dates:
            raise ValueError("which='test' needs the thesis protocol's test dates (cube time indices)")
        wanted = {int(t) for t in test_dates}
        return np.array([t for t in all_vt if int(t) in wanted], dtype=int)
    raise ValueError(f"dates to map must be 'all' or 'test', not {which!r}")


def dates_to_map(reader: CubeReader, spec: RunSpec, which: str = "all", test_dates: list | None = None) -> list[list[int]]:
    """Frame lists of the dates to map (:func:`variant_dates`); sequence models need T earlier dates, so the first T-1
    are skipped; a year model gets one map per year."""
    all_vt = patches.variant_times(reader.flags, spec.variant)
    vt = variant_dates(reader.flags, spec.variant, which, test_dates)
    out = []
    if spec.is_year:  # one map per year (or block of dates where dates are unknown; its last frame names it)
        seen = set()
        for t in vt:
            y = reader.years[int(t)]
            if y not in seen and (fr := year_frames(reader, all_vt, int(t), spec.frames)) is not None:
                seen.add(y)
                out.append(fr)
        return out
    for t in vt:
        fr = sequence_frames(all_vt, int(t), spec.frames) if spec.is_sequence else [int(t)]
        if fr is not None:
            out.append(fr)
    return out


def reconstruct(model, cube_path: str | Path, spec: RunSpec, out_dir: str | Path, which: str = "all", test_dates: list | None = None,
                batch: int = 64, write_dates: bool = True, progress: bool = True, tags: dict | None = None,
                calibrator=None, uncertainty_per_date: bool = False) -> Reconstruction:
    """Map every chosen date and the consensus; write COGs (+ .qml) to ``out_dir``; return a summary.

    How depends on the model's registry entry (``maps``): ``windows`` models map each date from overlapping windows
    (:func:`reconstruct_windows`); a ``series`` model maps each pixel once from its whole series of the chosen dates
    (:func:`reconstruct_series`: its one map is the consensus). Beside the consensus classes and confidence: its class
    probabilities (one band per class the model gives any probability), entropy and margin
    (:func:`rocksoil_nb.infer.maps.write_uncertainty_maps`). A fitted ``calibrator`` (:mod:`rocksoil_nb.learn.calibration`,
    stored with the run) is applied to the probabilities before the class, confidence and consensus are taken.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tags = {"model": spec.model, "variant": spec.variant, "protocol": spec.protocol, "area": spec.area, **(tags or {})}
    if registry.maps_of(spec.model) == "series":
        return reconstruct_series(model, cube_path, spec, out, which, test_dates, progress, tags, calibrator)
    return reconstruct_windows(model, cube_path, spec, out, which, test_dates, batch, write_dates, progress, tags, calibrator,
                               uncertainty_per_date)


def reconstruct_windows(model, cube_path: str | Path, spec: RunSpec, out: Path, which: str, test_dates: list | None, batch: int,
                        write_dates: bool, progress: bool, tags: dict, calibrator, uncertainty_per_date: bool) -> Reconstruction:
    """Every chosen date from overlapping windows (per-date maps, uncertainty per date too with ``uncertainty_per_date``),
    and the consensus: the mean probability over the dates where each pixel was valid.

    Memory: two (y, x, 14) float32 accumulators and one batch of windows, whatever the number of dates.
    """
    reader = CubeReader(cube_path, spec)
    size = int(spec.patch_size)
    pos = patches.positions(reader.grid.shape, size, float(spec.overlap))
    todo = dates_to_map(reader, spec, which, test_dates)
    if not todo:
        raise ValueError(f"{cube_path}: no date to map for variant {spec.variant!r}"
                         + (f" (a sequence model needs {spec.frames} dates of the variant)" if spec.is_sequence else ""))
    cons = StitchAccumulator(reader.grid.shape)
    rows, files = [], []
    for fr in tqdm(todo, desc="maps", unit="date", disable=not progress):
        dm = predict_date(model, reader, fr, pos, size, spec.is_sequence, batch, include_nodata=bool(spec.include_nodata),
                          year_length=spec.frames if spec.is_year else 0)
        if calibrator is not None:
            dm = dataclasses.replace(dm, probs=np.where(dm.valid[..., None], calibrator.apply(dm.probs), dm.probs))
        np.add(cons.sum, dm.probs, out=cons.sum, where=dm.valid[..., None])
        cons.count += dm.valid
        codes, conf = dm.codes, dm.confidence
        stamp = date_stamp(dm.time_utc, dm.time_index)
        rec = {"time_utc": dm.time_utc, "time_index": dm.time_index, "valid_share": float(dm.valid.mean()),
               "mean_confidence": float(np.nanmean(conf)) if dm.valid.any() else np.nan, **seam_score(codes, pos, size)}
        if write_dates:
            t_tags = {**tags, "time_utc": dm.time_utc.isoformat() + "Z" if not pd.isna(dm.time_utc) else "unknown",
                      "cube_time_index": str(dm.time_index), "frames_utc": ",".join(str(reader.times[t]) for t in fr)}
            files += [maps.write_class_map(out / f"{stamp}_classes.tif", codes, reader.grid, t_tags),
                      maps.write_confidence_map(out / f"{stamp}_confidence.tif", conf, reader.grid, t_tags)]
            rec["classes_file"], rec["confidence_file"] = files[-2].name, files[-1].name
            if uncertainty_per_date:
                files += list(maps.write_uncertainty_maps(out / stamp, np.where(dm.valid[..., None], dm.probs, np.nan), reader.grid,
                                                          _present(dm.probs, spec), t_tags).values())
        rows.append(rec)
        del dm, codes, conf  # free this date's accumulator before the next date allocates its own
    probs, n = cons.result()
    return _consensus(out, probs, n > 0, reader.grid, spec, pd.DataFrame(rows), files,
                      {**tags, "consensus_of_dates": len(todo)}, calibrator)


def reconstruct_series(model, cube_path: str | Path, spec: RunSpec, out: Path, which: str, test_dates: list | None, progress: bool,
                       tags: dict, calibrator) -> Reconstruction:
    """One map from each pixel's whole series over the chosen dates (a per-pixel whole-series model, e.g.
    ``pixel_series``): written as the consensus (there is no map per date, and no window). ``dates.csv`` has one row:
    the last date, the number of dates, valid share and mean confidence (seam scores NaN: no windows)."""
    ds = open_cube(cube_path)
    times = variant_dates(pass_flags(ds), spec.variant, which, test_dates)
    if not len(times):
        raise ValueError(f"{cube_path}: no date to map for variant {spec.variant!r}")
    probs, mapped = model.scene_probabilities(cube_path, times, spec.bands, progress=progress)
    if calibrator is not None:
        probs = np.where(mapped[..., None], calibrator.apply(probs), probs)
    conf = decide(probs, bool(spec.include_nodata))[1]
    last = int(np.max(times))
    row = {"time_utc": pd.DatetimeIndex(ds["time"].values)[last], "time_index": last, "dates_in_series": len(times),
           "valid_share": float(mapped.mean()), "mean_confidence": float(conf[mapped].mean()) if mapped.any() else np.nan,
           "border_disagreement": np.nan, "other_disagreement": np.nan, "ratio": np.nan}
    return _consensus(out, probs, mapped, grid_of(ds), spec, pd.DataFrame([row]), [],
                      {**tags, "series_of_dates": len(times)}, calibrator)


def _consensus(out: Path, probs: np.ndarray, mapped: np.ndarray, grid, spec: RunSpec, dates: pd.DataFrame, files: list[Path],
               tags: dict, calibrator) -> Reconstruction:
    """Write the consensus (classes, confidence, probabilities, entropy, margin) of (calibrated) ``probs`` and
    ``dates.csv``; the :class:`Reconstruction`."""
    k, conf = decide(probs, bool(spec.include_nodata))
    codes = np.where(mapped, k, maps.NOT_MAPPED).astype(np.uint8)
    conf = np.where(mapped, conf, np.nan).astype(np.float32)
    files = files + [maps.write_class_map(out / "consensus_classes.tif", codes, grid, tags),
                     maps.write_confidence_map(out / "consensus_confidence.tif", conf, grid, tags)]
    files += list(maps.write_uncertainty_maps(out / "consensus", np.where(mapped[..., None], probs, np.nan), grid,
                                              _present(probs, spec), {**tags, "calibrated": str(calibrator is not None)}).values())
    io.write_csv(out / "dates.csv", dates)
    return Reconstruction(out, dates, codes, conf, grid, files)


def map_scores(codes: np.ndarray, labels: np.ndarray, mask: np.ndarray | None = None, include_nodata: bool = False) -> dict:
    """OA, macro-F1, mIoU of a class map against the labels on mapped pixels (those of ``mask`` where given)."""
    m = (codes != maps.NOT_MAPPED) & (np.ones_like(labels, bool) if mask is None else mask)
    cm = metrics.confusion(labels, np.where(codes == maps.NOT_MAPPED, 0, codes), m)
    s = metrics.scores(cm, include_nodata)
    return {"pixels": int(cm.sum() - (0 if include_nodata else cm[0].sum())), "oa": s["oa"], "macro_f1": s["macro_f1"], "miou": s["miou"]}


def windows_at(pos: list[tuple[int, int]], size: int, row: int, col: int) -> list[tuple[int, int]]:
    """Upper-left corners of the windows that cover pixel (``row``, ``col``): their probabilities are averaged there."""
    return [(r, c) for r, c in pos if r <= row < r + size and c <= col < c + size]
