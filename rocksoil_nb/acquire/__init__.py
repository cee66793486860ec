"""Acquisition (01_acquire): fill ``data/<aoi>/raw/`` from the area's ``source``.

* ``simulated``: the offline scene simulator (``rocksoil_nb.simulate``).
* ``appeears+gee``: ECOSTRESS from AppEEARS (Earthdata account) or Earth Engine, Sentinel-1/2 from
  Earth Engine onto the thermal grid, and your geology vector copied in.
* ``local``: a folder you already have (AppEEARS bundle, optional SAR/NDVI, geology vector), linked or copied.

Whatever the source, the raw layout is the same: ``ecostress/``, ``sentinel1/``, ``sentinel2/``, ``geology/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .inventory import inventory, scene_table  # noqa: F401


class SourceNotAvailable(RuntimeError):
    """The area's ``source`` cannot be used as configured."""


def _resolve(cfg, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else cfg.root / p


def copy_geology(cfg, raw: Path) -> Path | None:
    """Copy the configured geology vector (and shapefile sidecars) into ``raw/geology/``; None if not configured."""
    from .. import io
    from .local import SHAPEFILE_SIDECARS

    if not cfg.acquisition.geology_vector:
        return None
    src = _resolve(cfg, cfg.acquisition.geology_vector)
    if not src.exists():
        raise SourceNotAvailable(f"{src}: the geology vector named by acquisition.geology_vector does not exist")
    dest = raw / "geology" / src.name
    for s in [src] + [src.with_suffix(x) for x in SHAPEFILE_SIDECARS if src.suffix.lower() == ".shp"]:
        d = raw / "geology" / s.name
        if s.exists() and not d.exists():
            with io.atomic_path(d) as tmp:
                shutil.copy2(s, tmp)
    return dest


def run(cfg, progress: bool = True, session=None, ee=None) -> dict:
    """Acquire the raw data of ``cfg`` by its ``source``; return a summary dict.

    ``session`` (a requests-like session) and ``ee`` (an Earth Engine module) can be passed in; by default
    the real ones are used with credentials from the environment, ``~/.netrc`` or the EE credentials file.
    """
    raw = cfg.raw_dir
    if cfg.source == "simulated":
        from ..simulate.run import simulate

        return simulate(cfg, progress=progress)
    if cfg.source == "local":
        from .local import import_folder

        res = import_folder(_resolve(cfg, cfg.acquisition.local_folder), raw, cfg.acquisition.local_mode, progress)
        return res["summary"]
    if cfg.source == "appeears+gee":
        return _run_remote(cfg, raw, progress, session, ee)
    raise SourceNotAvailable(f"unknown source {cfg.source!r} for area {cfg.name!r}")


def _run_remote(cfg, raw: Path, progress: bool, session, ee) -> dict:
    from .. import credentials, ecostress

    acq = cfg.acquisition
    summary: dict = {"source": "appeears+gee", "warnings": []}
    ee_mod = None
    if acq.sentinel or acq.ecostress_from == "earthengine":
        from . import earthengine

        ee_mod = earthengine.initialize(credentials.earthengine(acq.earthengine_project), ee)
    if acq.ecostress_from == "appeears":
        from .appeears import AppEEARS, fetch_ecostress

        client = AppEEARS(credentials.earthdata(), session=session)
        summary["appeears"] = fetch_ecostress(cfg, raw, client, progress)
    else:
        from ..grid import thermal_grid
        from . import earthengine

        summary["earthengine_ecostress"] = earthengine.fetch_ecostress(ee_mod, cfg, thermal_grid(cfg.area), raw, progress)
    grid = ecostress.reference_grid(raw / "ecostress")
    if acq.sentinel:
        from . import earthengine

        times = sorted({ecostress.parse_name(p).time for p in ecostress.find_layer((raw / "ecostress").glob("*.tif"), "LST")})
        summary["earthengine"] = earthengine.fetch_sentinel(ee_mod, cfg, grid, times, raw, progress)
    geo = copy_geology(cfg, raw)
    if geo is None:
        summary["warnings"].append("no geology vector: set acquisition.geology_vector to your digitised map before 02_labels")
    from .. import io

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
    if (raw / "local_import.csv").exists():
        files = pd.read_csv(raw / "local_import.csv").fillna("")
        out["local files not imported (with the reason)"] = files[files["problem"] != ""][["path", "kind", "problem"]]
    return out
