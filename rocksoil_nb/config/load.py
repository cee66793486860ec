"""Load and validate area parameters (``parameters/<aoi>.yaml``) merged with a profile.

A parameters file is checked against the typed schema (:mod:`rocksoil_nb.config.schema`): an unknown
key, a value of the wrong type or a choice outside its ``Literal`` stops with an error that names the
file and the key, before anything runs.
Profiles (``parameters/profiles.yaml``) override parts of the area file to scale
sizes and epochs (``quick`` for tests, ``standard`` for a laptop, ``thesis`` for a GPU).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import types
import typing
from pathlib import Path

import yaml

from rocksoil_nb.config.schema import RATE_KEYS, AreaConfig, ModelName, Profile
from rocksoil_nb.core.grid import thermal_grid

log = logging.getLogger(__name__)


class ParameterError(ValueError):
    """A parameters file is missing, malformed, or does not match the schema."""


# --------------------------------------------------------------------------- validation


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value, tp, where: str, src: str):
    """Check ``value`` against the annotation ``tp``; return it (converted where lossless)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        if value not in args:
            raise ParameterError(f"{src}: key '{where}' must be one of {list(args)}, got {value!r}")
        return value
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses a key given twice in one mapping (YAML itself lets the last one win silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}: given on line {seen[key] + 1} and again on line "
                                f"{key_node.start_mark.line + 1}; keep one", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_yaml_unique(text: str):
    """YAML as ``yaml.safe_load`` reads it, a key given twice in one mapping being an error."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def _read_yaml(path: Path) -> dict:
    if not path.exists():
        raise ParameterError(f"{path}: parameters file not found")
    try:
        data = read_yaml_unique(path.read_text())
    except yaml.YAMLError as e:
        raise ParameterError(f"{path}: not valid YAML: {e}") from None
    except ValueError as e:  # a value YAML reads as a date that is none (2022-13-01)
        raise ParameterError(f"{path}: a value is not a valid date ({e}); dates are YYYY-MM-DD") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: expected a mapping of keys at the top level")
    return data


def _need(ok: bool, src: str, key: str, rule: str, value) -> None:
    if not ok:
        raise ParameterError(f"{src}: key '{key}' must be {rule}, got {value!r}")


def utm_zone_crs(lat: float, lon: float) -> str:
    """The WGS84 UTM zone (EPSG:326NN north, 327NN south) a point lies in (the standard 6° zones)."""
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def _check_zone(area, src: str) -> None:
    """A UTM grid must be the zone of the area's centre (AppEEARS delivers native L2T tiles in it; other zones'
    pieces are reprojected onto it), unless ``area.crs_note`` says why not."""
    crs = str(area.crs).upper()
    if not crs.startswith(("EPSG:326", "EPSG:327")) or area.crs_note:
        return
    lat, lon = (area.ne[0] + area.sw[0]) / 2, (area.ne[1] + area.sw[1]) / 2
    want = utm_zone_crs(lat, lon)
    if crs != want:
        raise ParameterError(f"{src}: key 'area.crs' is {area.crs}, but the area's centre ({lat:.3f}, {lon:.3f}) lies in UTM "
                             f"zone {want[-2:]} ({want}); set area.crs: {want}, or say why not in area.crs_note")


def _check_crs(crs: str, src: str) -> None:
    """The grid's CRS must be known and projected in metres (the pixel size is in metres)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        c = CRS.from_user_input(crs)
    except CRSError:
        raise ParameterError(f"{src}: key 'area.crs' is not a known coordinate reference system: {crs!r} "
                             "(use an EPSG code such as EPSG:32630)") from None
    unit = c.axis_info[0].unit_name if c.axis_info else ""
    if not c.is_projected or unit not in ("metre", "meter"):
        raise ParameterError(f"{src}: key 'area.crs' must be a projected CRS in metres (e.g. the area's UTM zone), "
                             f"got {crs!r} ({'geographic' if c.is_geographic else unit or 'no unit'})")


