"""Acquisition (01_acquire): fill ``data/<aoi>/raw/`` from the area's ``source``.

``simulated`` runs the offline scene simulator. ``appeears+gee`` and ``local`` are the
real sources (AppEEARS for ECOSTRESS, Earth Engine for Sentinel-1/2, or a folder the user
already has); they are not built yet and stop with a clear message.
"""

from __future__ import annotations

from .inventory import inventory, scene_table  # noqa: F401


class SourceNotAvailable(RuntimeError):
    """The area's ``source`` cannot be used in this version."""


def run(cfg, progress: bool = True) -> dict:
    """Acquire the raw data of ``cfg`` by its ``source``; return a summary dict."""
    if cfg.source == "simulated":
        from ..simulate.run import simulate

        return simulate(cfg, progress=progress)
    raise SourceNotAvailable(
        f"source {cfg.source!r} for area {cfg.name!r} is not available yet: the AppEEARS / Earth Engine "
        "clients and the local-folder import are planned (issue 3). Set 'source: simulated' in "
        f"parameters/{cfg.name}.yaml to use the offline simulator."
    )
