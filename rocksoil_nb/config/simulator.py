"""The ``simulator`` section of an area's parameters: climate, geology recipe and which passes to write
(see :mod:`rocksoil_nb.simulate`). Lengths in metres, temperatures in K, class codes 0-13."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass

from rocksoil_nb.config.rules import SECTION, Count, Fraction, Int, Num, need

Monthly = Annotated[list[Num], Field(min_length=12, max_length=12)]


@dataclass(config=SECTION)
class Climate:
    """Per-area climate for the simulator (air temperature in K, rain in wet days per month)."""

    air_temp_mean_k: Num = Field(description="annual mean 2 m air temperature, K")
    air_temp_annual_amp_k: Num = Field(ge=0, description="half the July-January difference, K")
    diurnal_range_k: list[Num] = Field(min_length=2, max_length=2, description="[winter, summer] daily max-min air temperature, K")
    wet_days_per_month: Monthly = Field(description="12 values, Jan-Dec")
    cloudiness: Monthly = Field(description="12 values, mean cloud fraction of a pass, Jan-Dec")
    vegetation: Fraction = Field(description="0-1 scale of the area's vegetation cover")
    green_peak_doy: Int = Field(ge=1, le=366, description="day of year of the herbaceous green peak")
    humidity: Fraction = Field(description="0-1, scales atmospheric-correction error (LST_err)")


@dataclass(config=SECTION)
class Geology:
    """Recipe for the simulated "true" geology (lengths in metres, class codes 0-13)."""

    column: list[list[Num]] = Field(description="stratigraphic column bottom→top: [class code 1-12, map-view thickness m]")
    strike_deg: Num = Field(30.0, description="strike of the layering, degrees clockwise from north")
    fold_wavelength_m: Num = Field(6000.0, gt=0, description="wavelength of the folds, m")
    fold_amplitude_m: Num = Field(600.0, ge=0, description="amplitude of the folds, m")
    warp_m: Num = Field(250.0, ge=0, description="amplitude of the random warp of the contacts, m")
    plutons: Count = Field(0, description="number of granite plutons")
    pluton_radius_m: Num = Field(2000.0, ge=0, description="pluton radius, m")
    aureole_m: Num = Field(400.0, ge=0, description="width of the contact aureole around a pluton, m")
    foliated_belt_m: Num = Field(0.0, ge=0, description="width of a foliated (slate/schist) belt, 0 = none")
    volcanic_centres: Count = Field(0, description="number of volcanic centres")
    volcanic_radius_m: Num = Field(300.0, ge=0, description="radius of a volcanic centre, m")
    rivers: Count = Field(1, description="number of rivers with alluvium")
    alluvium_m: Num = Field(400.0, ge=0, description="width of a river's alluvium, m")
    peat_hollows: Count = Field(0, description="number of peat hollows")
    peat_radius_m: Num = Field(150.0, ge=0, description="radius of a peat hollow, m")
    reservoir_radius_m: Num = Field(0.0, ge=0, description="radius of a reservoir (water), m; 0 = none")
    covers: list[list[Num]] = Field(default_factory=list, description="[host code, soil code, area fraction]")
    unmapped_fraction: Fraction = Field(0.02, description="share of the map sheet left without a polygon (class 0)")
    map_displacement_m: Num = Field(60.0, ge=0, description="georeferencing error of the digitised map")
    map_min_area_m2: Num = Field(40000.0, ge=0, description="smallest polygon a 1:50,000 map shows")

    @model_validator(mode="after")
    def _rows(self):
        for i, row in enumerate(self.column):
            need(len(row) == 2 and int(row[0]) == row[0] and 0 < row[0] < 13, f"column[{i}]",
                 f"must be [class code 1-12, thickness m], got {row}")
        for i, row in enumerate(self.covers):
            need(len(row) == 3, f"covers[{i}]", f"must be [host code, soil code, fraction], got {row}")
        return self


@dataclass(config=SECTION)
class Scenes:
    """Which ECOSTRESS passes the simulator writes."""

    dates: Literal["orbit", "appendix_c"] = Field("orbit", description="appendix_c (thesis Appendix C list + rejected passes) "
                                                                       "or orbit")
    passes: Count = Field(40, description="number of passes for orbit mode")
    rejected_passes: Count = Field(0, description="extra cloudy/degraded passes added to an Appendix C list")
    grid_jitter_fraction: Fraction = Field(0.05, description="share of scenes whose AppEEARS crop is shifted by a pixel")
    stripe_fraction: Fraction = Field(0.15, description="share of scenes with missing-stripe lines")
    swath_edge_fraction: Fraction = Field(0.08, description="share of scenes cut by the swath edge")
    fine_pixel_m: Num = Field(30.0, gt=0, description="grid spacing of the Sentinel-1/2 exports, m")
    sar_window_days: Count = Field(1, description="S1 acquisitions within this many days of a thermal pass are exported")
    ndvi_window_days: Count = Field(8, description="S2 NDVI within this many days of a thermal pass is exported")

    @model_validator(mode="after")
    def _passes(self):
        need(self.passes > 0 or self.dates != "orbit", "passes", f"must be a positive number of passes, got {self.passes}")
        return self


@dataclass(config=SECTION)
class Simulator:
    """Offline scene simulator settings (see ``rocksoil_nb.simulate``)."""

    seed: Annotated[Int, Field(description="seed of every random draw of the simulation")]
    climate: Climate
    geology: Geology
    scenes: Scenes = Field(default_factory=Scenes)
