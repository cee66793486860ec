"""Read a 05_patches dataset back as batches, streaming from the cube (no need to hold the set in memory).

:class:`PatchData` is a ``keras.utils.PyDataset`` (works under any Keras backend, JAX included);
:func:`to_tf_dataset` wraps one as a ``tf.data.Dataset`` under TensorFlow. Inputs are normalised with
the protocol's training statistics, NaN → 0 afterwards; an optional validity channel says where. Year samples read
the temperature as a scene anomaly (minus the date's median over the whole grid, K; the manifest's ``anomaly``).
Sample weights are 1 on pixels that are labelled (class 0 excluded unless ``include_nodata``) and valid
in the (last) frame, 0 elsewhere.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb.learn.inputs import DATE_CHANNELS, date_planes, normalise, pass_dates
from rocksoil_nb.prepare.cube import band_index, band_names, scene_median
from rocksoil_nb.prepare.manifest import KINDS, DatasetManifest
from rocksoil_nb.prepare.splits import ALL_PROTOCOLS, SPLITS


def _keras_base():
    import keras

    return keras.utils.PyDataset


#: dates of the last cube read, shared by the datasets of a process (train, val, test, probe, tuning runs):
#: {(cube path, cube inputs hash, band indices): {time index: (bands × y × x float32, y × x bool)}}
_FRAMES: dict[tuple, dict[int, tuple[np.ndarray, np.ndarray]]] = {}


class _Source:
    """Windows of the cube for one dataset. The dates it needs are held in memory when they fit
    ``cache_bytes`` (shared with the other datasets of the same cube in this process), else read per window."""

    def __init__(self, manifest: DatasetManifest, times: np.ndarray, cache_bytes: float):
        import zarr

        grp = zarr.open_group(manifest.cube, mode="r")
        self.data, self.valid = grp["data"], grp["valid"]
        self.bidx = band_index(band_names(grp), manifest.bands, manifest.cube)
        self.frames = None
        self._medians: dict[tuple[int, int], float] = {}
        ts = [int(t) for t in np.unique(times)]
        need = len(ts) * (len(self.bidx) * 4 + 1) * self.data.shape[2] * self.data.shape[3]
        if need <= cache_bytes:
            key = (str(manifest.cube), manifest.cube_inputs_hash, tuple(self.bidx))
            if key not in _FRAMES:
                _FRAMES.clear()  # one cube at a time: memory stays bounded by cache_bytes
                _FRAMES[key] = {}
            self.frames = _FRAMES[key]
            for t in ts:
                if t not in self.frames:
                    self.frames[t] = (np.asarray(self.data[t])[self.bidx].astype(np.float32), np.asarray(self.valid[t]).astype(bool))

    def scene_median(self, t: int, pos: int) -> float:
        """Scene median of selected band ``pos`` on date ``t`` over the whole grid's valid pixels (memoised)."""
        key = (t, pos)
        if key not in self._medians:
            if self.frames is not None and t in self.frames:
                x, v = self.frames[t][0][pos], self.frames[t][1]
            else:
                x, v = np.asarray(self.data[t, self.bidx[pos]]), np.asarray(self.valid[t]).astype(bool)
            self._medians[key] = scene_median(x, v)
        return self._medians[key]

    def window(self, t: int, r: int, c: int, p: int) -> tuple[np.ndarray, np.ndarray]:
        if self.frames is not None:
            x, v = self.frames[t]
            return x[:, r : r + p, c : c + p], v[r : r + p, c : c + p]
        x = np.asarray(self.data[t, :, r : r + p, c : c + p])[self.bidx]
        return x, np.asarray(self.valid[t, r : r + p, c : c + p]).astype(bool)


