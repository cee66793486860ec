"""What the sensors make of the simulated surface: ECOSTRESS L2T layers with clouds,
stripes, swath edges, retrieval errors and QC words; Sentinel-1 backscatter (dB);
Sentinel-2 NDVI. Temperatures in K.
"""

from __future__ import annotations

import numpy as np

from rocksoil_nb.core import ecostress
from rocksoil_nb.simulate.noise import smooth_field, threshold_for_fraction

CANOPY_EMISSIVITY = 0.985


# --------------------------------------------------------------------------- vegetation


def phenology(doy: int, peak_doy: int, evergreen: float, year_shift: float) -> np.ndarray:
    """NDVI of full green cover for the 4 cover kinds (natural, winter cereal, summer crop, fallow)."""

    def bump(centre, width):
        d = (doy - centre - year_shift + 182.5) % 365 - 182.5
        return float(np.exp(-((d / width) ** 2)))

    natural = 0.35 + 0.3 * evergreen + 0.3 * bump(peak_doy, 60)
    cereal = 0.22 + 0.6 * bump(105, 38)
    summer = 0.20 + 0.62 * bump(205, 35)
    fallow = 0.22 + 0.2 * bump(peak_doy, 45)
    return np.array([natural, cereal, summer, fallow], dtype=np.float32)


def ndvi(cover: np.ndarray, water: np.ndarray, wet: np.ndarray, doy: int, peak_doy: int, evergreen: float,
         year_shift: float) -> np.ndarray:
    """NDVI of pixels from cover per kind (K, rows, cols): cover × phenology + the soil line
    (darker when wet); open water is negative."""
    veg = phenology(doy, peak_doy, evergreen, year_shift)
    total = cover.sum(axis=0)
    soil = 0.14 + 0.06 * wet
    v = np.tensordot(veg, cover, axes=1) + (1 - total) * soil
    return (v * (1 - water) + (-0.12) * water).astype(np.float32)


def green_fraction(ndvi_values: np.ndarray) -> np.ndarray:
    """Fractional green cover from NDVI (scaled NDVI squared, Carlson & Ripley 1997)."""
    return np.clip((ndvi_values - 0.15) / (0.86 - 0.15), 0, 1) ** 2


# --------------------------------------------------------------------------- ECOSTRESS


