"""Surface temperature from periodic heat conduction with a linearised energy balance.

Each daily harmonic n of the forcing gives T_n = F_n / (B + P √(i n ω)) (Price 1977;
Xue & Cracknell 1995), with P the thermal inertia (J m⁻² K⁻¹ s⁻½), B the linearised
radiative + convective exchange coefficient (W m⁻² K⁻¹), ω = 2π / 86400 s. Forcing is
absorbed sunshine (albedo, evaporation) plus air temperature coupled through B.
Sun position from latitude, day of year and local solar time. Temperatures in K.
"""

from __future__ import annotations

import numpy as np

from rocksoil_nb.core.solar import declination_rad

SIGMA = 5.670374e-8  # W m-2 K-4
SOLAR_CONSTANT = 1361.0  # W m-2
OMEGA = 2 * np.pi / 86400.0  # rad s-1
H_CONV = 9.0  # convective exchange, W m-2 K-1
N_HARMONICS = 8
STEPS = 144  # samples per day for the Fourier analysis








def cos_zenith(doy: float, lat_deg: float, solar_hours) -> np.ndarray:
    """Cosine of the solar zenith angle (negative at night)."""
    d = declination_rad(doy)
    lat = np.deg2rad(lat_deg)
    h = np.deg2rad(15.0 * (np.asarray(solar_hours) - 12.0))
    return np.sin(lat) * np.sin(d) + np.cos(lat) * np.cos(d) * np.cos(h)


def insolation(doy: float, lat_deg: float, solar_hours, transmittance: float = 0.75) -> np.ndarray:
    """Clear-sky global irradiance on a horizontal surface (W m⁻²)."""
    mu = cos_zenith(doy, lat_deg, solar_hours)
    e0 = 1 + 0.033 * np.cos(2 * np.pi * doy / 365.0)
    mu_pos = np.clip(mu, 1e-3, None)
    direct = SOLAR_CONSTANT * e0 * transmittance ** (1.0 / mu_pos) * mu_pos
    diffuse = 0.3 * (1 - transmittance ** (1.0 / mu_pos)) * SOLAR_CONSTANT * e0 * mu_pos * 0.5
    return np.where(mu > 0, direct + diffuse, 0.0)


def harmonics(series: np.ndarray) -> np.ndarray:
    """Complex harmonics c_0..c_N of a daily series sampled at ``STEPS`` equal steps from 00:00,
    such that series(τ) = Re Σ c_n exp(i n ω τ)."""
    f = np.fft.rfft(series) / len(series)
    c = f[: N_HARMONICS + 1].copy()
    c[1:] *= 2
    return c


class DailyForcing:
    """Forcing of one day at one place: sunshine and air temperature harmonics (solar time)."""

    def __init__(self, doy: int, lat_deg: float, air_mean_k: float, air_range_k: float, transmittance: float, sky_emissivity: float):
        tau = np.arange(STEPS) * 24.0 / STEPS
        self.doy, self.lat = doy, lat_deg
        self.sun = insolation(doy, lat_deg, tau, transmittance)
        self.s_hat = harmonics(self.sun)
        air = air_mean_k + 0.5 * air_range_k * np.cos(2 * np.pi * (tau - 15.0) / 24.0)
        self.air = air
        self.a_hat = harmonics(air)
        self.air_mean = air_mean_k
        self.sky_emissivity = sky_emissivity

    def air_at(self, hours: float) -> float:
        return float(_evaluate(self.a_hat, hours))

    def sun_at(self, hours: float) -> float:
        return float(max(0.0, _evaluate(self.s_hat, hours)))


def _evaluate(c: np.ndarray, hours) -> np.ndarray:
    n = np.arange(len(c))
    phase = np.exp(1j * np.multiply.outer(np.asarray(hours) * 3600.0 * OMEGA, n))
    return np.real(phase @ c)


def soil_temperature(forcing: DailyForcing, hours, inertia, albedo, emissivity, evap_fraction) -> np.ndarray:
    """Bare-surface temperature (K) at local solar ``hours`` for per-pixel thermal inertia
    (J m⁻² K⁻¹ s⁻½), albedo, emissivity and evaporative fraction (0-1 of absorbed sunshine).

    ``hours`` may be a scalar (one scene) or an array broadcastable with the parameters.
    """
    P = np.asarray(inertia, dtype=np.float64)
    A = np.asarray(albedo, dtype=np.float64)
    eps = np.asarray(emissivity, dtype=np.float64)
    beta = np.asarray(evap_fraction, dtype=np.float64)
    ta = forcing.air_mean
    B = 4 * eps * SIGMA * ta**3 + H_CONV
    lw_net = eps * SIGMA * ta**4 * (1 - forcing.sky_emissivity)
    absorbed = (1 - A) * (1 - beta)
    t = ta + (absorbed * forcing.s_hat[0].real - lw_net) / B
    hrs = np.asarray(hours, dtype=np.float64)
    for n in range(1, N_HARMONICS + 1):
        g = P * np.sqrt(n * OMEGA / 2.0) * (1 + 1j)
        tn = (absorbed * forcing.s_hat[n] + B * forcing.a_hat[n]) / (B + g)
        t = t + np.real(tn * np.exp(1j * n * OMEGA * hrs * 3600.0))
    return t


def canopy_temperature(forcing: DailyForcing, hours: float) -> float:
    """Temperature (K) of a transpiring canopy: near air temperature, a little warmer in sunshine."""
    return forcing.air_at(hours) + 2.5 * forcing.sun_at(hours) / 1000.0 - 0.8


def mix_radiometric(t_a, eps_a, t_b, eps_b, frac_b):
    """Radiometric temperature and emissivity of a pixel with a fraction ``frac_b`` of surface b."""
    eps = (1 - frac_b) * eps_a + frac_b * eps_b
    rad = (1 - frac_b) * eps_a * t_a**4 + frac_b * eps_b * t_b**4
    return (rad / eps) ** 0.25, eps
