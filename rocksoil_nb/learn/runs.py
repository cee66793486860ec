"""Typed records of a trained run, written beside its weights:

* :class:`RunSpec` (``inputs.json``): what the model expects of its inputs, so that 08's maps and
  ``rocksoil predict`` apply it unchanged to the area's cube or to new scenes;
* :class:`RunResult` (``metrics.json``): what the run scored on its test split;
* :class:`Fit`: a run being trained, what every model's ``fit`` of the registry receives.

Both read the files earlier versions wrote; a file lacking a field says which and asks for a retrain.
"""

from __future__ import annotations

import dataclasses
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rocksoil_nb.config import RunName
from rocksoil_nb.core import io

INPUTS, METRICS = "inputs.json", "metrics.json"
#: weights of a run: the best epoch, the last epoch, or the per-pixel baseline
BEST, CKPT, BASELINE_FILE = "best.keras", "checkpoint.keras", "pixel_rf.joblib"
CALIBRATION = "calibration.joblib"  # the run's calibrator, fitted on its validation split (rocksoil_nb.learn.calibration)
UNITS = "test_units.npz"  # per held-out unit (block / date) of the test split: its confusion matrix, for intervals


class RunOutdated(ValueError):
    """A run's record is unreadable or lacks fields this version needs: retrain it with 07_train."""


def _read(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"{path.parent}: not a trained run (no {path.name}); train it with 07_train or `rocksoil experiments`")
    try:
        return io.read_json(path)
    except ValueError as e:
        raise RunOutdated(f"{e} (or retrain the run with 07_train)") from None


class _RunRecord:
    """JSON file of a run folder, read into a dataclass (unknown keys of newer or older files are ignored)."""

    FILE = ""

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict, where: str | Path = ""):
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in d.items() if k in names})
        except TypeError as e:
            raise RunOutdated(f"{where or cls.FILE}: {cls.__name__} lacks a field ({e}); retrain the run with 07_train") from None

    @classmethod
    def read(cls, run_dir: str | Path):
        p = Path(run_dir) / cls.FILE
        return cls.from_json(_read(p), p)

    def write(self, run_dir: str | Path) -> Path:
        return io.write_json(Path(run_dir) / self.FILE, self.to_json())


@dataclass
class RunSpec(_RunRecord):
    """What a trained model expects of its inputs (``inputs.json``): bands and their training mean / std
    (physical units: LST K, EmisWB 0-1, VV/VH dB), patch size (pixels), window overlap (0-1), sequence
    length (1 for single-date models), the grid's CRS and pixel size (m), and the scene filter, QC validity
    rule and Sentinel matching windows used in training."""

    FILE = INPUTS

    area: str
    variant: str
    model: str
    protocol: str
    kind: str  # cnn | seq | year
    bands: list[str]
    mean: list[float]
    std: list[float]
    patch_size: int
    overlap: float
    sequence_length: int = 1
    validity_channel: bool = False
    include_nodata: bool = False
    crs: str = "EPSG:32630"
    pixel_size_m: float = 70.0
    preprocess: dict = field(default_factory=dict)
    scene_filter: dict = field(default_factory=dict)
    acquisition: dict = field(default_factory=dict)  # sar_window_days, ndvi_window_days
    anomaly: str | None = None  # band read minus each date's scene median (K) before normalising (year models)

    @property
    def is_sequence(self) -> bool:
        """The thesis's T-date sequences (ConvLSTM)."""
        return self.kind == "seq"

    @property
    def is_year(self) -> bool:
        """A calendar year of passes per sample (tae), padded to ``sequence_length`` dates."""
        return self.kind == "year"

    @property
    def frames(self) -> int:
        """Dates per sample: the sequence length for sequence and year models, else 1."""
        return int(self.sequence_length) if (self.is_sequence or self.is_year) else 1

    @property
    def name(self) -> str:
        return str(RunName(self.variant, self.model, self.protocol))


