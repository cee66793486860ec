"""The 14-class rock and soil taxonomy of the thesis (codes are fixed), with colours and legends.

Every map in the workbook takes its colours, names and legend from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RockSoilClass:
    """One class of the taxonomy: fixed integer code, name, group and display colour."""

    code: int
    name: str
    group: str  # "other", "soil" or "rock"
    subgroup: str  # e.g. "sedimentary" for rocks, "" otherwise
    color: str  # hex RGB


CLASSES: tuple[RockSoilClass, ...] = (
    RockSoilClass(0, "No data", "other", "", "#000000"),
    RockSoilClass(1, "Sand", "soil", "", "#f4e285"),
    RockSoilClass(2, "Clay", "soil", "", "#b5651d"),
    RockSoilClass(3, "Chalk", "soil", "", "#f2f2f2"),
    RockSoilClass(4, "Silt", "soil", "", "#c9b18a"),
    RockSoilClass(5, "Peat", "soil", "", "#4b3621"),
    RockSoilClass(6, "Loam", "soil", "", "#8f9779"),
    RockSoilClass(7, "Detritic", "rock", "sedimentary", "#e07a5f"),
    RockSoilClass(8, "Carbonate", "rock", "sedimentary", "#81b1d5"),
    RockSoilClass(9, "Volcanic", "rock", "igneous", "#d62828"),
    RockSoilClass(10, "Plutonic", "rock", "igneous", "#f28ab2"),
    RockSoilClass(11, "Foliated", "rock", "metamorphic", "#6a4c93"),
    RockSoilClass(12, "Non-foliated", "rock", "metamorphic", "#2a9d8f"),
    RockSoilClass(13, "Water", "other", "", "#1d4ed8"),
)

N_CLASSES: int = len(CLASSES)
NODATA: int = 0
WATER: int = 13
CODES: tuple[int, ...] = tuple(c.code for c in CLASSES)
NAMES: dict[int, str] = {c.code: c.name for c in CLASSES}
SOILS: tuple[int, ...] = tuple(c.code for c in CLASSES if c.group == "soil")
ROCKS: tuple[int, ...] = tuple(c.code for c in CLASSES if c.group == "rock")


def name(code: int) -> str:
    """Return the class name for an integer code; raise ``ValueError`` for unknown codes."""
    if code not in NAMES:
        raise ValueError(f"unknown class code {code!r}: valid codes are 0-{N_CLASSES - 1}")
    return NAMES[code]


def code_of(class_name: str) -> int:
    """Return the code of a class name (case-insensitive, '-'/'_'/' ' are equivalent)."""
    key = class_name.strip().lower().replace("_", "-").replace(" ", "-")
    for c in CLASSES:
        if c.name.lower().replace(" ", "-") == key:
            return c.code
    raise ValueError(f"unknown class name {class_name!r}: valid names are {[c.name for c in CLASSES]}")


def rgb_table() -> dict[int, tuple[int, int, int, int]]:
    """Colour table {code: (r, g, b, alpha)} for embedding in GeoTIFFs (``write_colormap``)."""
    table = {}
    for c in CLASSES:
        h = c.color.lstrip("#")
        table[c.code] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
    return table


def colormap():
    """``(ListedColormap, BoundaryNorm)`` with exactly 14 colours, one per code 0-13."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cmap = ListedColormap([c.color for c in CLASSES], name="rocksoil")
    norm = BoundaryNorm(np.arange(-0.5, N_CLASSES + 0.5, 1.0), cmap.N)
    return cmap, norm


def legend_handles(codes=None):
    """Legend patches (matplotlib) for the given codes, default all 14, labelled 'code name'."""
    from matplotlib.patches import Patch

    wanted = CODES if codes is None else sorted({int(c) for c in codes})
    return [Patch(facecolor=NAMES_COLOR[c], edgecolor="0.3", label=f"{c} {NAMES[c]}") for c in wanted]


NAMES_COLOR: dict[int, str] = {c.code: c.color for c in CLASSES}


def table():
    """The taxonomy as a pandas DataFrame (code, name, group, subgroup, colour)."""
    import pandas as pd

    return pd.DataFrame([c.__dict__ for c in CLASSES]).set_index("code")
