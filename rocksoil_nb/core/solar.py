"""Sun position and the calendar rules of the thesis: local solar time, day/night and seasons.

Times are UTC (timezone-aware or naive UTC); longitudes in degrees east; hours 0-24.
"""

from __future__ import annotations

import datetime as dt

import numpy as np


def equation_of_time_min(doy: float) -> float:
    """Equation of time (minutes) for a day of year (Spencer 1971)."""
    b = 2 * np.pi * (doy - 1) / 365.0
    return 229.18 * (0.000075 + 0.001868 * np.cos(b) - 0.032077 * np.sin(b) - 0.014615 * np.cos(2 * b) - 0.040849 * np.sin(2 * b))


def declination_rad(doy: float) -> float:
    """Solar declination (rad) for a day of year (Spencer 1971)."""
    b = 2 * np.pi * (doy - 1) / 365.0
    return (0.006918 - 0.399912 * np.cos(b) + 0.070257 * np.sin(b) - 0.006758 * np.cos(2 * b)
            + 0.000907 * np.sin(2 * b) - 0.002697 * np.cos(3 * b) + 0.00148 * np.sin(3 * b))


def local_solar_hours(t_utc: dt.datetime, lon_deg: float) -> float:
    """Local apparent solar time (hours, 0-24) at longitude ``lon_deg`` for a UTC time."""
    h = t_utc.hour + t_utc.minute / 60 + t_utc.second / 3600
    doy = t_utc.timetuple().tm_yday
    return float((h + lon_deg / 15.0 + equation_of_time_min(doy) / 60.0) % 24.0)


def season_thesis(d: dt.date) -> str:
    """'summer' from 22 March to 21 September, else 'winter' (thesis §3.4)."""
    md = (d.month, d.day)
    return "summer" if (3, 22) <= md <= (9, 21) else "winter"


def season4(d: dt.date) -> str:
    """Astronomical season (northern hemisphere, approximate equinox/solstice dates)."""
    md = (d.month, d.day)
    if (3, 20) <= md < (6, 21):
        return "spring"
    if (6, 21) <= md < (9, 22):
        return "summer"
    if (9, 22) <= md < (12, 21):
        return "autumn"
    return "winter"


def day_or_night(t_utc: dt.datetime, lon_deg: float, rule: str = "solar", start: float = 6.0, end: float = 18.0) -> str:
    """'day' when the hour (local solar time, or the UTC clock for ``rule='clock'``) is in [start, end)."""
    if rule == "clock":
        h = t_utc.hour + t_utc.minute / 60 + t_utc.second / 3600
    else:
        h = local_solar_hours(t_utc, lon_deg)
    return "day" if start <= h < end else "night"
