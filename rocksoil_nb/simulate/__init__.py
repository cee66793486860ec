"""Offline scene simulator: ECOSTRESS, Sentinel-1, Sentinel-2 and a geology map for an area,
written as the real sources deliver them (see README.md in this folder)."""

from rocksoil_nb.simulate.run import AreaModel, RawDataConflict, parameters_hash, simulate  # noqa: F401