#: the simulator's memory per thermal pixel (bytes): its 10 m truth and surface grids; measured on the demo area
#: (96 x 96 px: 135 MB above the interpreter's own, /usr/bin/time's maximum resident size)
SIM_BYTES_PER_PIXEL = 15_000


def machine_memory_bytes() -> int:
    """This machine's physical memory (bytes)."""
    return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def _check_size_and_period(cfg: AreaConfig, src: str) -> None:
    """A simulated grid whose simulation would not fit this machine's memory is refused with the figures; a period
    that runs into the future is said (the simulator would make up passes that have not happened; a download
    simply gets none for those days)."""
    import datetime as dt
    import warnings

    rows, cols = cfg.area.shape
    if cfg.source == "simulated":
        need, have = SIM_BYTES_PER_PIXEL * rows * cols, machine_memory_bytes()
        if need > 0.8 * have:
            raise ParameterError(f"{src}: key 'area.shape' {rows} x {cols} px would need about {need / 2**30:.0f} GiB to simulate "
                                 f"(~{SIM_BYTES_PER_PIXEL / 1000:.0f} kB per pixel), more than this machine's {have / 2**30:.0f} GiB; "
                                 "choose a smaller area or a coarser grid")
    today = dt.datetime.now(dt.UTC).date()
    if cfg.period.end > today:
        what = ("the simulator makes up passes for days that have not happened" if cfg.source == "simulated"
                else "no data exists yet for the days after today")
        warnings.warn(f"{src}: key 'period.end' is {cfg.period.end}, in the future: {what}", stacklevel=3)


def _check_ranges(cfg: AreaConfig, src: str) -> None:
    """Sizes, counts, fractions and rates in their ranges: checked on the merged parameters, before anything runs."""
    from rocksoil_nb.core.classes import N_CLASSES

    a, h, sf, pt, pp = cfg.area, cfg.hyperparameters, cfg.scene_filter, cfg.patches, cfg.preprocess
    _check_crs(a.crs, src)
    _check_size_and_period(cfg, src)
    _need(a.pixel_size_m > 0, src, "area.pixel_size_m", "a positive size in metres", a.pixel_size_m)
    w = cfg.classes.weights
    missing = sorted(set(range(N_CLASSES)) - set(w))
    _need(not missing, src, "classes.weights", f"a weight for each of the {N_CLASSES} class codes 0-13 (missing {missing})", w)
    bad = {k: v for k, v in w.items() if not (v >= 0 and v < float("inf"))}
    _need(not bad, src, "classes.weights", "non-negative numbers", bad)
    for key in ("epochs", "batch_size", "base_filters", "patch_size", "sequence_length", "sequence_stride", "year_frames"):
        v = getattr(h, key)
        _need(v > 0, src, f"hyperparameters.{key}", "a positive integer", v)
    _need(h.patch_size >= 8, src, "hyperparameters.patch_size", "at least 8 pixels (the U-Nets halve it three times)", h.patch_size)
    _need(h.early_stopping_patience >= 0, src, "hyperparameters.early_stopping_patience", "0 or more epochs", h.early_stopping_patience)
    _need(h.l2 >= 0, src, "hyperparameters.l2", "0 or more", h.l2)
    _need(0 <= h.dropout < 1, src, "hyperparameters.dropout", "in [0, 1)", h.dropout)
    _need(h.focal_gamma >= 0, src, "hyperparameters.focal_gamma", "0 or more", h.focal_gamma)
    lr = h.learning_rate
    need = [m for m in RATE_KEYS if m not in lr]
    _need(not need, src, "hyperparameters.learning_rate",
          f"a rate for every model family: cnn (CNN, per-pixel models) and convlstm (ConvLSTM, tae); missing {need}", lr)
    unknown = sorted(set(lr) - set(typing.get_args(ModelName)))
    _need(not unknown, src, "hyperparameters.learning_rate", f"keyed by model names {list(typing.get_args(ModelName))} "
          f"(unknown: {unknown})", lr)
    _need(all(v > 0 for v in lr.values()), src, "hyperparameters.learning_rate", "positive rates", lr)
    for key in ("max_cloud_fraction", "max_bad_fraction"):
        v = getattr(sf, key)
        _need(0 <= v <= 1, src, f"scene_filter.{key}", "a fraction in 0-1", v)
    _need(0 <= pt.min_valid_fraction <= 1, src, "patches.min_valid_fraction", "a fraction in 0-1", pt.min_valid_fraction)
    for key in ("test_fraction", "val_fraction"):
        v = getattr(pt, key)
        _need(0 <= v < 1, src, f"patches.{key}", "a fraction in [0, 1)", v)
    _need(pt.test_fraction + pt.val_fraction < 1, src, "patches.test_fraction", "less than 1 with patches.val_fraction",
          pt.test_fraction)
    _need(pt.spatial_block_patches >= 1, src, "patches.spatial_block_patches", "1 or more", pt.spatial_block_patches)
    _need(pt.buffer_patches >= 0, src, "patches.buffer_patches", "0 or more", pt.buffer_patches)
    _need(0 <= pp.day_start_hour < pp.day_end_hour <= 24, src, "preprocess.day_start_hour",
          "before preprocess.day_end_hour, both hours in 0-24", [pp.day_start_hour, pp.day_end_hour])
    if cfg.simulator is not None:
        sc = cfg.simulator.scenes
        _need(sc.passes > 0 or sc.dates != "orbit", src, "simulator.scenes.passes", "a positive number of passes", sc.passes)
        _need(sc.rejected_passes >= 0, src, "simulator.scenes.rejected_passes", "0 or more", sc.rejected_passes)
        _need(sc.fine_pixel_m > 0, src, "simulator.scenes.fine_pixel_m", "a positive size in metres", sc.fine_pixel_m)
        for key in ("grid_jitter_fraction", "stripe_fraction", "swath_edge_fraction"):
            _need(0 <= getattr(sc, key) <= 1, src, f"simulator.scenes.{key}", "a fraction in 0-1", getattr(sc, key))


