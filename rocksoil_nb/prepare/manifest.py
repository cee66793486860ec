"""The record a 05_patches dataset is described by (``manifest.json``), typed.

``DatasetManifest.read(folder)`` gives attributes instead of nested string keys; the JSON on disk keeps
the layout earlier versions wrote, so existing datasets still read, and a file that lacks a field says
which and asks for a rebuild.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from rocksoil_nb.core import io

KINDS = ("cnn", "seq", "year")  # one date; the thesis's T = 5 sequences; a calendar year of passes (tae)


class DatasetOutdated(ValueError):
    """A dataset manifest is missing, unreadable or lacks fields this version needs: rebuild it with 05_patches."""


@dataclass
class NormStats:
    """Per-band mean and standard deviation (physical units: LST K, EmisWB 0-1, VV/VH dB) over the valid
    pixels of the training samples, and how many pixels each was computed from."""

    mean: list[float]
    std: list[float]
    pixels: list[int]


@dataclass
class ProtocolInfo:
    """One protocol's split of one kind of sample: samples per split, training statistics, labelled pixels per class."""

    counts: dict[str, int]
    norm: NormStats | None
    class_pixels: dict[str, list[int]]  # split -> 14 counts

    def to_json(self) -> dict:
        return {"counts": self.counts, "norm": None if self.norm is None else dataclasses.asdict(self.norm),
                "class_pixels": self.class_pixels}

    @classmethod
    def from_json(cls, d: dict) -> ProtocolInfo:
        return cls(dict(d["counts"]), None if d["norm"] is None else NormStats(**d["norm"]), dict(d["class_pixels"]))


@dataclass
class KindInfo:
    """CNN windows (``cnn``, column ``t``), ConvLSTM sequences (``seq``, columns ``t0..t{T-1}``) or whole years
    (``year``). ``anomaly``: the band from which each date's scene median is subtracted before normalising (the
    year models read the temperature as an anomaly, K, free of the weather of the day), None for none."""

    samples: int
    columns: list[str]
    protocols: dict[str, ProtocolInfo] = field(default_factory=dict)
    anomaly: str | None = None


@dataclass
class SpatialInfo:
    """The spatial protocol's blocks: size, buffer (pixels) and the classes no training block holds."""

    block_px: int
    buffer_px: int
    classes_missing_in_train: list[int]


@dataclass
class DatasetManifest:
    """What one variant's dataset holds and how it was made."""

    variant: str
    bands: list[str]
    patch_size: int  # pixels
    overlap: float  # 0-1
    min_valid_fraction: float
    sequence_length: int
    sequence_stride: int
    cube: str
    labels: str
    cube_inputs_hash: str | None
    dates_utc: list[str]
    positions: int
    spatial: SpatialInfo
    kinds: dict[str, KindInfo] = field(default_factory=dict)

    def protocol(self, kind: str, protocol: str) -> ProtocolInfo:
        """The split record of ``kind`` (cnn, seq) under ``protocol`` (thesis, spatial)."""
        try:
            return self.kinds[kind].protocols[protocol]
        except KeyError:
            raise KeyError(f"dataset {self.variant}: no {kind!r} samples under the {protocol!r} protocol") from None

    def to_json(self, folder: str | Path | None = None) -> dict:
        """The record as stored: the cube and labels paths relative to the dataset folder (``folder``, else the one
        it was read from), so that a copied or moved project reads its own data."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("spatial", "kinds")}
        base = folder if folder is not None else getattr(self, "_folder", None)
        if base is not None:
            d["cube"], d["labels"] = _relative(d["cube"], base), _relative(d["labels"], base)
        d["spatial"] = dataclasses.asdict(self.spatial)
        d["kinds"] = {k: {"samples": v.samples, "columns": v.columns, **({"anomaly": v.anomaly} if k == "year" else {}),
                          **{p: i.to_json() for p, i in v.protocols.items()}} for k, v in self.kinds.items()}
        return d

    @classmethod
    def from_json(cls, d: dict, where: str | Path = "manifest") -> DatasetManifest:
        try:
            kinds = {}
            for k, v in d["kinds"].items():
                protos = {p: ProtocolInfo.from_json(v[p]) for p in v if p not in ("samples", "columns", "anomaly")}
                kinds[k] = KindInfo(int(v["samples"]), list(v["columns"]), protos, v["anomaly"] if k == "year" else None)
            plain = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name not in ("spatial", "kinds")}
            return cls(**plain, spatial=SpatialInfo(**d["spatial"]), kinds=kinds)
        except (KeyError, TypeError) as e:
            raise DatasetOutdated(f"{where}: dataset manifest lacks {e}; rebuild the dataset with 05_patches") from None

    def write(self, folder: str | Path) -> Path:
        return io.write_json(Path(folder) / "manifest.json", self.to_json(folder))

    @classmethod
    def read(cls, folder: str | Path) -> DatasetManifest:
        p = Path(folder) / "manifest.json"
        if not p.exists():
            raise FileNotFoundError(f"{p}: no dataset; run 05_patches first")
        try:
            d = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise DatasetOutdated(f"{p}: unreadable dataset manifest ({e}); rebuild the dataset with 05_patches") from None
        m = cls.from_json(d, p)
        m._folder = Path(folder)
        m.cube, m.labels = _absolute(m.cube, folder), _absolute(m.labels, folder)
        return m

    def sha256_16(self) -> str:
        """A short hash of the manifest (runs record which dataset they were trained on)."""
        import hashlib

        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:16]


def _relative(path: str, folder: str | Path) -> str:
    """``path`` relative to ``folder`` (as stored in a manifest); empty and already relative paths as they are."""
    import os

    if not path or not Path(path).is_absolute():
        return path
    try:
        return os.path.relpath(Path(path), Path(folder).resolve())
    except ValueError:  # another drive
        return path


def _absolute(path: str, folder: str | Path) -> str:
    """A stored path resolved against the dataset folder (absolute paths, of older manifests, as they are)."""
    if not path or Path(path).is_absolute():
        return path
    return str((Path(folder).resolve() / path).resolve())
