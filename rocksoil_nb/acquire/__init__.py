"""Acquisition (01_acquire): fill ``data/<aoi>/raw/`` from the area's ``source``.

* ``simulated``: the offline scene simulator (``rocksoil_nb.simulate``).
* ``appeears+gee``: ECOSTRESS from AppEEARS (Earthdata account) or Earth Engine, Sentinel-1/2 from
  Earth Engine onto the thermal grid, and your geology vector copied in.
* ``local``: a folder you already have (AppEEARS bundle, optional SAR/NDVI, geology vector), linked or copied.

Whatever the source, the raw layout is the same: ``ecostress/``, ``sentinel1/``, ``sentinel2/``, ``geology/``.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from rocksoil_nb.acquire import credentials, earthengine
from rocksoil_nb.acquire.appeears import AppEEARS, fetch_ecostress
from rocksoil_nb.acquire.files import file_table  # noqa: F401
from rocksoil_nb.acquire.local import SHAPEFILE_SIDECARS, import_folder
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import ecostress, io, sentinel
from rocksoil_nb.core.grid import thermal_grid
from rocksoil_nb.simulate.run import simulate


class SourceNotAvailable(RuntimeError):
    """The area's ``source`` cannot be used as configured."""


def _resolve(cfg: AreaConfig, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else cfg.root / p


def geology_source(cfg: AreaConfig) -> Path | None:
    """The configured geology vector (None if not configured); a clear error when it does not exist, checked
    before any download so that a wrong path does not wait for hours of them."""
    if not cfg.acquisition.geology_vector:
        return None
    src = _resolve(cfg, cfg.acquisition.geology_vector)
    if not src.is_file():
        raise SourceNotAvailable(f"{src}: the geology vector named by acquisition.geology_vector does not exist "
                                 f"(relative paths are from the project root, {cfg.root})")
    return src


def copy_geology(cfg: AreaConfig, raw: Path) -> Path | None:
    """Copy the configured geology vector (and shapefile sidecars) into ``raw/geology/``; None if not configured."""
    src = geology_source(cfg)
    if src is None:
        return None
    dest = raw / "geology" / src.name
    for s in [src] + [src.with_suffix(x) for x in SHAPEFILE_SIDECARS if src.suffix.lower() == ".shp"]:
        d = raw / "geology" / s.name
        if s.exists() and not d.exists():
            with io.atomic_path(d) as tmp:
                shutil.copy2(s, tmp)
    return dest


@dataclass
class AcquireResult:
    """What 01_acquire did, the same shape whatever the source: how many ECOSTRESS passes and Sentinel dates
    the raw folder holds, whether it was already complete, warnings, and the source's own details."""

    source: str
    raw_dir: Path
    skipped: bool = False  # already complete with the same parameters: nothing written
    thermal_passes: int = 0
    sentinel1_dates: int = 0
    sentinel2_dates: int = 0
    geology_vector: bool = False
    warnings: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)  # the source's own summary (simulator, local import, AppEEARS, Earth Engine)

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "raw_dir": str(self.raw_dir)}

    @classmethod
    def from_json(cls, d: dict) -> AcquireResult:
        return cls(**{**d, "raw_dir": Path(d["raw_dir"])})

    def table(self):
        """The summary as a two-column table (details left out)."""
        import pandas as pd

        rows = [(k, v) for k, v in self.to_json().items() if k != "details"]
        return pd.DataFrame(rows, columns=["item", "value"]).set_index("item")


def _count_dates(raw: Path, sub: str) -> int:
    """Distinct UTC dates of the Sentinel exports in ``raw/<sub>``."""
    return len({parsed["time"].date() for p in sorted((raw / sub).glob("*.tif")) if (parsed := sentinel.parse(p))})