@dataclass
class RunResult(_RunRecord):
    """A finished run's summary (``metrics.json``): test scores (OA, macro-F1, mIoU, per-class lists and the
    confusion matrix; None when there was no test split), samples and epochs."""

    FILE = METRICS

    run: str
    variant: str
    model: str
    protocol: str
    epochs_run: int
    test: dict | None
    test_samples: int
    train_samples: int
    val_macro_f1_best: float | None = None
    class_weights: list[float] | None = None
    seed: int = 0  # the training seed (runs written before seeds were recorded: 0)

    def score(self, name: str) -> float | None:
        """A test score (``oa``, ``macro_f1``, ``miou``, ``weighted_f1``), None without a test split."""
        return None if not self.test else self.test.get(name)


@dataclass
class Fit:
    """One run being trained: the area config, what is trained (variant, model, protocol, seed), its folder and key (see
    :func:`rocksoil_nb.learn.train.run_key`), the hyperparameters after overrides, the class weighting (``area`` or
    ``equal``), Keras verbosity and extra callbacks (deep models), whether to score the test split, and the start time
    (seconds since the epoch)."""

    cfg: Any
    variant: str
    model: str
    protocol: str
    out: Path
    key: dict
    seed: int
    hp: Any
    weights: str = "area"
    verbose: int = 0
    extra_callbacks: list = field(default_factory=list)
    evaluate_test: bool = True
    t0: float = 0.0


def save_units(run_dir: Path, units, confusions, protocol: str, kind: str | None = None) -> Path:
    """Write a run's test confusion matrices per held-out unit (``test_units.npz``: ``units``, ``confusions``, and the
    ``kind`` of unit: ``block`` (spatial blocks) or ``date``; by default the protocol's own unit)."""
    import numpy as np

    with io.atomic_path(Path(run_dir) / UNITS, suffix=".npz") as tmp:
        np.savez(tmp, units=np.asarray(units), confusions=np.asarray(confusions), protocol=np.array(protocol),
                 kind=np.array(kind or protocol_unit(protocol)))
    return Path(run_dir) / UNITS


def protocol_unit(protocol: str) -> str:
    """The unit a protocol holds out: spatial blocks under ``spatial``, dates under ``thesis`` and ``thesis_files``."""
    return "block" if protocol == "spatial" else "date"


def run_unit(model: str, kind: str, protocol: str) -> str:
    """The unit a run's test confusions are kept by: the protocol's, except for models that predict a whole test
    period at once (the whole-series baseline; whole-year samples, ``tae``), whose held-out period is one or two
    units: they are kept by spatial blocks (their intervals then say how accuracy varies over the ground)."""
    from rocksoil_nb.learn import registry

    whole = model in registry.MODELS and registry.get(model).whole_series
    return "block" if whole or kind == "year" else protocol_unit(protocol)


def unit_kind(run_dir: Path) -> str | None:
    """The kind of unit a run's ``test_units.npz`` holds (``block`` or ``date``), None where it kept none."""
    import numpy as np

    p = Path(run_dir) / UNITS
    if not p.exists():
        return None
    with np.load(p) as z:
        return str(z["kind"]) if "kind" in z else protocol_unit(str(z["protocol"]))


def read_units(run_dir: Path):
    """(unit ids, confusion matrices) of a run's test split, None where the run predates them."""
    import numpy as np

    p = Path(run_dir) / UNITS
    if not p.exists():
        return None
    with np.load(p) as z:
        return z["units"], z["confusions"]


def keep_rescored(run_dir: Path, recorded: dict, score: Callable[[Path], dict]) -> bool:
    """Score a finished run's test split again into a temporary folder (``score(folder)`` returns the test scores and
    writes ``test_units.npz`` there) and keep its per-unit confusions if the confusion matrix comes out as ``recorded``
    (else a warning: retrain it). True if kept."""
    run_dir = Path(run_dir)
    tmp = run_dir / ".rescore"
    tmp.mkdir(exist_ok=True)
    try:
        if score(tmp)["confusion"] != recorded["confusion"]:
            warnings.warn(f"{run_dir}: its test split no longer scores as recorded; retrain it for intervals", stacklevel=3)
            return False
        (tmp / UNITS).replace(run_dir / UNITS)
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
