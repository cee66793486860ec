"""Daily weather of a simulated area: air-temperature anomalies and rain, and the
surface wetness they leave behind. Temperatures in K, rain in mm, times UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

SPINUP_DAYS = 90


@dataclass
class Weather:
    """Daily series from ``day0`` (a date): anomaly (K) of daily mean air temperature and rain (mm)."""

    day0: dt.date
    anomaly_k: np.ndarray
    rain_mm: np.ndarray

    def index(self, t: dt.datetime) -> float:
        """Fractional day index of a UTC time."""
        return (t.date() - self.day0).days + (t.hour + t.minute / 60) / 24

    def anomaly(self, t: dt.datetime) -> float:
        return float(self.anomaly_k[int(np.clip(self.index(t), 0, len(self.anomaly_k) - 1))])


def make_weather(climate, start: dt.date, end: dt.date, rng: np.random.Generator) -> Weather:
    """AR(1) temperature anomalies (sd ~2.5 K, 0.75 day-to-day correlation) and Bernoulli rain days
    with exponential amounts (mean 7 mm) at the climate's monthly wet-day frequency."""
    day0 = start - dt.timedelta(days=SPINUP_DAYS)
    n = (end - day0).days + 32  # a month past the end: Sentinel passes near the end need it
    phi, sd = 0.75, 2.5
    eps = rng.normal(0, sd * np.sqrt(1 - phi**2), n)
    an = np.empty(n)
    an[0] = rng.normal(0, sd)
    for i in range(1, n):
        an[i] = phi * an[i - 1] + eps[i]
    days = [day0 + dt.timedelta(days=i) for i in range(n)]
    p = np.array([climate.wet_days_per_month[d.month - 1] / 30.4 for d in days])
    rain = np.where(rng.random(n) < p, rng.exponential(7.0, n), 0.0)
    return Weather(day0, an, rain)


def wetness(weather: Weather, t: dt.datetime, drying_days: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Surface wetness (0-1, volumetric-like) at ``t``: recent rain held by each pixel's
    ``capacity`` (0-1) and drained with its e-folding ``drying_days``."""
    now = weather.index(t)
    if not 0 <= now < len(weather.rain_mm):
        raise ValueError(f"{t} is outside the simulated weather ({weather.day0} + {len(weather.rain_mm)} days)")
    lo = max(0, int(now) - 60)
    days = np.arange(lo, int(now) + 1)
    rain = weather.rain_mm[days]
    wet = rain > 0
    if not wet.any():
        return np.zeros_like(capacity, dtype=np.float32)
    dt_days = now - (days[wet] + 0.5)
    dt_days = np.clip(dt_days, 0.05, None)
    amount = np.minimum(1.0, rain[wet] / 12.0)
    s = np.zeros_like(capacity, dtype=np.float64)
    for a, d in zip(amount, dt_days):
        s += a * np.exp(-d / drying_days)
    return (capacity * np.minimum(1.0, s)).astype(np.float32)
