"""Load area parameters (``parameters/<aoi>.yaml``) merged with a profile.

The schema (:mod:`rocksoil_nb.config.schema`) declares every key's type, range and meaning; an unknown key, a value of
the wrong type, a choice outside its ``Literal`` or a broken rule stops here with an error that names the file and the
key, before anything runs. Profiles (``parameters/profiles.yaml``) override parts of the area file to scale sizes and
epochs (``quick`` for tests, ``standard`` for a laptop, ``thesis`` for a GPU).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from rocksoil_nb.config.errors import INTERNAL, ParameterError, explain
from rocksoil_nb.config.rules import Rule, utm_zone_crs
from rocksoil_nb.config.schema import AreaConfig, Profile
from rocksoil_nb.core.grid import thermal_grid

__all__ = ["ParameterError", "load", "utm_zone_crs", "available_areas", "known_profiles", "project_root", "summary", "to_dict"]
log = logging.getLogger(__name__)


def _build(cls, data: dict, src: str):
    """``cls(**data)`` validated by the schema; its first error as a :class:`ParameterError` naming ``src``."""
    if cls is AreaConfig:
        inner = sorted(set(data) & set(INTERNAL))
        if inner:
            allowed = sorted(set(cls.__pydantic_fields__) - set(INTERNAL))
            raise ParameterError(f"{src}: unknown key '{inner[0]}' (allowed here: {', '.join(allowed)})")
    try:
        return cls(**data)
    except ValidationError as e:
        raise explain(e, cls, src) from None
    except Rule as e:  # a rule raised outside pydantic's wrapping
        raise ParameterError(f"{src}: key '{e.key}' {e.message}") from None


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
        try:
            _build(AreaConfig, data, str(path))
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
    cfg.profile_name = pname
    cfg.profile = _build(Profile, prof_meta, f"{profiles_path} [{pname}]")
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