def _check_profile(prof: Profile, src: str) -> None:
    for key in ("cell_timeout_s", "kernel_start_timeout_s", "tuning_trials", "sweep_points"):
        v = getattr(prof, key)
        _need(v > 0, src, key, "a positive number", v)
    for key in ("budget_minutes", "max_patches", "year_max_patches", "tuning_epochs", "tuning_max_patches"):
        v = getattr(prof, key)
        _need(v >= 0, src, key, "0 or more (0: no limit / the default)", v)
    seeds = prof.seeds
    _need(len(seeds) > 0 and len(set(seeds)) == len(seeds) and min(seeds) >= 0, src, "seeds",
          "a list of distinct seeds, 0 or more (e.g. [0, 1, 2])", seeds)


def _check_semantics(cfg: AreaConfig, src: str) -> None:
    a = cfg.area
    for key, val in (("area.ne", a.ne), ("area.sw", a.sw)):
        if len(val) != 2 or not (-90 <= val[0] <= 90 and -180 <= val[1] <= 180):
            raise ParameterError(f"{src}: key '{key}' must be [lat, lon] in degrees, got {val}")
    if not (a.ne[0] > a.sw[0] and a.ne[1] > a.sw[1]):
        raise ParameterError(f"{src}: key 'area.ne' must lie north-east of 'area.sw'")
    _check_zone(a, src)
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
    if acq.s1_orbit_pass.upper() not in ("", "ASCENDING", "DESCENDING"):
        raise ParameterError(f"{src}: key 'acquisition.s1_orbit_pass' must be '', ASCENDING or DESCENDING, got {acq.s1_orbit_pass!r}")
    if not 0 < acq.s2_cloud_score_min < 1:
        raise ParameterError(f"{src}: key 'acquisition.s2_cloud_score_min' must be between 0 and 1, got {acq.s2_cloud_score_min}")
    if not 0 <= cfg.preprocess.min_lst_accuracy <= 3:
        raise ParameterError(f"{src}: key 'preprocess.min_lst_accuracy' must be 0-3")
    if cfg.source == "local" and not acq.local_folder:
        raise ParameterError(f"{src}: key 'acquisition.local_folder' is required when source is 'local'")
    if cfg.source == "thesis_patches" and not acq.thesis_patches:
        raise ParameterError(f"{src}: key 'acquisition.thesis_patches' is required when source is 'thesis_patches'")
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
    _check_ranges(cfg, src)