def ecostress_layers(lst_true, emis_true, water_frac, air_k, humidity, cloud_fraction, rng, *,
                     stripes: bool, swath_edge: bool, degraded: bool) -> tuple[dict[str, np.ndarray], dict]:
    """The L2T layers of one pass: LST, LST_err (K), EmisWB (float32, NaN nodata), QC (uint16,
    65535 fill), cloud and water (uint8, 255 fill). Returns (layers, facts about the pass)."""
    rows, cols = lst_true.shape
    shape = (rows, cols)
    lst = lst_true.astype(np.float64).copy()
    emis = emis_true.astype(np.float64).copy()
    # atmospheric correction error: scene bias + smooth field + pixel noise (TES/NEdT)
    bias = rng.normal(0, 0.4 + 1.0 * humidity)
    field = smooth_field(shape, rng.uniform(40, 120), rng) * (0.3 + 0.8 * humidity)
    lst += bias + field + rng.normal(0, 0.35, shape)
    emis += rng.normal(0, 0.004, 1) + rng.normal(0, 0.009, shape)
    lst_err = 0.6 + 0.9 * humidity + 0.25 * np.abs(field) + rng.gamma(4, 0.04, shape)
    mandatory = np.where(rng.random(shape) < 0.1, 1, 0)
    dq = np.zeros(shape, dtype=np.int64)
    # humid-atmosphere degradation: patches of nominal-quality pixels with poor LST accuracy
    if degraded:
        d = smooth_field(shape, rng.uniform(30, 90), rng)
        poor = d > threshold_for_fraction(d, rng.uniform(0.15, 0.6))
        lst[poor] += rng.normal(0, 1.5, int(poor.sum()))
        lst_err[poor] = rng.uniform(2.1, 3.5, int(poor.sum()))
        mandatory[poor] = 1
    # clouds: coherent fields, cold tops; edges stay unflagged but contaminated
    cloud = np.zeros(shape, dtype=np.uint8)
    if cloud_fraction > 0.001:
        c = smooth_field(shape, rng.uniform(25, 80), rng)
        cloud = (c > threshold_for_fraction(c, cloud_fraction)).astype(np.uint8)
        from scipy import ndimage

        edge = ndimage.binary_dilation(cloud.astype(bool), iterations=2) & ~cloud.astype(bool)
        lst[edge] -= rng.uniform(0.5, 5.0, int(edge.sum()))
        lst_err[edge] += 1.0
        n = int(cloud.sum())
        lst[cloud == 1] = air_k - rng.uniform(15, 40) + rng.normal(0, 2.0, n)
        emis[cloud == 1] = 0.975 + rng.normal(0, 0.01, n)
        mandatory[cloud == 1] = 2
    emis = np.clip(emis, 0.85, 0.999)
    lst_acc = np.select([lst_err < 1.0, lst_err < 1.5, lst_err < 2.0], [3, 2, 1], 0)
    emis_acc = np.where(rng.random(shape) < 0.2 + 0.5 * humidity, 1, 2)
    mmd = np.select([emis < 0.945, emis < 0.958, emis < 0.975], [0, 1, 2], 3)
    opacity = int(np.clip(3 - np.floor(humidity * 4), 0, 3))
    iterations = np.where(rng.random(shape) < 0.85, 3, 2)
    not_produced = np.zeros(shape, dtype=bool)
    if stripes:
        ang = np.deg2rad(rng.uniform(-25, -5))
        rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        spacing, width = rng.uniform(18, 50), rng.integers(1, 3)
        stripe = np.mod(rr * np.cos(ang) + cc * np.sin(ang) + rng.uniform(0, spacing), spacing) < width
        not_produced |= stripe
        dq[stripe] = 1
        mandatory[stripe] = 3
    fill = np.zeros(shape, dtype=bool)
    if swath_edge:
        ang = rng.uniform(0, 2 * np.pi)
        rr, cc = np.meshgrid(np.arange(rows) / rows - 0.5, np.arange(cols) / cols - 0.5, indexing="ij")
        proj = rr * np.cos(ang) + cc * np.sin(ang)
        fill = proj > np.quantile(proj, 1 - rng.uniform(0.1, 0.7))
    qc = ecostress.pack_qc(mandatory=mandatory, data_quality=dq, iterations=iterations, atmos_opacity=opacity,
                           mmd=mmd, emis_accuracy=emis_acc, lst_accuracy=lst_acc)
    missing = not_produced | fill
    lst[missing] = np.nan
    emis[missing] = np.nan
    lst_err[missing] = np.nan
    qc[fill] = ecostress.QC_FILL
    water = (water_frac > 0.5).astype(np.uint8)
    cloud[fill] = 255
    water[fill] = 255
    layers = {
        "LST": lst.astype(np.float32),
        "LST_err": lst_err.astype(np.float32),
        "QC": qc.astype(np.uint16),
        "EmisWB": emis.astype(np.float32),
        "cloud": cloud,
        "water": water,
    }
    facts = {"bias_k": float(bias), "cloud_fraction_true": float((cloud == 1).mean()), "fill_fraction": float(fill.mean()),
             "stripe_fraction": float(not_produced.mean())}
    return layers, facts


# --------------------------------------------------------------------------- Sentinel-1


def sar_backscatter(wet, roughness_db, cover, water, incidence_deg, rng, looks: float = 18.0):
    """(VV, VH) in dB from a water-cloud model (Attema & Ulaby 1978) with multiplicative speckle.

    Soil: σ⁰ rises ~22 dB per unit wetness and with roughness; vegetation adds a volume
    term and attenuates the soil (two-way transmissivity γ² = exp(-2 b V / cos θ)).
    """
    cos_t = np.cos(np.deg2rad(incidence_deg))
    v = cover
    out = []
    for pol, a, b, soil_off in (("VV", 0.12, 0.45, 0.0), ("VH", 0.035, 0.35, -7.5)):
        soil_db = -15.5 + soil_off + roughness_db + 22.0 * wet - 8.0 * (cos_t - 0.8)
        gamma2 = np.exp(-2 * b * v / cos_t)
        lin = a * v * cos_t * (1 - gamma2) + gamma2 * 10 ** (soil_db / 10)
        wind = rng.uniform(0, 1)
        water_db = (-23.0 + 9.0 * wind) if pol == "VV" else (-29.0 + 5.0 * wind)
        lin = np.where(water > 0.5, 10 ** (water_db / 10), lin)
        lin = lin * rng.gamma(looks, 1.0 / looks, lin.shape)
        out.append((10 * np.log10(np.maximum(lin, 1e-6))).astype(np.float32))
    return out[0], out[1]
