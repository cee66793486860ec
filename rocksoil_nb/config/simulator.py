"""The ``simulator`` section of an area's parameters: climate, geology recipe and which passes to write
(see :mod:`rocksoil_nb.simulate`). Lengths in metres, temperatures in K, class codes 0-13."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


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

    dates: Literal["orbit", "appendix_c"] = "orbit"  # "appendix_c" (thesis Appendix C list + rejected passes) or "orbit"
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
