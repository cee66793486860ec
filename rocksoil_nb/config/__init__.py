"""Area parameters and run profiles: the typed schema, loading with validation, and the path layout.

from rocksoil_nb import config
cfg = config.load("demo", "quick")     # parameters/demo.yaml + the quick profile, validated
cfg.layout.cube                         # every path comes from cfg.layout
"""

from rocksoil_nb.config.layout import Layout, RunName
from rocksoil_nb.config.load import ParameterError, available_areas, known_profiles, load, project_root, summary, to_dict
from rocksoil_nb.config.schema import (
    Acquisition,
    Area,
    AreaConfig,
    ClassSettings,
    Hyperparameters,
    Patches,
    Period,
    Preprocess,
    Profile,
    SceneFilter,
)
from rocksoil_nb.config.simulator import Climate, Geology, Scenes, Simulator

__all__ = [
    "Acquisition",
    "Area",
    "AreaConfig",
    "ClassSettings",
    "Climate",
    "Geology",
    "Hyperparameters",
    "Layout",
    "known_profiles",
    "ParameterError",
    "Patches",
    "Period",
    "Preprocess",
    "Profile",
    "RunName",
    "SceneFilter",
    "Scenes",
    "Simulator",
    "available_areas",
    "load",
    "project_root",
    "summary",
    "to_dict",
]
