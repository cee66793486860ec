"""Load and validate area parameters (``parameters/<aoi>.yaml``) merged with a profile.

A parameters file is checked against the typed schema below: an unknown key or a
value of the wrong type stops with an error that names the file and the key.
Profiles (``parameters/profiles.yaml``) override parts of the area file to scale
sizes and epochs (``quick`` for tests, ``standard`` for a laptop, ``thesis`` for a GPU).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SOURCES = ("simulated", "appeears+gee", "local")


class ParameterError(ValueError):
    """A parameters file is missing, malformed, or does not match the schema."""


# --------------------------------------------------------------------------- schema


@dataclass
class Area:
    """Area of interest: WGS84 corners, target CRS and thermal grid (70 m ECOSTRESS pixels)."""

    ne: list[float]  # [lat, lon] degrees, WGS84
    sw: list[float]  # [lat, lon] degrees, WGS84
    shape: list[int]  # thermal grid [rows, cols]
    crs: str = "EPSG:32630"  # UTM zone 30N
    pixel_size_m: float = 70.0


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
    loss: str = "weighted_focal"
    focal_gamma: float = 2.0
    epochs: int = 150
    early_stopping_patience: int = 15
    sequence_length: int = 5
    sequence_stride: int = 3
    dropout: float = 0.2
    mixed_precision: bool = False  # float16 compute on a GPU (ignored on CPU)


@dataclass
class SceneFilter:
    """Thesis scene filter: drop a scene with too many cloudy or bad-quality pixels (fractions 0-1)."""

    max_cloud_fraction: float = 0.10
    max_bad_fraction: float = 0.15


@dataclass
class Climate:
    """Per-area climate for the simulator (air temperature in K, rain in wet days per month)."""

    air_temp_mean_k: float  # annual mean 2 m air temperature, K
    air_temp_annual_amp_k: float  # half the July-January difference, K
    diurnal_range_k: list[float]  # [winter, summer] daily max-min air temperature, K
    wet_days_per_month: list[float]  # 12 values, Jan-Dec
    cloudiness: list[float]  # 12 values, mean cloud fraction of a pass, Jan-Dec
    vegetation: float  # 0-1 scale of the area's vegetation cover
    green_peak_doy: int  # day of year of the herbaceous green peak
    humidity: float  # 0-1, scales atmospheric-correction error (LST_err)


@dataclass
class Geology:
    """Recipe for the simulated "true" geology (lengths in metres, class codes 0-13)."""

    column: list[list[float]]  # stratigraphic column bottom→top: [class code, map-view thickness m]
    strike_deg: float = 30.0
    fold_wavelength_m: float = 6000.0
    fold_amplitude_m: float = 600.0
    warp_m: float = 250.0
    plutons: int = 0
    pluton_radius_m: float = 2000.0
    aureole_m: float = 400.0
    foliated_belt_m: float = 0.0  # width of a foliated (slate/schist) belt, 0 = none
    volcanic_centres: int = 0
    volcanic_radius_m: float = 300.0
    rivers: int = 1
    alluvium_m: float = 400.0
    peat_hollows: int = 0
    peat_radius_m: float = 150.0
    reservoir_radius_m: float = 0.0
    covers: list[list[float]] = field(default_factory=list)  # [host code, soil code, area fraction]
    unmapped_fraction: float = 0.02  # share of the map sheet left without a polygon (class 0)
    map_displacement_m: float = 60.0  # georeferencing error of the digitised map
    map_min_area_m2: float = 40000.0  # smallest polygon a 1:50,000 map shows


@dataclass
class Scenes:
    """Which ECOSTRESS passes the simulator writes."""

    dates: str = "orbit"  # "appendix_c" (thesis Appendix C list + rejected passes) or "orbit"
    passes: int = 40  # number of passes for "orbit" mode
    rejected_passes: int = 0  # extra cloudy/degraded passes added to an Appendix C list
    grid_jitter_fraction: float = 0.05  # share of scenes whose AppEEARS crop is shifted by a pixel
    stripe_fraction: float = 0.15  # share of scenes with missing-stripe lines
    swath_edge_fraction: float = 0.08  # share of scenes cut by the swath edge
    fine_pixel_m: float = 30.0  # grid spacing of the Sentinel-1/2 exports, m
    sar_window_days: int = 1  # S1 acquisitions within this many days of a thermal pass are exported
    ndvi_window_days: int = 8  # S2 NDVI within this many days of a thermal pass is exported


@dataclass
class Simulator:
    """Offline scene simulator settings (see ``rocksoil_nb.simulate``)."""

    seed: int
    climate: Climate
    geology: Geology
    scenes: Scenes = field(default_factory=Scenes)


@dataclass
class Acquisition:
    """Real-source settings (``source: appeears+gee`` or ``local``). Credentials never go here."""

    ecostress_from: str = "appeears"  # appeears (Earthdata account) | earthengine (NASA/ECOSTRESS/L2T_LSTE/V2)
    sentinel: bool = True  # fetch Sentinel-1 and Sentinel-2 from Earth Engine
    earthengine_project: str = ""  # Google Cloud project; EE_PROJECT in the environment wins
    s1_orbit_pass: str = ""  # "" (both), ASCENDING or DESCENDING
    sar_window_days: int = 0  # S1 within this many calendar days of a thermal pass (0 = same UTC day)
    ndvi_window_days: float = 8.0  # S2 NDVI within ± this many days (the thesis used 16-day windows)
    s2_max_cloud_percent: float = 60.0  # scene filter on CLOUDY_PIXEL_PERCENTAGE
    geology_vector: str = ""  # your digitised geology map (GeoPackage/shapefile); relative paths from the project root
    local_folder: str = ""  # for source: local, the folder holding an AppEEARS bundle (+ optional SAR/NDVI, geology)
    local_mode: str = "link"  # link (symbolic links) | copy


@dataclass
class Preprocess:
    """03_preprocess: which pixels are valid, how passes are labelled day/night, what goes in the cube."""

    valid_mandatory: list[int] = field(default_factory=lambda: [0, 1])  # QC bits 0-1 accepted (00 best, 01 nominal)
    valid_data_quality: list[int] = field(default_factory=lambda: [0])  # QC bits 2-3 accepted (00 good)
    use_cloud_layer: bool = True  # cloud layer = 1 makes a pixel invalid
    min_lst_accuracy: int = 1  # QC bits 14-15 at least: 0 (>2 K) accepts all, 1 drops >2 K, 2 drops >1.5 K, 3 keeps <1 K only
    daynight_rule: str = "solar"  # solar: local solar time; clock: the UTC clock time, as the thesis did
    day_start_hour: float = 6.0  # day is [start, end) hours
    day_end_hour: float = 18.0
    validity_channel: bool = False  # add a 0/1 channel telling where values were missing (set to 0)


@dataclass
class Patches:
    """05_patches: the minimum-valid rule and the two split protocols."""

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
    max_patches: int = 0  # 0 = no limit
    tuning_trials: int = 20
    variants: list[str] = field(default_factory=lambda: ["thermal_only"])  # what 07_train trains
    models: list[str] = field(default_factory=lambda: ["cnn", "convlstm", "tae", "pixel_rf"])
    protocols: list[str] = field(default_factory=lambda: ["thesis", "spatial"])
    sweep_points: int = 5  # values per parameter in 06's thesis sweeps (Table 2)
    sweep_params: list[str] = field(default_factory=lambda: ["learning_rate", "l2", "batch_size", "base_filters"])
    map_dates: str = "test"  # 08's full-scene maps: "all" dates of the variant or the thesis protocol's "test" dates
    notes: str = ""


@dataclass
class AreaConfig:
    """Everything the workbook knows about one area, after merging the profile."""

    name: str
    title: str
    source: str
    area: Area
    period: Period
    classes: ClassSettings
    hyperparameters: Hyperparameters
    scene_filter: SceneFilter
    simulator: Simulator | None = None
    acquisition: Acquisition = field(default_factory=Acquisition)
    preprocess: Preprocess = field(default_factory=Preprocess)
    patches: Patches = field(default_factory=Patches)
    default_profile: str = "standard"
    geology_class_field: str = "class_code"
    profile_name: str = ""
    profile: Profile = field(default_factory=Profile)
    # filled by load(): the project root and the working folder for data/, models/, reports/
    root: Path = field(default_factory=Path.cwd)
    workdir: Path = field(default_factory=Path.cwd)

    # ---- paths (data/<aoi>/...) -------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.workdir / "data" / self.name

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def interim_dir(self) -> Path:
        return self.data_dir / "interim"

    @property
    def truth_dir(self) -> Path:
        return self.data_dir / "truth"

    @property
    def reports_dir(self) -> Path:
        return self.workdir / "reports" / self.name

    @property
    def models_dir(self) -> Path:
        return self.workdir / "models" / self.name


# --------------------------------------------------------------------------- validation


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value, tp, where: str, src: str):
    """Check ``value`` against the annotation ``tp``; return it (converted where lossless)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where, src)
            except ParameterError as e:  # try the next member of the union
                errors.append(str(e))
        raise ParameterError(errors[0] if errors else f"{src}: key '{where}' has an invalid value")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ParameterError(f"{src}: key '{where}' must be a mapping, got {type(value).__name__} {value!r}")
        return _build(tp, value, src, where + ".")
    if origin is list:
        if not isinstance(value, list):
            raise ParameterError(f"{src}: key '{where}' must be a list, got {type(value).__name__} {value!r}")
        return [_coerce(v, args[0], f"{where}[{i}]", src) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ParameterError(f"{src}: key '{where}' must be a mapping, got {type(value).__name__} {value!r}")
        return {_coerce(k, args[0], f"{where} key", src): _coerce(v, args[1], f"{where}.{k}", src) for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{src}: key '{where}' must be a number, got {type(value).__name__} {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"{src}: key '{where}' must be an integer, got {type(value).__name__} {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ParameterError(f"{src}: key '{where}' must be true or false, got {type(value).__name__} {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ParameterError(f"{src}: key '{where}' must be a string, got {type(value).__name__} {value!r}")
        return value
    if tp is dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise ParameterError(f"{src}: key '{where}' must be a date YYYY-MM-DD, got {value!r}")
    if tp is Path:
        return Path(value)
    raise ParameterError(f"{src}: key '{where}': unsupported type {_type_name(tp)}")


def _build(cls, data: dict, src: str, prefix: str = ""):
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    internal = {"root", "workdir", "profile", "profile_name"} if cls is AreaConfig else set()
    for key in data:
        if key not in names or key in internal:
            allowed = ", ".join(sorted(names - internal))
            raise ParameterError(f"{src}: unknown key '{prefix}{key}' (allowed here: {allowed})")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _coerce(data[f.name], hints[f.name], prefix + f.name, src)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ParameterError(f"{src}: missing required key '{prefix}{f.name}'")
    return cls(**kwargs)


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _read_yaml(path: Path) -> dict:
    if not path.exists():
        raise ParameterError(f"{path}: parameters file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ParameterError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: expected a mapping of keys at the top level")
    return data


def _check_semantics(cfg: AreaConfig, src: str) -> None:
    if cfg.source not in SOURCES:
        raise ParameterError(f"{src}: key 'source' must be one of {SOURCES}, got {cfg.source!r}")
    a = cfg.area
    for key, val in (("area.ne", a.ne), ("area.sw", a.sw)):
        if len(val) != 2 or not (-90 <= val[0] <= 90 and -180 <= val[1] <= 180):
            raise ParameterError(f"{src}: key '{key}' must be [lat, lon] in degrees, got {val}")
    if not (a.ne[0] > a.sw[0] and a.ne[1] > a.sw[1]):
        raise ParameterError(f"{src}: key 'area.ne' must lie north-east of 'area.sw'")
    if len(a.shape) != 2 or min(a.shape) < 8:
        raise ParameterError(f"{src}: key 'area.shape' must be [rows, cols] of at least 8 pixels, got {a.shape}")
    if cfg.period.end < cfg.period.start:
        raise ParameterError(f"{src}: key 'period.end' is before 'period.start'")
    bad = [k for k in cfg.classes.weights if not 0 <= k <= 13]
    if bad:
        raise ParameterError(f"{src}: key 'classes.weights' has class codes outside 0-13: {bad}")
    if cfg.source == "simulated" and cfg.simulator is None:
        raise ParameterError(f"{src}: key 'simulator' is required when source is 'simulated'")
    h = cfg.hyperparameters
    if not 0 <= h.patch_overlap < 1:
        raise ParameterError(f"{src}: key 'hyperparameters.patch_overlap' must be in [0, 1), got {h.patch_overlap}")
    acq = cfg.acquisition
    checks = (("ecostress_from", acq.ecostress_from, ("appeears", "earthengine")), ("local_mode", acq.local_mode, ("link", "copy")),
              ("s1_orbit_pass", acq.s1_orbit_pass.upper(), ("", "ASCENDING", "DESCENDING")))
    for key, val, allowed in checks:
        if val not in allowed:
            raise ParameterError(f"{src}: key 'acquisition.{key}' must be one of {allowed}, got {val!r}")
    if cfg.preprocess.daynight_rule not in ("solar", "clock"):
        raise ParameterError(f"{src}: key 'preprocess.daynight_rule' must be 'solar' or 'clock', got {cfg.preprocess.daynight_rule!r}")
    if not 0 <= cfg.preprocess.min_lst_accuracy <= 3:
        raise ParameterError(f"{src}: key 'preprocess.min_lst_accuracy' must be 0-3")
    if cfg.source == "local" and not acq.local_folder:
        raise ParameterError(f"{src}: key 'acquisition.local_folder' is required when source is 'local'")
    if cfg.simulator is not None:
        g = cfg.simulator.geology
        for i, row in enumerate(g.column):
            if len(row) != 2 or int(row[0]) != row[0] or not 0 < row[0] < 13:
                raise ParameterError(f"{src}: key 'simulator.geology.column[{i}]' must be [class code 1-12, thickness m]")
        for i, row in enumerate(g.covers):
            if len(row) != 3:
                raise ParameterError(f"{src}: key 'simulator.geology.covers[{i}]' must be [host code, soil code, fraction]")
        c = cfg.simulator.climate
        for key, val in (("wet_days_per_month", c.wet_days_per_month), ("cloudiness", c.cloudiness)):
            if len(val) != 12:
                raise ParameterError(f"{src}: key 'simulator.climate.{key}' must have 12 monthly values")
        if cfg.simulator.scenes.dates not in ("orbit", "appendix_c"):
            raise ParameterError(f"{src}: key 'simulator.scenes.dates' must be 'orbit' or 'appendix_c'")


def project_root(start: Path | None = None) -> Path:
    """The repository root: ``$ROCKSOIL_ROOT`` or the first parent holding ``parameters/``."""
    env = os.environ.get("ROCKSOIL_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "parameters").is_dir() and (p / "rocksoil_nb").is_dir():
            return p
    pkg_root = Path(__file__).resolve().parent.parent
    if (pkg_root / "parameters").is_dir():
        return pkg_root
    raise ParameterError(f"no project root (a folder with parameters/) above {here}; set ROCKSOIL_ROOT")


def available_areas(root: Path | None = None) -> list[str]:
    """Names of the areas that have a parameters file."""
    root = root or project_root()
    return sorted(p.stem for p in (root / "parameters").glob("*.yaml") if p.stem != "profiles")


def load(aoi: str, profile: str | None = None, root: Path | None = None, overrides: dict | None = None) -> AreaConfig:
    """Load ``parameters/<aoi>.yaml``, merge the profile, validate and return an :class:`AreaConfig`.

    Generated files (data/, models/, reports/) go under ``$ROCKSOIL_WORKDIR`` when set,
    else under the project root.

    ``profile`` defaults to the area's ``default_profile``; ``overrides`` (a nested dict)
    is merged last, for notebooks and tests.
    """
    root = Path(root) if root is not None else project_root()
    path = root / "parameters" / f"{aoi}.yaml"
    if not path.exists():
        raise ParameterError(f"{path}: no parameters for area {aoi!r}; known areas: {available_areas(root)}")
    data = _read_yaml(path)
    profiles_path = root / "parameters" / "profiles.yaml"
    profiles = _read_yaml(profiles_path)
    pname = profile or data.get("default_profile", "standard")
    if pname not in profiles:
        raise ParameterError(f"{profiles_path}: unknown profile {pname!r}; known: {sorted(profiles)}")
    prof = profiles[pname] or {}
    if not isinstance(prof, dict):
        raise ParameterError(f"{profiles_path}: profile {pname!r} must be a mapping")
    meta_keys = {f.name for f in dataclasses.fields(Profile)}
    prof_meta = {k: prof[k] for k in meta_keys if k in prof}
    prof_over = prof.get("overrides", {}) or {}
    unknown = set(prof) - meta_keys - {"overrides"}
    if unknown:
        raise ParameterError(f"{profiles_path}: unknown key '{pname}.{sorted(unknown)[0]}'")
    merged = _deep_merge(data, prof_over)
    src = f"{path} (+ profile '{pname}')" if prof_over else str(path)
    if overrides:
        merged = _deep_merge(merged, overrides)
        src += " (+ overrides)"
    cfg = _build(AreaConfig, merged, src)
    if cfg.name != aoi:
        raise ParameterError(f"{path}: key 'name' is {cfg.name!r} but the file is for {aoi!r}")
    _check_semantics(cfg, src)
    cfg.profile_name = pname
    cfg.profile = _build(Profile, prof_meta, f"{profiles_path} [{pname}]")
    if cfg.profile.map_dates not in ("all", "test"):
        raise ParameterError(f"{profiles_path}: key '{pname}.map_dates' must be 'all' or 'test', got {cfg.profile.map_dates!r}")
    cfg.root = root
    cfg.workdir = Path(os.environ.get("ROCKSOIL_WORKDIR") or root).resolve()
    return cfg


def to_dict(cfg) -> dict:
    """Plain-dict form of a config (dates as ISO strings), for manifests and hashing."""

    def conv(v):
        if dataclasses.is_dataclass(v):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v) if f.name not in ("root", "workdir")}
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, (dt.date, Path)):
            return str(v)
        return v

    return conv(cfg)


def summary(cfg: AreaConfig):
    """A small table of the area settings shown at the top of each notebook."""
    import pandas as pd

    from .grid import thermal_grid

    g = thermal_grid(cfg.area)
    rows = [
        ("area", f"{cfg.title} ({cfg.name})"),
        ("source", cfg.source),
        ("profile", f"{cfg.profile_name}: {cfg.profile.description}"),
        ("period (UTC)", f"{cfg.period.start} … {cfg.period.end}"),
        ("thermal grid", f"{g.rows} × {g.cols} pixels of {g.res:g} m, {g.crs}, corner ({g.x0:.0f} E, {g.y0:.0f} N)"),
        ("scene filter", f"cloud ≤ {cfg.scene_filter.max_cloud_fraction:.0%}, bad quality ≤ {cfg.scene_filter.max_bad_fraction:.0%}"),
        ("class 0 in loss/metrics", "yes (as the thesis)" if cfg.classes.include_nodata else "no"),
        ("data folder", str(cfg.data_dir)),
    ]
    return pd.DataFrame(rows, columns=["setting", "value"]).set_index("setting")
