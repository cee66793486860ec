"""Features of each pixel's whole series of kept passes (the ``pixel_series`` baseline; 04 shows them per class).

Every feature is computed per pixel over the valid passes of a set of dates (NaN where too few):

==================  ====  =======================================================================================
feature             unit  meaning
==================  ====  =======================================================================================
anomaly_mean        K     mean of LST minus the scene's median LST (the anomaly removes the weather of the day)
anomaly_sd          K     standard deviation of that anomaly over the passes
day_mean            K     mean anomaly of the day passes
night_mean          K     mean anomaly of the night passes
day_minus_night     K     day_mean - night_mean: how much more than the scene the pixel heats by day than by night
day_sd, night_sd    K     spread of the day / night anomalies
harmonic_mean       K     annual harmonic fit a(t) = m + A cos(wt) + B sin(wt), w = 2 pi / 365.25 d: m
harmonic_amp        K     sqrt(A^2 + B^2): how much the anomaly swings over the year (moisture, vegetation, storage)
harmonic_peak_cos   -     cos and sin of the day of year of the fitted maximum (a circular quantity)
harmonic_peak_sin   -
emis_mean, emis_sd  0-1   broadband emissivity: mean and spread
vv_mean, vh_mean    dB    Sentinel-1 backscatter means (variants with SAR)
vv_sd, vh_sd        dB    and spreads
valid_share         0-1   share of the passes on which the pixel is valid
==================  ====  =======================================================================================

The temperature band is the cube's (LST, or LST_err in a thesis import, whose dates are unknown: the harmonic
and day/night features are then NaN). Day/night comes from the cube's ``is_day`` flags.
"""

from __future__ import annotations

import numpy as np

from rocksoil_nb.prepare.cube import scene_median

OMEGA = 2 * np.pi / 365.25  # rad per day: the annual cycle
MIN_PASSES = 4  # valid passes needed for a harmonic fit or a spread
THERMAL_FEATURES = ("anomaly_mean", "anomaly_sd", "day_mean", "night_mean", "day_minus_night", "day_sd", "night_sd",
                    "harmonic_mean", "harmonic_amp", "harmonic_peak_cos", "harmonic_peak_sin", "emis_mean", "emis_sd")
SAR_FEATURES = ("vv_mean", "vh_mean", "vv_sd", "vh_sd")


def anomaly(temp: np.ndarray, valid: np.ndarray, medians: np.ndarray | None = None) -> np.ndarray:
    """(T, H, W) temperature minus each pass's median over its valid pixels (K); NaN where invalid. ``medians`` (T,):
    the passes' scene medians when ``temp`` is only part of the scene (a strip of rows being mapped)."""
    t = np.where(valid, temp, np.nan).astype(np.float64)
    med = (np.asarray(medians, np.float64) if medians is not None
           else np.array([scene_median(x, v) for x, v in zip(t, valid)], dtype=np.float64))
    return t - med.reshape(-1, *([1] * (t.ndim - 1)))


def _nanmean(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.nansum(a, axis=0) / np.maximum(n, 1), np.nan)


