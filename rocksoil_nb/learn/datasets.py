"""Read a 05_patches dataset back as batches, streaming from the cube (no need to hold the set in memory).

:class:`PatchData` is a ``keras.utils.PyDataset`` (works under any Keras backend, JAX included);
:func:`to_tf_dataset` wraps one as a ``tf.data.Dataset`` under TensorFlow. Inputs are normalised with
the protocol's training statistics, NaN → 0 afterwards; an optional validity channel says where.
Sample weights are 1 on pixels that are labelled (class 0 excluded unless ``include_nodata``) and valid
in the (last) frame, 0 elsewhere.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb.prepare.cube import ALL_BANDS
from rocksoil_nb.prepare.manifest import DatasetManifest
from rocksoil_nb.prepare.splits import PROTOCOLS, SPLITS


def normalise(x: np.ndarray, valid: np.ndarray, mean: np.ndarray, std: np.ndarray, validity_channel: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
    """One frame (bands, y, x) in physical units → model input (y, x, C) float32: standardised with the
    training ``mean``/``std`` (bands, 1, 1); pixels not valid or not finite in every band set to 0 (plus a
    0/1 validity channel when asked). Returns (input, finite mask)."""
    finite = np.isfinite(x).all(axis=0) & valid
    z = np.nan_to_num((x - mean) / std, nan=0.0, posinf=0.0, neginf=0.0)
    z = np.where(finite[None], z, 0.0)
    if validity_channel:
        z = np.concatenate([z, finite[None].astype(np.float32)])
    return np.moveaxis(z, 0, -1).astype(np.float32), finite


def _keras_base():
    import keras

    return keras.utils.PyDataset


class _Source:
    """Windows of the cube for one dataset: cached in memory when the needed dates fit ``cache_bytes``."""

    def __init__(self, manifest: DatasetManifest, times: np.ndarray, cache_bytes: float):
        import zarr

        grp = zarr.open_group(manifest.cube, mode="r")
        self.data, self.valid = grp["data"], grp["valid"]
        self.bidx = [ALL_BANDS.index(b) for b in manifest.bands]
        self.cache = None
        need = len(times) * len(self.bidx) * self.data.shape[2] * self.data.shape[3] * 4
        if need <= cache_bytes:
            ts = np.sort(np.unique(times))
            self.lookup = {int(t): i for i, t in enumerate(ts)}
            self.cache = np.stack([np.asarray(self.data[int(t)])[self.bidx] for t in ts])
            self.vcache = np.stack([np.asarray(self.valid[int(t)]) for t in ts]).astype(bool)

    def window(self, t: int, r: int, c: int, p: int) -> tuple[np.ndarray, np.ndarray]:
        if self.cache is not None:
            i = self.lookup[t]
            return self.cache[i, :, r : r + p, c : c + p], self.vcache[i, r : r + p, c : c + p]
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
        if protocol not in PROTOCOLS or split not in SPLITS or kind not in ("cnn", "seq"):
            raise ValueError(f"protocol must be {PROTOCOLS}, split {SPLITS}, kind cnn|seq; got {protocol}, {split}, {kind}")
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
        self.src = _Source(self.manifest, times, cache_bytes)
        self.order = np.arange(len(df))
        self._reshuffle()

    @property
    def n_channels(self) -> int:
        return len(self.manifest.bands) + int(self.validity_channel)

    def _reshuffle(self):
        if self.shuffle:
            self.order = np.random.default_rng(self.seed + self.epoch).permutation(len(self.samples))

    def __len__(self) -> int:
        return math.ceil(len(self.samples) / self.batch_size)

    def on_epoch_end(self):
        self.epoch += 1
        self._reshuffle()

    def _frame(self, t: int, r: int, c: int) -> tuple[np.ndarray, np.ndarray]:
        x, v = self.src.window(t, r, c, self.p)
        return normalise(x, v, self.mean, self.std, self.validity_channel)

    def __getitem__(self, i: int):
        idx = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        xs, ys, ws = [], [], []
        for j in idx:
            row = self.samples.iloc[int(j)]
            r, c = int(row["row"]), int(row["col"])
            frames = [self._frame(int(row[tc]), r, c) for tc in self.tcols]
            x = frames[0][0] if self.kind == "cnn" else np.stack([f[0] for f in frames])
            finite = frames[-1][1]
            y = self.labels[r : r + self.p, c : c + self.p].astype(np.int32)
            w = finite & ((y != 0) | self.include_nodata)
            xs.append(x)
            ys.append(y)
            ws.append(w.astype(np.float32))
        x, y, w = np.stack(xs), np.stack(ys), np.stack(ws)
        if self.for_training:  # (x, y) with ignored pixels labelled losses.IGNORE
            return x, np.where(w > 0, y, 255).astype(np.int32)
        return x, y, w


def to_tf_dataset(data: PatchData):
    """A ``tf.data.Dataset`` streaming the batches of ``data`` (TensorFlow only)."""
    import tensorflow as tf

    p, c = data.p, data.n_channels
    xshape = (None, p, p, c) if data.kind == "cnn" else (None, len(data.tcols), p, p, c)
    sig = (tf.TensorSpec(xshape, tf.float32), tf.TensorSpec((None, p, p), tf.int32))
    if not data.for_training:
        sig = sig + (tf.TensorSpec((None, p, p), tf.float32),)
    return tf.data.Dataset.from_generator(lambda: (data[i] for i in range(len(data))), output_signature=sig)


def describe_batch(data: PatchData, i: int = 0) -> dict:
    """Shapes and value summary of batch ``i`` (x normalised, y class codes, w sample weights)."""
    x, y, w = data[i]
    return {"batches": len(data), "x": x.shape, "y": y.shape, "x mean": round(float(x.mean()), 3), "x std": round(float(x.std()), 3),
            "classes in y": sorted(int(k) for k in np.unique(y)), "weighted pixel share": round(float(w.mean()), 3)}
