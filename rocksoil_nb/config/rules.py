"""The building blocks of the declarative parameters schema (:mod:`rocksoil_nb.config.schema`): strict scalar types, a
rule error that names the key it is about, and the checks that need more than one field or the outside world (a CRS
database, this machine's memory).

Every section is a pydantic v2 dataclass: the type, range and meaning of each key are declared beside it
(``Field(gt=..., description=...)``); :func:`rocksoil_nb.config.load.load` turns pydantic's errors into messages naming
the file and the key.
"""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import ConfigDict, Field, Strict

#: every section: a key the schema does not declare is an error (a misspelling is never ignored)
SECTION = ConfigDict(extra="forbid")
#: scalars are taken as written: "5" is not a number, 1 is not true (a YAML integer is a valid number)
Num = Annotated[float, Strict()]
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]
Fraction = Annotated[float, Strict(), Field(ge=0, le=1)]
PositiveInt = Annotated[int, Strict(), Field(gt=0)]
Count = Annotated[int, Strict(), Field(ge=0)]


class Rule(ValueError):
    """A rule between keys broken: ``key`` (relative to the section that checks it) and what it must be."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key, self.message = key, message


def need(ok: bool, key: str, message: str) -> None:
    """Raise :class:`Rule` for ``key`` unless ``ok``."""
    if not ok:
        raise Rule(key, message)


def utm_zone_crs(lat: float, lon: float) -> str:
    """The WGS84 UTM zone (EPSG:326NN north, 327NN south) a point lies in (the standard 6° zones)."""
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def check_crs(crs: str) -> None:
    """The grid's CRS must be known and projected in metres (the pixel size is in metres)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        c = CRS.from_user_input(crs)
    except CRSError:
        raise Rule("crs", f"is not a known coordinate reference system: {crs!r} (use an EPSG code such as EPSG:32630)") from None
    unit = c.axis_info[0].unit_name if c.axis_info else ""
    if not c.is_projected or unit not in ("metre", "meter"):
        raise Rule("crs", f"must be a projected CRS in metres (e.g. the area's UTM zone), got {crs!r} "
                          f"({'geographic' if c.is_geographic else unit or 'no unit'})")


def check_zone(crs: str, ne: list[float], sw: list[float], note: str) -> None:
    """A UTM grid must be the zone of the area's centre (AppEEARS delivers native L2T tiles in it; other zones' pieces
    are reprojected onto it), unless ``note`` says why not."""
    crs = str(crs).upper()
    if not crs.startswith(("EPSG:326", "EPSG:327")) or note:
        return
    lat, lon = (ne[0] + sw[0]) / 2, (ne[1] + sw[1]) / 2
    want = utm_zone_crs(lat, lon)
    need(crs == want, "crs", f"is {crs}, but the area's centre ({lat:.3f}, {lon:.3f}) lies in UTM zone {want[-2:]} ({want}); "
                             f"set area.crs: {want}, or say why not in area.crs_note")


#: the simulator's memory per thermal pixel (bytes): its 10 m truth and surface grids; measured on the demo area
#: (96 x 96 px: 135 MB above the interpreter's own, /usr/bin/time's maximum resident size)
SIM_BYTES_PER_PIXEL = 15_000


def machine_memory_bytes() -> int:
    """This machine's physical memory (bytes)."""
    return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def check_simulation_fits(rows: int, cols: int) -> None:
    """A simulated grid whose simulation would not fit this machine's memory is refused with the figures."""
    need_b, have = SIM_BYTES_PER_PIXEL * rows * cols, machine_memory_bytes()
    need(need_b <= 0.8 * have, "area.shape", f"{rows} x {cols} px would need about {need_b / 2**30:.0f} GiB to simulate "
         f"(~{SIM_BYTES_PER_PIXEL / 1000:.0f} kB per pixel), more than this machine's {have / 2**30:.0f} GiB; choose a "
         "smaller area or a coarser grid")