def _nansd(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    m = _nanmean(a, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.nansum((a - m) ** 2, axis=0) / np.maximum(n - 1, 1)
    return np.where(n >= MIN_PASSES, np.sqrt(v), np.nan)


def harmonic(a: np.ndarray, doy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares fit of a(t) = m + A cos(w doy) + B sin(w doy) per pixel over its finite values.

    ``a`` (T, ...) with NaN for missing, ``doy`` (T,) day of year (fractional). Returns mean m (units of a),
    amplitude sqrt(A^2 + B^2) and the day of year of the fitted maximum (0-365.25); NaN where fewer than
    :data:`MIN_PASSES` values or the dates do not span enough of the year to separate A and B.
    """
    a = np.asarray(a, dtype=np.float64)
    shape = a.shape[1:]
    a2 = a.reshape(len(a), -1)
    m = np.isfinite(a2)
    x = np.stack([np.ones_like(doy, dtype=np.float64), np.cos(OMEGA * doy), np.sin(OMEGA * doy)], axis=1)  # (T, 3)
    xtx = np.einsum("ti,tj,tp->pij", x, x, m.astype(np.float64))  # (P, 3, 3)
    xta = np.einsum("ti,tp->pi", x, np.where(m, a2, 0.0))  # (P, 3)
    ok = (m.sum(0) >= MIN_PASSES) & (np.abs(np.linalg.det(xtx)) > 1e-6 * np.maximum(m.sum(0), 1) ** 3)
    beta = np.full((a2.shape[1], 3), np.nan)
    if ok.any():
        beta[ok] = np.linalg.solve(xtx[ok], xta[ok][..., None])[..., 0]
    mean, amp = beta[:, 0], np.hypot(beta[:, 1], beta[:, 2])
    peak = np.mod(np.arctan2(beta[:, 2], beta[:, 1]) / OMEGA, 365.25)
    return mean.reshape(shape), amp.reshape(shape), peak.reshape(shape)


def pixel_features(temp: np.ndarray, emis: np.ndarray, valid: np.ndarray, is_day: np.ndarray | None, doy: np.ndarray | None,
                   vv: np.ndarray | None = None, vh: np.ndarray | None = None, medians: np.ndarray | None = None
                   ) -> tuple[np.ndarray, list[str]]:
    """(H, W, F) float32 features of every pixel over the given passes, and their names (see the module table).

    ``temp``, ``emis``, ``valid`` (T, H, W); ``is_day`` (T,) bool or None when unknown; ``doy`` (T,) day of year or
    None when the dates are unknown; ``vv``/``vh`` (T, H, W) dB or None (no SAR); ``medians`` (T,) the passes' scene
    medians of ``temp`` (K) where the arrays are a part of the scene (see :func:`anomaly`)."""
    valid = np.asarray(valid, bool)
    a = anomaly(temp, valid, medians)
    n = valid.sum(0)
    f: dict[str, np.ndarray] = {"anomaly_mean": _nanmean(a, n), "anomaly_sd": _nansd(a, n)}
    if is_day is not None:
        d, nn = np.asarray(is_day, bool), ~np.asarray(is_day, bool)
        nd, nn_ = valid[d].sum(0), valid[nn].sum(0)
        f["day_mean"], f["night_mean"] = _nanmean(a[d], nd), _nanmean(a[nn], nn_)
        f["day_sd"], f["night_sd"] = _nansd(a[d], nd), _nansd(a[nn], nn_)
    else:
        f["day_mean"] = f["night_mean"] = f["day_sd"] = f["night_sd"] = np.full(n.shape, np.nan)
    f["day_minus_night"] = f["day_mean"] - f["night_mean"]
    if doy is not None:
        mean, amp, peak = harmonic(a, np.asarray(doy, dtype=np.float64))
        f["harmonic_mean"], f["harmonic_amp"] = mean, amp
        f["harmonic_peak_cos"], f["harmonic_peak_sin"] = np.cos(OMEGA * peak), np.sin(OMEGA * peak)
    else:
        for k in ("harmonic_mean", "harmonic_amp", "harmonic_peak_cos", "harmonic_peak_sin"):
            f[k] = np.full(n.shape, np.nan)
    e = np.where(valid, emis, np.nan)
    f["emis_mean"], f["emis_sd"] = _nanmean(e, n), _nansd(e, n)
    names = list(THERMAL_FEATURES)
    if vv is not None and vh is not None:
        for name, band in (("vv", vv), ("vh", vh)):
            fin = np.isfinite(band)
            k = fin.sum(0)
            f[f"{name}_mean"], f[f"{name}_sd"] = _nanmean(np.where(fin, band, np.nan), k), _nansd(np.where(fin, band, np.nan), k)
        names += list(SAR_FEATURES)
    f["valid_share"] = n / max(len(valid), 1)
    names.append("valid_share")
    return np.stack([f[k] for k in names], axis=-1).astype(np.float32), names


def focal_means(f: np.ndarray, names: list[str], sizes: tuple[int, ...]) -> tuple[np.ndarray, list[str]]:
    """``f`` (H, W, F) with, for each side in ``sizes`` (pixels, odd), every feature's mean over the size × size
    neighbourhood of each pixel (its valid values only; NaN where none): the "focal statistics" that carry spatial
    context into a per-pixel classifier (Cracknell & Reading 2015). Names get ``_focal<side>``."""
    from scipy.ndimage import uniform_filter

    if not sizes:
        return f, list(names)
    ok = np.isfinite(f)
    v = np.where(ok, f, 0.0).astype(np.float64)
    parts, out_names = [f], list(names)
    for side in sizes:
        win = (int(side), int(side), 1)
        total = uniform_filter(v, size=win, mode="constant")
        count = uniform_filter(ok.astype(np.float64), size=win, mode="constant")
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append(np.where(count > 1e-9, total / np.maximum(count, 1e-12), np.nan).astype(np.float32))
        out_names += [f"{n}_focal{side}" for n in names]
    return np.concatenate(parts, axis=-1), out_names
