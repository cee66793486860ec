"""The parameters schema: typed sections of ``parameters/<aoi>.yaml`` and of a run profile.

Choices are ``Literal`` types, so a misspelt loss, model, variant or protocol is refused when the
file is loaded (see :func:`rocksoil_nb.config.load`), not hours later. The simulator's own section
is in :mod:`rocksoil_nb.config.simulator`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rocksoil_nb.config.layout import Layout
from rocksoil_nb.config.simulator import Simulator
from rocksoil_nb.core.sentinel import NDVI_WINDOW_DAYS, SAR_WINDOW_DAYS

SourceName = Literal["simulated", "appeears+gee", "local", "thesis_patches"]
LossName = Literal["cross_entropy", "weighted_cross_entropy", "weighted_focal"]
#: the model names of the registry (:mod:`rocksoil_nb.learn.registry`, which config may not import: a test keeps them equal)
ModelName = Literal["cnn", "convlstm", "tae", "pixel_rf", "pixel_series"]
#: the keys of ``hyperparameters.learning_rate`` every area gives (each registry entry's ``rate`` is one of them)
RATE_KEYS = ("cnn", "convlstm")
VariantName = Literal["thermal_only", "thermal_sar", "sar_thermal_only", "day", "night", "winter", "summer"]
ProtocolName = Literal["thesis", "spatial", "thesis_files"]
SweepParam = Literal["learning_rate", "l2", "batch_size", "base_filters"]


@dataclass
class Area:
    """Area of interest: WGS84 corners, target CRS and thermal grid (70 m ECOSTRESS pixels)."""

    ne: list[float]  # [lat, lon] degrees, WGS84
    sw: list[float]  # [lat, lon] degrees, WGS84
    shape: list[int]  # thermal grid [rows, cols]
    crs: str = "EPSG:32630"  # UTM zone 30N; must be the UTM zone of the box's centre unless crs_note says why not
    pixel_size_m: float = 70.0
    crs_note: str = ""  # why the grid is not in the UTM zone the area lies in (e.g. a map series on another zone)


@dataclass
class Period:
    """Study period (UTC dates, inclusive)."""

    start: dt.date
    end: dt.date


@dataclass
class ClassSettings:
    """Class weights (thesis Table 12) and whether class 0 (no data) takes part in loss/metrics."""

    weights: dict[int, float]
    include_nodata: bool = False


@dataclass
class Hyperparameters:
    """Model and training settings (thesis Table 11)."""

    l2: float = 0.05
    learning_rate: dict[str, float] = field(default_factory=lambda: {"cnn": 1e-5, "convlstm": 1e-4})
    batch_size: int = 4
    base_filters: int = 16
    patch_size: int = 64
    patch_overlap: float = 0.5
    loss: LossName = "weighted_focal"
    focal_gamma: float = 2.0
    epochs: int = 150
    early_stopping_patience: int = 15
    sequence_length: int = 5
    sequence_stride: int = 3
    year_frames: int = 36  # tae: at most this many kept passes of a calendar year per sample (the most valid ones)
    dropout: float = 0.2
    mixed_precision: bool = False  # float16 compute on a GPU (ignored on CPU)


@dataclass
class SceneFilter:
    """Thesis scene filter: drop a scene with too many cloudy or bad-quality pixels (fractions 0-1)."""

    max_cloud_fraction: float = 0.10
    max_bad_fraction: float = 0.15


@dataclass
class Acquisition:
    """Real-source settings (``source: appeears+gee`` or ``local``). Credentials never go here."""

    # appeears (Earthdata account) | earthengine (NASA/ECOSTRESS/L2T_LSTE/V2)
    ecostress_from: Literal["appeears", "earthengine"] = "appeears"
    sentinel: bool = True  # fetch Sentinel-1 and Sentinel-2 from Earth Engine
    earthengine_project: str = ""  # Google Cloud project; EE_PROJECT in the environment wins
    s1_orbit_pass: str = ""  # "" (both), ASCENDING or DESCENDING
    sar_window_days: int = SAR_WINDOW_DAYS  # S1 within this many calendar days of a thermal pass (0 = same UTC day)
    ndvi_window_days: float = NDVI_WINDOW_DAYS  # S2 NDVI within ± this many days (the thesis used 16-day windows)
    s2_max_cloud_percent: float = 60.0  # scene filter on CLOUDY_PIXEL_PERCENTAGE
    # per-pixel clouds: scl (scene classification 3, 8, 9, 10) | cloud_score_plus (Cloud Score+ cs_cdf); QA60 is
    # masked in the archive from 2022-01-25 to 2024-02-28 and is not offered
    s2_cloud_mask: Literal["scl", "cloud_score_plus"] = "scl"
    s2_cloud_score_min: float = 0.60  # cloud_score_plus: keep pixels with cs_cdf at least this (0-1)
    s2_mask_snow: bool = False  # scl: also mask class 11 (snow / ice)
    geology_vector: str = ""  # your digitised geology map (GeoPackage/shapefile); relative paths from the project root
    local_folder: str = ""  # for source: local, the folder holding an AppEEARS bundle (+ optional SAR/NDVI, geology)
    local_mode: Literal["link", "copy"] = "link"  # link (symbolic links) | copy
    # for source: thesis_patches, the thesis's published sets: a clone of its repository, a data_thermal_<variant>
    # folder or the development .npz; relative paths from the project root (read only, never written)
    thesis_patches: str = ""


@dataclass
class Preprocess:
    """03_preprocess: which pixels are valid, how passes are labelled day/night, what goes in the cube."""

    valid_mandatory: list[int] = field(default_factory=lambda: [0, 1])  # QC bits 0-1 accepted (00 best, 01 nominal)
    valid_data_quality: list[int] = field(default_factory=lambda: [0])  # QC bits 2-3 accepted (00 good)
    use_cloud_layer: bool = True  # cloud layer = 1 makes a pixel invalid
    min_lst_accuracy: int = 1  # QC bits 14-15 at least: 0 (>2 K) accepts all, 1 drops >2 K, 2 drops >1.5 K, 3 keeps <1 K only
    daynight_rule: Literal["solar", "clock"] = "solar"  # solar: local solar time; clock: the UTC clock time, as the thesis did
    day_start_hour: float = 6.0  # day is [start, end) hours
    day_end_hour: float = 18.0
    validity_channel: bool = False  # add a 0/1 channel telling where values were missing (set to 0)


@dataclass
class Patches:
    """05_patches: the minimum-valid rule and the split protocols (chronological, spatial; the thesis's file-name split on imports)."""

    min_valid_fraction: float = 0.5  # a patch is kept when this share of its pixels is valid and labelled (class != 0)
    test_fraction: float = 0.15
    val_fraction: float = 0.15  # of the training part (thesis: 15 % of train)
    spatial_block_patches: int = 2  # spatial protocol: blocks of this many patch sizes a side
    buffer_patches: float = 1.0  # spatial protocol: gap between train/val/test patches, in patch sizes
    split_seed: int = 7


@dataclass
class Profile:
    """Scale settings of a run profile."""

    description: str = ""
    budget_minutes: float = 0.0  # stated wall-time budget of `make report` for one area on a 2-core laptop (0 = none stated)
    cell_timeout_s: int = 4 * 3600  # `make report`: a notebook cell running longer is taken as stalled (generous: training cells)
    kernel_start_timeout_s: int = 120  # `make report`: a kernel that does not answer within this is taken as failed to start
    max_patches: int = 0  # training (and validation) samples per run, drawn once with the run's seed; 0 = no limit
    year_max_patches: int = 0  # the same for whole-year samples (tae: a year of dates each); 0 = max_patches
    tuning_trials: int = 20
    tuning_epochs: int = 0  # epochs per tuning trial, sweep and loss-comparison run; 0 = the profile's epochs
    tuning_max_patches: int = 0  # samples per tuning run; 0 = max_patches
    variants: list[VariantName] = field(default_factory=lambda: ["thermal_only"])  # what 07_train trains
    models: list[ModelName] = field(default_factory=lambda: list(typing.get_args(ModelName)))
    protocols: list[ProtocolName] = field(default_factory=lambda: ["thesis", "spatial"])
    # training seeds of every run of the matrix: one by default (budget); several give the spread over seeds in every
    # table beside the bootstrap interval (seed 0 is the run in models/<aoi>/<profile>/, seed s>0 in seed<s>/)
    seeds: list[int] = field(default_factory=lambda: [0])
    sweep_points: int = 5  # values per parameter in 06's thesis sweeps (Table 2)
    sweep_params: list[SweepParam] = field(default_factory=lambda: ["learning_rate", "l2", "batch_size", "base_filters"])
    map_dates: Literal["all", "test"] = "test"  # 08's full-scene maps: "all" dates of the variant or the thesis protocol's "test" dates
    notes: str = ""


@dataclass
class AreaConfig:
    """Everything the workbook knows about one area, after merging the profile."""

    name: str
    title: str
    source: SourceName
    area: Area
    period: Period
    classes: ClassSettings
    hyperparameters: Hyperparameters
    scene_filter: SceneFilter
    simulator: Simulator | None = None  # see rocksoil_nb.config.simulator
    acquisition: Acquisition = field(default_factory=Acquisition)
    preprocess: Preprocess = field(default_factory=Preprocess)
    patches: Patches = field(default_factory=Patches)
    default_profile: str = "standard"
    geology_class_field: str = "class_code"
    thesis_area: str = ""  # the thesis area whose published numbers apply (default: this area's name)
    profile_name: str = ""
    profile: Profile = field(default_factory=Profile)
    # filled by load(): the project root and the working folder for data/, models/, reports/
    root: Path = field(default_factory=Path.cwd)
    workdir: Path = field(default_factory=Path.cwd)

    @property
    def layout(self) -> Layout:
        """Every path of this area and profile (data, datasets, runs, reports): see :class:`Layout`."""
        key = hashlib.sha256(json.dumps(self.patch_settings, sort_keys=True).encode()).hexdigest()[:8]
        return Layout(self.workdir, self.name, self.profile_name or self.default_profile,
                      f"{self.hyperparameters.patch_size}px-{key}")

    def sample_cap(self, kind: str) -> int:
        """Training samples per run for a dataset kind (cnn, seq, year) under this profile; 0 = no limit."""
        return (self.profile.year_max_patches or self.profile.max_patches) if kind == "year" else self.profile.max_patches

    @property
    def patch_settings(self) -> dict:
        """The settings a patch dataset depends on (and nothing else: epochs or learning rates do not rebuild it)."""
        h = self.hyperparameters
        return {"patch_size": h.patch_size, "patch_overlap": h.patch_overlap, "sequence_length": h.sequence_length,
                "sequence_stride": h.sequence_stride, "year_frames": h.year_frames, **dataclasses.asdict(self.patches)}