def run(cfg: AreaConfig, progress: bool = True, session=None, ee=None) -> AcquireResult:
    """Acquire the raw data of ``cfg`` by its ``source``; return an :class:`AcquireResult`.

    ``session`` (a requests-like session) and ``ee`` (an Earth Engine module) can be passed in; by default
    the real ones are used with credentials from the environment, ``~/.netrc`` or the EE credentials file.
    """
    raw = cfg.layout.raw_dir
    if cfg.source == "simulated":
        d = simulate(cfg, progress=progress)
        return AcquireResult("simulated", raw, d.get("skipped", False), d["thermal_passes"], d["sentinel1_dates"], d["sentinel2_dates"],
                             True, [], {k: v for k, v in d.items() if k not in ("skipped", "map")})
    if cfg.source == "local":
        d = import_folder(_resolve(cfg, cfg.acquisition.local_folder), raw, cfg.acquisition.local_mode, progress,
                          area=thermal_grid(cfg.area))["summary"]
        warn = [f"{d['problems']} file(s) could not be used: see raw/local_import.csv"] if d["problems"] else []
        return AcquireResult("local", raw, False, d["ecostress_passes"], _count_dates(raw, "sentinel1"), _count_dates(raw, "sentinel2"),
                             d["geology_vector"], warn, d)
    if cfg.source == "appeears+gee":
        d = _run_remote(cfg, raw, progress, session, ee)
        passes = len(ecostress.find_layer((raw / "ecostress").glob("*.tif"), "LST"))
        return AcquireResult("appeears+gee", raw, False, passes, _count_dates(raw, "sentinel1"), _count_dates(raw, "sentinel2"),
                             any((raw / "geology").glob("*")), d.pop("warnings"), d)
    raise SourceNotAvailable(f"unknown source {cfg.source!r} for area {cfg.name!r}")


def _run_remote(cfg: AreaConfig, raw: Path, progress: bool, session, ee) -> dict:
    acq = cfg.acquisition
    geology_source(cfg)  # before the downloads
    summary: dict = {"source": "appeears+gee", "warnings": []}
    ee_mod = None
    if acq.sentinel or acq.ecostress_from == "earthengine":
        ee_mod = earthengine.initialize(credentials.earthengine(acq.earthengine_project), ee)
    if acq.ecostress_from == "appeears":
        client = AppEEARS(credentials.earthdata(), session=session)
        summary["appeears"] = fetch_ecostress(cfg, raw, client, progress)
    else:
        eco = earthengine.fetch_ecostress(ee_mod, cfg, thermal_grid(cfg.area), raw, progress)
        summary["warnings"] += eco.pop("warnings")
        summary["earthengine_ecostress"] = eco
    grid = ecostress.reference_grid(raw / "ecostress")
    if acq.sentinel:
        times = sorted({ecostress.parse_name(p).time for p in ecostress.find_layer((raw / "ecostress").glob("*.tif"), "LST")})
        summary["earthengine"] = earthengine.fetch_sentinel(ee_mod, cfg, grid, times, raw, progress)
    geo = copy_geology(cfg, raw)
    if geo is None:
        summary["warnings"].append("no geology vector: set acquisition.geology_vector to your digitised map before 02_labels")

    io.write_json(raw / "manifest.json", {"source": "appeears+gee", "complete": True, "summary": summary})
    return summary


def source_tables(raw_dir) -> dict:
    """Source-specific tables saved by the last acquisition: date matching of Sentinel-1/2 to the
    thermal passes (Earth Engine) and the files of a local import that could not be used."""
    import pandas as pd

    raw = Path(raw_dir)
    out = {}
    for name, title in (("matching_sentinel1.csv", "Sentinel-1 matched to thermal passes (same UTC day)"),
                        ("matching_sentinel2.csv", "Sentinel-2 NDVI matched to thermal passes (± window)")):
        if (raw / name).exists():
            out[title] = pd.read_csv(raw / name)
    if (raw / "thesis_import.json").exists():  # written by rocksoil_nb.prepare.thesis_import
        import json

        rep = json.loads((raw / "thesis_import.json").read_text())["result"]
        out["published sets imported (read only; source never written)"] = pd.DataFrame(rep["sets"]).drop(columns=["notes"])
        notes = [(s["variant"], n) for s in rep["sets"] for n in s["notes"]]
        notes += [("grid", rep["grid"]["placement"]), ("labels", rep["labels"]["note"])]
        out["what the import found"] = pd.DataFrame(notes, columns=["set", "finding"])
        if (raw / "thesis_import_files.csv").exists():
            out["files left out (with the reason)"] = pd.read_csv(raw / "thesis_import_files.csv")
    if (raw / "local_import.csv").exists():
        files = pd.read_csv(raw / "local_import.csv").fillna("")
        out["local files not imported (with the reason)"] = files[files["problem"] != ""][["path", "kind", "problem"]]
    return out