_TOLD: set[tuple[str, str]] = set()  # (area file, profile) pairs whose overrides were reported in this process


def overridden(data: dict, over: dict, prefix: str = "") -> list[str]:
    """'key: area value -> profile value' for every value of the area file that the profile's overrides replace."""
    out = []
    for k, v in over.items():
        if k not in data:
            continue
        if isinstance(v, dict) and isinstance(data[k], dict):
            out += overridden(data[k], v, f"{prefix}{k}.")
        elif data[k] != v:
            out.append(f"{prefix}{k}: {data[k]!r} -> {v!r}")
    return out


def _tell_overridden(path: Path, pname: str, data: dict, over: dict) -> None:
    """Say once per process which of the area file's values the profile replaces (the package's log)."""
    diffs = overridden(data, over)
    if diffs and (str(path), pname) not in _TOLD:
        _TOLD.add((str(path), pname))
        log.info("%s: profile '%s' replaces %d value(s) of this file: %s", path, pname, len(diffs), "; ".join(diffs))


def project_root(start: Path | None = None) -> Path:
    """The repository root: ``$ROCKSOIL_ROOT`` or the first parent holding ``parameters/``."""
    env = os.environ.get("ROCKSOIL_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "parameters").is_dir() and (p / "rocksoil_nb").is_dir():
            return p
    pkg_root = Path(__file__).resolve().parents[2]  # rocksoil_nb/config/load.py -> the repository
    if (pkg_root / "parameters").is_dir():
        return pkg_root
    raise ParameterError(f"no project root (a folder with parameters/) above {here}; set ROCKSOIL_ROOT")


def available_areas(root: Path | None = None) -> list[str]:
    """Names of the areas that have a parameters file."""
    root = root or project_root()
    return sorted(p.stem for p in (root / "parameters").glob("*.yaml") if p.stem != "profiles")


def known_profiles(root: Path | None = None) -> list[str]:
    """Profile names in ``parameters/profiles.yaml``."""
    root = root or project_root()
    return sorted(_read_yaml(root / "parameters" / "profiles.yaml"))


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
    if prof_over:  # the area file is checked on its own too: a value the profile replaces may be used under another
        area_only = _build(AreaConfig, data, str(path))
        if area_only.name == aoi:
            try:
                _check_semantics(area_only, str(path))
            except ParameterError as e:
                raise ParameterError(f"{e} (checked without profile '{pname}': the area file must be valid on its own, "
                                     "whatever a profile replaces)") from None
        _tell_overridden(path, pname, data, prof_over)
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
    _check_profile(cfg.profile, f"{profiles_path} [{pname}]")
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


    g = thermal_grid(cfg.area)
    rows = [
        ("area", f"{cfg.title} ({cfg.name})"),
        ("source", cfg.source),
        ("profile", f"{cfg.profile_name}: {cfg.profile.description}"),
        ("period (UTC)", f"{cfg.period.start} … {cfg.period.end}"),
        ("thermal grid", f"{g.rows} × {g.cols} pixels of {g.res:g} m, {g.crs}, corner ({g.x0:.0f} E, {g.y0:.0f} N)"),
        ("scene filter", f"cloud ≤ {cfg.scene_filter.max_cloud_fraction:.0%}, bad quality ≤ {cfg.scene_filter.max_bad_fraction:.0%}"),
        ("class 0 in loss/metrics", "yes (as the thesis)" if cfg.classes.include_nodata else "no"),
        ("data folder", str(cfg.layout.data_dir)),
        ("models and reports", f"{cfg.layout.models_dir}, {cfg.layout.reports_dir}"),
    ]
    return pd.DataFrame(rows, columns=["setting", "value"]).set_index("setting")
