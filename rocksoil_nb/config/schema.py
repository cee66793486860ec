"""The parameters schema: the typed sections of ``parameters/<aoi>.yaml`` and of a run profile, each key's type, range
and meaning declared beside it (pydantic v2 dataclasses, building blocks in :mod:`rocksoil_nb.config.rules`).

Choices are ``Literal`` types, so a misspelt loss, model, variant or protocol is refused when the file is loaded (see
:func:`rocksoil_nb.config.load`), not hours later; rules between keys are the sections' validators (``model_validator``). The
simulator's own section is in :mod:`rocksoil_nb.config.simulator`.

Why pydantic dataclasses and not models: the rest of the package uses the sections as plain dataclasses
(``dataclasses.replace``, ``asdict``, attribute assignment), which pydantic dataclasses keep, while the declarations give
validation, messages and a JSON schema from one place.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import typing
import warnings
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass

from rocksoil_nb.config import rules
from rocksoil_nb.config.layout import Layout
from rocksoil_nb.config.rules import SECTION, Bool, Count, Fraction, Int, Num, PositiveInt, Str, need
from rocksoil_nb.config.simulator import Simulator
from rocksoil_nb.core.classes import N_CLASSES
from rocksoil_nb.core.sentinel import NDVI_WINDOW_DAYS, SAR_WINDOW_DAYS

SourceName = Literal["simulated", "appeears+gee", "local", "thesis_patches"]
LossName = Literal["cross_entropy", "weighted_cross_entropy", "weighted_focal"]
#: the model names of the registry (:mod:`rocksoil_nb.learn.registry`, which config may not import: a test keeps them equal)
ModelName = Literal["cnn", "convlstm", "tae", "pixel_rf", "pixel_series", "pixel_focal"]
#: the keys of ``hyperparameters.learning_rate`` every area gives (each registry entry's ``rate`` is one of them)
RATE_KEYS = ("cnn", "convlstm")
VariantName = Literal["thermal_only", "thermal_sar", "sar_thermal_only", "day", "night", "winter", "summer"]
ProtocolName = Literal["thesis", "spatial", "thesis_files"]
SweepParam = Literal["learning_rate", "l2", "batch_size", "base_filters"]


@dataclass(config=SECTION)
class Area:
    """Area of interest: WGS84 corners, target CRS and thermal grid (70 m ECOSTRESS pixels)."""

    ne: list[Num] = Field(description="north-east corner [lat, lon], degrees WGS84")
    sw: list[Num] = Field(description="south-west corner [lat, lon], degrees WGS84")
    shape: list[Int] = Field(description="thermal grid [rows, cols], at least 8 pixels each")
    crs: Str = Field("EPSG:32630", description="grid CRS, projected in metres: the UTM zone of the box's centre unless "
                                                "crs_note says why not")
    pixel_size_m: Num = Field(70.0, gt=0, description="grid pixel size, metres")
    crs_note: Str = Field("", description="why the grid is not in the UTM zone the area lies in (e.g. a map series on another zone)")

    @model_validator(mode="after")
    def _corners_grid_and_crs(self):
        for key, val in (("ne", self.ne), ("sw", self.sw)):
            need(len(val) == 2 and -90 <= val[0] <= 90 and -180 <= val[1] <= 180, key, f"must be [lat, lon] in degrees, got {val}")
        need(self.ne[0] > self.sw[0] and self.ne[1] > self.sw[1], "ne", "must lie north-east of 'area.sw'")
        need(len(self.shape) == 2 and min(self.shape) >= 8, "shape", f"must be [rows, cols] of at least 8 pixels, got {self.shape}")
        rules.check_crs(self.crs)
        rules.check_zone(self.crs, self.ne, self.sw, self.crs_note)
        return self


@dataclass(config=SECTION)
class Period:
    """Study period (UTC dates, inclusive)."""

    start: dt.date = Field(description="first day, UTC")
    end: dt.date = Field(description="last day, UTC (inclusive)")

    @model_validator(mode="after")
    def _ordered(self):
        need(self.end >= self.start, "end", f"must not be before 'period.start' ({self.start}), got {self.end}")
        return self


@dataclass(config=SECTION)
class ClassSettings:
    """Class weights (thesis Table 12) and whether class 0 (no data) takes part in loss/metrics."""

    weights: dict[Int, Num] = Field(description=f"a weight per class code 0-{N_CLASSES - 1} in the loss")
    include_nodata: Bool = Field(False, description="class 0 (no data) takes part in loss and metrics, as the thesis did")

    @model_validator(mode="after")
    def _every_class(self):
        bad = [k for k in self.weights if not 0 <= k < N_CLASSES]
        need(not bad, "weights", f"has class codes outside 0-{N_CLASSES - 1}: {bad}")
        missing = sorted(set(range(N_CLASSES)) - set(self.weights))
        need(not missing, "weights", f"must be a weight for each of the {N_CLASSES} class codes 0-{N_CLASSES - 1} (missing {missing})")
        neg = {k: v for k, v in self.weights.items() if not (0 <= v < float("inf"))}
        need(not neg, "weights", f"must be non-negative numbers, got {neg}")
        return self


@dataclass(config=SECTION)
class Hyperparameters:
    """Model and training settings (thesis Table 11)."""

    l2: Num = Field(0.05, ge=0, description="L2 penalty on convolution kernels")
    learning_rate: dict[Str, Num] = Field(default_factory=lambda: {"cnn": 1e-5, "convlstm": 1e-4},
                                          description="Adam step per model family (cnn: CNN and per-pixel; convlstm: ConvLSTM "
                                                      "and tae), or per model name")
    batch_size: PositiveInt = Field(4, description="samples per training step")
    base_filters: PositiveInt = Field(16, description="filters of the U-Nets' first level (doubling per level)")
    patch_size: int = Field(64, strict=True, ge=8, description="patch side, pixels (the U-Nets halve it three times)")
    patch_overlap: Num = Field(0.5, ge=0, lt=1, description="overlap of neighbouring patches, share of the side")
    loss: LossName = Field("weighted_focal", description="training loss")
    focal_gamma: Num = Field(2.0, ge=0, description="focusing exponent of the focal loss")
    epochs: PositiveInt = Field(150, description="training epochs at most (early stopping may end sooner)")
    early_stopping_patience: Count = Field(15, description="epochs without a better validation loss before stopping")
    sequence_length: PositiveInt = Field(5, description="dates per ConvLSTM sequence (T)")
    sequence_stride: PositiveInt = Field(3, description="dates between the starts of consecutive sequences")
    year_frames: PositiveInt = Field(36, description="tae: at most this many kept passes of a calendar year per sample "
                                                     "(the most valid ones)")
    dropout: Num = Field(0.2, ge=0, lt=1, description="dropout share in the bottleneck")
    mixed_precision: Bool = Field(False, description="float16 compute on a GPU (ignored on CPU)")

    @model_validator(mode="after")
    def _rates(self):
        lr = self.learning_rate
        missing = [m for m in RATE_KEYS if m not in lr]
        need(not missing, "learning_rate", "must be a rate for every model family: cnn (CNN, per-pixel models) and convlstm "
                                           f"(ConvLSTM, tae); missing {missing}")
        names = list(typing.get_args(ModelName))
        unknown = sorted(set(lr) - set(names))
        need(not unknown, "learning_rate", f"must be keyed by model names {names} (unknown: {unknown})")
        need(all(v > 0 for v in lr.values()), "learning_rate", f"must be positive rates, got {lr}")
        return self


@dataclass(config=SECTION)
class SceneFilter:
    """Thesis scene filter: drop a scene with too many cloudy or bad-quality pixels."""

    max_cloud_fraction: Fraction = Field(0.10, description="largest cloudy share of a scene's pixels kept (0-1)")
    max_bad_fraction: Fraction = Field(0.15, description="largest bad-quality share of a scene's pixels kept (0-1)")


@dataclass(config=SECTION)
class Acquisition:
    """Real-source settings (``source: appeears+gee`` or ``local``). Credentials never go here."""

    ecostress_from: Literal["appeears", "earthengine"] = Field(
        "appeears", description="appeears (Earthdata account) | earthengine (NASA/ECOSTRESS/L2T_LSTE/V2)")
    sentinel: Bool = Field(True, description="fetch Sentinel-1 and Sentinel-2 from Earth Engine")
    earthengine_project: Str = Field("", description="Google Cloud project; EE_PROJECT in the environment wins")
    s1_orbit_pass: Literal["", "ASCENDING", "DESCENDING"] = Field("", description="Sentinel-1 orbit: '' (both), ASCENDING or DESCENDING")
    sar_window_days: Count = Field(SAR_WINDOW_DAYS, description="S1 within this many calendar days of a thermal pass "
                                                                "(0 = same UTC day)")
    ndvi_window_days: Num = Field(NDVI_WINDOW_DAYS, ge=0, description="S2 NDVI within ± this many days (the thesis used "
                                                                      "16-day windows)")
    s2_max_cloud_percent: Num = Field(60.0, ge=0, le=100, description="scene filter on CLOUDY_PIXEL_PERCENTAGE, %")
    s2_cloud_mask: Literal["scl", "cloud_score_plus"] = Field(
        "scl", description="per-pixel clouds: scl (scene classification 3, 8, 9, 10) | cloud_score_plus (Cloud Score+ cs_cdf); "
                           "QA60 is masked in the archive from 2022-01-25 to 2024-02-28 and is not offered")
    s2_cloud_score_min: Num = Field(0.60, gt=0, lt=1, description="cloud_score_plus: keep pixels with cs_cdf at least this")
    s2_mask_snow: Bool = Field(False, description="scl: also mask class 11 (snow / ice)")
    geology_vector: Str = Field("", description="your digitised geology map (GeoPackage/shapefile); relative paths from the "
                                                "project root")
    local_folder: Str = Field("", description="for source: local, the folder holding an AppEEARS bundle (+ optional SAR/NDVI, "
                                              "geology)")
    local_mode: Literal["link", "copy"] = Field("link", description="local: link (symbolic links) or copy the files")
    thesis_patches: Str = Field("", description="for source: thesis_patches, the thesis's published sets: a clone of its "
                                                "repository, a data_thermal_<variant> folder or the development .npz; relative "
                                                "paths from the project root (read only, never written)")


@dataclass(config=SECTION)
class Preprocess:
    """03_preprocess: which pixels are valid, how passes are labelled day/night, what goes in the cube."""

    valid_mandatory: list[Int] = Field(default_factory=lambda: [0, 1], description="QC bits 0-1 accepted (00 best, 01 nominal)")
    valid_data_quality: list[Int] = Field(default_factory=lambda: [0], description="QC bits 2-3 accepted (00 good)")
    use_cloud_layer: Bool = Field(True, description="cloud layer = 1 makes a pixel invalid")
    min_lst_accuracy: int = Field(1, strict=True, ge=0, le=3, description="QC bits 14-15 at least: 0 (>2 K) accepts all, 1 drops "
                                                                         ">2 K, 2 drops >1.5 K, 3 keeps <1 K only")
    daynight_rule: Literal["solar", "clock"] = Field("solar", description="solar: local solar time; clock: the UTC clock time, "
                                                                          "as the thesis did")
    day_start_hour: Num = Field(6.0, ge=0, le=24, description="day is [start, end) hours")
    day_end_hour: Num = Field(18.0, ge=0, le=24, description="end of the day, hours")
    validity_channel: Bool = Field(False, description="add a 0/1 channel telling where values were missing (set to 0)")

    @model_validator(mode="after")
    def _day(self):
        need(self.day_start_hour < self.day_end_hour, "day_start_hour",
             f"must be before preprocess.day_end_hour, got {[self.day_start_hour, self.day_end_hour]}")
        return self


@dataclass(config=SECTION)
class Patches:
    """05_patches: the minimum-valid rule and the split protocols (chronological, spatial; the thesis's file-name split on
    imports)."""

    min_valid_fraction: Fraction = Field(0.5, description="a patch is kept when this share of its pixels is valid and labelled")
    test_fraction: Num = Field(0.15, ge=0, lt=1, description="share held out for test")
    val_fraction: Num = Field(0.15, ge=0, lt=1, description="share of the training part for validation (thesis: 15 %)")
    spatial_block_patches: PositiveInt = Field(2, description="spatial protocol: blocks of this many patch sizes a side")
    buffer_patches: Num = Field(1.0, ge=0, description="spatial protocol: gap between train/val/test patches, patch sizes")
    split_seed: Int = Field(7, description="seed of the split draws")

    @model_validator(mode="after")
    def _shares(self):
        need(self.test_fraction + self.val_fraction < 1, "test_fraction",
             f"must be less than 1 with patches.val_fraction, got {self.test_fraction}")
        return self


@dataclass(config=SECTION)
class Profile:
    """Scale settings of a run profile (``parameters/profiles.yaml``)."""

    description: Str = Field("", description="what the profile is for, one line")
    budget_minutes: Num = Field(0.0, ge=0, description="stated wall-time budget of `make report` for one area on a 2-core "
                                                       "laptop, minutes (0 = none stated)")
    cell_timeout_s: PositiveInt = Field(4 * 3600, description="`make report`: a notebook cell running longer is taken as "
                                                              "stalled, seconds")
    kernel_start_timeout_s: PositiveInt = Field(120, description="`make report`: a kernel that does not answer within this is "
                                                                 "taken as failed to start, seconds")
    max_patches: Count = Field(0, description="training (and validation) samples per run, drawn once with the run's seed; "
                                              "0 = no limit")
    year_max_patches: Count = Field(0, description="the same for whole-year samples (tae); 0 = max_patches")
    tuning_trials: PositiveInt = Field(20, description="Optuna trials in 06_tune")
    tuning_epochs: Count = Field(0, description="epochs per tuning trial, sweep and loss-comparison run; 0 = the profile's epochs")
    tuning_max_patches: Count = Field(0, description="samples per tuning run; 0 = max_patches")
    variants: list[VariantName] = Field(default_factory=lambda: ["thermal_only"], description="what 07_train trains")
    models: list[ModelName] = Field(default_factory=lambda: list(typing.get_args(ModelName)), description="models 07 trains")
    protocols: list[ProtocolName] = Field(default_factory=lambda: ["thesis", "spatial"], description="split protocols 07 trains")
    seeds: list[Int] = Field(default_factory=lambda: [0], description="training seeds of every run of the matrix (seed 0 in "
                                                                      "models/<aoi>/<profile>/, seed s>0 in seed<s>/)")
    sweep_points: PositiveInt = Field(5, description="values per parameter in 06's thesis sweeps (Table 2)")
    sweep_params: list[SweepParam] = Field(default_factory=lambda: ["learning_rate", "l2", "batch_size", "base_filters"],
                                           description="the hyperparameters 06's thesis sweeps vary")
    map_dates: Literal["all", "test"] = Field("test", description="08's full-scene maps: all dates of the variant or the thesis "
                                                                  "protocol's test dates")
    notes: Str = Field("", description="anything a reader of the profile should know")

    @model_validator(mode="after")
    def _seeds(self):
        s = self.seeds
        need(len(s) > 0 and len(set(s)) == len(s) and min(s) >= 0, "seeds",
             f"must be a list of distinct seeds, 0 or more (e.g. [0, 1, 2]), got {s}")
        return self


@dataclass(config=SECTION)
class AreaConfig:
    """Everything the workbook knows about one area, after merging the profile."""

    name: Annotated[Str, Field(description="the area's name: the parameters file's name without .yaml")]
    title: Annotated[Str, Field(description="how reports and figures name the area")]
    source: Annotated[SourceName, Field(description="where raw data comes from: the offline simulator, the real archives, a "
                                                    "local folder or the thesis's published patches")]
    area: Area
    period: Period
    classes: ClassSettings
    hyperparameters: Hyperparameters
    scene_filter: SceneFilter
    simulator: Simulator | None = Field(None, description="the offline simulator's settings (source: simulated)")
    acquisition: Acquisition = Field(default_factory=Acquisition)
    preprocess: Preprocess = Field(default_factory=Preprocess)
    patches: Patches = Field(default_factory=Patches)
    default_profile: Str = Field("standard", description="the profile used when none is named")
    geology_class_field: Str = Field("class_code", description="attribute of the geology vector holding the class code")
    thesis_area: Str = Field("", description="the thesis area whose published numbers apply (default: this area's name)")
    # filled by load(), never by a parameters file
    profile_name: Str = ""
    profile: Profile = Field(default_factory=Profile)
    root: Path = Field(default_factory=Path.cwd, description="the project root")
    workdir: Path = Field(default_factory=Path.cwd, description="the working folder for data/, models/, reports/")

    @model_validator(mode="after")
    def _source_needs(self):
        need(self.source != "simulated" or self.simulator is not None, "simulator", "is required when source is 'simulated'")
        need(self.source != "local" or bool(self.acquisition.local_folder), "acquisition.local_folder",
             "is required when source is 'local'")
        need(self.source != "thesis_patches" or bool(self.acquisition.thesis_patches), "acquisition.thesis_patches",
             "is required when source is 'thesis_patches'")
        if self.source == "simulated":
            rules.check_simulation_fits(*self.area.shape)
        today = dt.datetime.now(dt.UTC).date()
        if self.period.end > today:
            what = ("the simulator makes up passes for days that have not happened" if self.source == "simulated"
                    else "no data exists yet for the days after today")
            warnings.warn(f"key 'period.end' is {self.period.end}, in the future: {what}", stacklevel=2)
        return self

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