class PatchData(_keras_base()):
    """Batches (x, y, w) of one split of one protocol: x (B, P, P, C) or (B, T, P, P, C) float32,
    y (B, P, P) int32 class codes, w (B, P, P) float32 sample weights. With ``for_training`` the batches
    are (x, y) with unweighted pixels labelled 255 (ignored by the losses), as ``model.fit`` takes them."""

    def __init__(self, dataset_dir: str | Path, protocol: str = "spatial", split: str = "train", kind: str = "cnn",
                 batch_size: int = 8, shuffle: bool | None = None, seed: int = 0, validity_channel: bool = False,
                 include_nodata: bool = False, cache_bytes: float = 2e9, max_samples: int = 0, for_training: bool = False, **kwargs):
        super().__init__(**kwargs)
        if protocol not in ALL_PROTOCOLS or split not in SPLITS or kind not in KINDS:
            raise ValueError(f"protocol must be {ALL_PROTOCOLS}, split {SPLITS}, kind {KINDS}; got {protocol}, {split}, {kind}")
        self.dir = Path(dataset_dir)
        self.manifest = DatasetManifest.read(self.dir)
        info = self.manifest.kinds[kind]
        df = pd.read_csv(self.dir / f"samples_{kind}.csv")
        df = df[df[f"split_{protocol}"] == split].reset_index(drop=True)
        if max_samples and len(df) > max_samples:
            df = df.sample(max_samples, random_state=seed).sort_index().reset_index(drop=True)
        self.samples, self.tcols = df, info.columns
        norm = info.protocols[protocol].norm
        if norm is None:
            raise ValueError(f"{self.dir}: protocol {protocol!r} has no training samples for {kind}; no normalisation statistics")
        self.mean = np.asarray(norm.mean, dtype=np.float32)[:, None, None]
        self.std = np.asarray(norm.std, dtype=np.float32)[:, None, None]
        self.batch_size, self.kind, self.p = batch_size, kind, self.manifest.patch_size
        self.shuffle = (split == "train") if shuffle is None else shuffle
        self.seed, self.epoch = seed, 0
        self.validity_channel, self.include_nodata, self.for_training = validity_channel, include_nodata, for_training
        import rasterio

        with rasterio.open(self.manifest.labels) as s:
            self.labels = s.read(1)
        times = df[self.tcols].to_numpy().ravel() if len(df) else np.array([], dtype=int)
        times = times[times >= 0]  # year samples are padded with -1
        self.src = _Source(self.manifest, times, cache_bytes)
        self.doy, self.is_day = pass_dates(self.manifest.cube) if kind == "year" else (None, None)
        self.anomaly = self.manifest.bands.index(info.anomaly) if info.anomaly else None  # band read as a scene anomaly
        self.rows, self.cols = df["row"].to_numpy(np.int64), df["col"].to_numpy(np.int64)
        self.times = df[self.tcols].to_numpy(np.int64) if len(df) else np.zeros((0, len(self.tcols)), np.int64)
        self.order = np.arange(len(df))
        self._reshuffle()

    @property
    def n_channels(self) -> int:
        return len(self.manifest.bands) + int(self.validity_channel) + (DATE_CHANNELS if self.kind == "year" else 0)

    def _reshuffle(self):
        if self.shuffle:
            self.order = np.random.default_rng(self.seed + self.epoch).permutation(len(self.samples))

    def __len__(self) -> int:
        return math.ceil(len(self.samples) / self.batch_size)

    def on_epoch_end(self):
        self.epoch += 1
        self._reshuffle()

    def __getitem__(self, i: int):
        idx = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        p, nt = self.p, self.times.shape[1]
        x = np.empty((len(idx), nt, len(self.src.bidx), p, p), np.float32)
        v = np.empty((len(idx), nt, p, p), bool)
        y = np.empty((len(idx), p, p), np.int32)
        for k, j in enumerate(idx):
            r, c = int(self.rows[j]), int(self.cols[j])
            for f, t in enumerate(self.times[j]):
                if t < 0:  # padding of a year sample
                    x[k, f], v[k, f] = 0.0, False
                else:
                    x[k, f], v[k, f] = self.src.window(int(t), r, c, p)
                    if self.anomaly is not None:
                        x[k, f, self.anomaly] -= self.src.scene_median(int(t), self.anomaly)
            y[k] = self.labels[r : r + p, c : c + p]
        z, finite = normalise(x, v, self.mean, self.std, self.validity_channel)
        if self.kind == "cnn":
            z = z[:, 0]
        if self.kind == "year":  # the date planes; the label is the geology's, valid where any date is
            t = self.times[idx]
            present = t >= 0
            z = np.concatenate([z, date_planes(self.doy[np.maximum(t, 0)], self.is_day[np.maximum(t, 0)], present, p)], axis=-1)
            w = finite.any(axis=1) & ((y != 0) | self.include_nodata)
        else:
            w = finite[:, -1] & ((y != 0) | self.include_nodata)
        if self.for_training:  # (x, y) with ignored pixels labelled losses.IGNORE
            return z, np.where(w, y, 255).astype(np.int32)
        return z, y, w.astype(np.float32)


def to_tf_dataset(data: PatchData):
    """A ``tf.data.Dataset`` streaming the batches of ``data`` (TensorFlow only)."""
    import tensorflow as tf

    p, c = data.p, data.n_channels
    xshape = (None, p, p, c) if data.kind == "cnn" else (None, len(data.tcols), p, p, c)  # year: c holds the date planes
    sig = (tf.TensorSpec(xshape, tf.float32), tf.TensorSpec((None, p, p), tf.int32))
    if not data.for_training:
        sig = sig + (tf.TensorSpec((None, p, p), tf.float32),)
    return tf.data.Dataset.from_generator(lambda: (data[i] for i in range(len(data))), output_signature=sig)


def describe_batch(data: PatchData, i: int = 0) -> dict:
    """Shapes and value summary of batch ``i`` (x normalised, y class codes, w sample weights)."""
    x, y, w = data[i]
    return {"batches": len(data), "x": x.shape, "y": y.shape, "x mean": round(float(x.mean()), 3), "x std": round(float(x.std()), 3),
            "classes in y": sorted(int(k) for k in np.unique(y)), "weighted pixel share": round(float(w.mean()), 3)}
