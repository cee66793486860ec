"""Thermal signatures per class (04_signatures) and the sand-versus-clay hypotheses (thesis §1.4).

From the cube and the labels: each class's LST per date (median and interquartile range over its
valid pixels), split by day/night and season; per class, the diurnal amplitude (median day LST minus
median night LST, K) and seasonal amplitude (median summer LST minus median winter LST, K), with
bootstrap confidence intervals over dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes
from rocksoil_nb.prepare import cube, patches


def class_series(cube_ds, labels: np.ndarray, band: str | None = None, min_pixels: int = 20) -> pd.DataFrame:
    """Long table: time_utc, date_idx, code, class, median, q25, q75, pixels, daynight, season, band (values in the
    band's units). ``band`` None or ``LST``: the cube's temperature band (LST_err in a thesis import, which holds no
    LST). Where the cube does not know a pass's date, day/night or season they are NaT / ``unknown``."""
    band = cube.temperature_band(cube_ds) if band in (None, "LST") else band
    data = cube_ds["data"].sel(band=band).values
    valid = cube_ds["valid"].values.astype(bool)
    times = pd.to_datetime(cube_ds["time"].values).tz_localize("UTC")
    known = cube.flags_known(cube_ds)
    day_of = {True: "day", False: "night"} if "is_day" in known else {True: "unknown", False: "unknown"}
    season_of = {True: "summer", False: "winter"} if "is_summer" in known else {True: "unknown", False: "unknown"}
    is_day, is_summer = cube_ds["is_day"].values, cube_ds["is_summer"].values
    rows = []
    for k in np.unique(labels):
        if k == classes.NODATA:
            continue
        m = labels == k
        for i in range(len(times)):
            v = data[i][m & valid[i]]
            v = v[np.isfinite(v)]
            if v.size < min_pixels:
                continue
            q25, med, q75 = np.percentile(v, [25, 50, 75])
            rows.append({"time_utc": times[i], "date_idx": i, "code": int(k), "class": classes.NAMES[int(k)], "median": med,
                         "q25": q25, "q75": q75, "pixels": int(v.size), "daynight": day_of[bool(is_day[i])],
                         "season": season_of[bool(is_summer[i])], "band": band})
    return pd.DataFrame(rows)


def _boot_diff(a: np.ndarray, b: np.ndarray, rng, n: int = 1000) -> tuple[float, float, float]:
    if len(a) == 0 or len(b) == 0:
        return np.nan, np.nan, np.nan
    d = [np.median(rng.choice(a, len(a))) - np.median(rng.choice(b, len(b))) for _ in range(n)]
    return float(np.median(a) - np.median(b)), float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))


def amplitudes(series: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per class: diurnal amplitude (day − night median LST) and seasonal amplitude (summer − winter), K,
    with 95 % bootstrap intervals over dates; the same per season for the diurnal amplitude."""
    rng = np.random.default_rng(seed)
    rows = []
    for (code, name), g in series.groupby(["code", "class"]):
        day, night = g.loc[g["daynight"] == "day", "median"].to_numpy(), g.loc[g["daynight"] == "night", "median"].to_numpy()
        summ, wint = g.loc[g["season"] == "summer", "median"].to_numpy(), g.loc[g["season"] == "winter", "median"].to_numpy()
        d, dlo, dhi = _boot_diff(day, night, rng)
        s, slo, shi = _boot_diff(summ, wint, rng)
        rec = {"code": code, "class": name, "dates": len(g), "diurnal_K": d, "diurnal_lo": dlo, "diurnal_hi": dhi,
               "seasonal_K": s, "seasonal_lo": slo, "seasonal_hi": shi}
        for season in ("summer", "winter"):
            gs = g[g["season"] == season]
            rec[f"diurnal_{season}_K"] = _boot_diff(gs.loc[gs["daynight"] == "day", "median"].to_numpy(),
                                                     gs.loc[gs["daynight"] == "night", "median"].to_numpy(), rng)[0]
        rows.append(rec)
    return pd.DataFrame(rows).round(2)


def sand_vs_clay(amp: pd.DataFrame) -> pd.DataFrame:
    """The thesis hypotheses tested: sand's diurnal (and seasonal) amplitude exceeds clay's (thesis §1.4)."""
    if not {1, 2} <= set(amp["code"]):
        return pd.DataFrame([{"hypothesis": "sand vs clay", "result": "sand or clay absent from this area's labels"}])
    s, c = amp.set_index("code").loc[1], amp.set_index("code").loc[2]
    rows = []
    for what, col in (("diurnal amplitude: sand > clay", "diurnal"), ("seasonal amplitude: sand > clay", "seasonal")):
        diff = s[f"{col}_K"] - c[f"{col}_K"]
        separated = s[f"{col}_lo"] > c[f"{col}_hi"]
        verdict = "supported" if separated else ("same direction, intervals overlap" if diff > 0 else "not supported")
        rows.append({"hypothesis": what, "sand_K": s[f"{col}_K"], "clay_K": c[f"{col}_K"], "difference_K": round(diff, 2),
                     "result": verdict})
    return pd.DataFrame(rows)


def class_values(cube_ds, labels: np.ndarray, code: int, t: int, band: str | None = None) -> np.ndarray:
    """The values behind one point of a signature: the valid, finite pixels of class ``code`` at cube date ``t``
    (``band`` None: the temperature band)."""
    band = cube.temperature_band(cube_ds) if band in (None, "LST") else band
    v = cube_ds["data"].sel(band=band)[t].values[(labels == code) & cube_ds["valid"][t].values.astype(bool)]
    return v[np.isfinite(v)]


def describe_point(cube_ds, labels: np.ndarray, series: pd.DataFrame, i: int = 0) -> str:
    """One point of a signature in words: class, pass (UTC time or date index), pixels, median and quartiles."""
    r = series.iloc[i]
    t = int(r["date_idx"])
    v = class_values(cube_ds, labels, int(r["code"]), t, r["band"])
    when = f"{r['time_utc']:%Y-%m-%d %H:%M} UTC" if not pd.isna(r["time_utc"]) else f"date_idx {t}, date not published"
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    return (f"{r['class']}, pass {t} ({when}): {v.size} valid pixels, {r['band']} median {med:.2f} K, "
            f"interquartile range {q25:.2f}-{q75:.2f} K")


#: the whole-series features shown in 04 with their units (see rocksoil_nb.learn.series_features)
SHOWN_FEATURES = {"day_minus_night": "K", "anomaly_sd": "K", "harmonic_amp": "K", "harmonic_mean": "K", "emis_mean": "0-1",
                  "emis_sd": "0-1", "vv_mean": "dB", "vh_mean": "dB"}


def series_features(cfg: AreaConfig, variant: str | None = None, per_class: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Long table (code, class, feature, unit, value) of the ``pixel_series`` baseline's features of every pixel over all
    of the variant's passes, at most ``per_class`` pixels per class (seeded sample), features that are all NaN left out."""
    variant = patches.primary_variant(cfg, variant)
    from rocksoil_nb.learn.series_baseline import cube_features
    from rocksoil_nb.prepare.steps import load_labels

    path = cfg.layout.cube_for(variant)
    ds = cube.open_cube(path)
    times = patches.variant_times(cube.pass_flags(ds), variant, cube.flags_known(ds))
    bands = cube.resolve_bands(cube.band_names(ds), patches.VARIANTS[variant]["bands"])
    f, names = cube_features(path, times, bands)
    labels = load_labels(cfg)
    rng = np.random.default_rng(seed)
    rows = []
    for k in np.unique(labels):
        if k == classes.NODATA:
            continue
        idx = np.flatnonzero((labels == k).ravel())
        if len(idx) > per_class:
            idx = rng.choice(idx, per_class, replace=False)
        block = f.reshape(-1, len(names))[idx]
        for j, name in enumerate(names):
            if name in SHOWN_FEATURES:
                rows.append(pd.DataFrame({"code": int(k), "class": classes.NAMES[int(k)], "feature": name,
                                          "unit": SHOWN_FEATURES[name], "value": block[:, j]}))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["code", "class", "feature", "unit", "value"])
    out = out[np.isfinite(out["value"])]
    return out.reset_index(drop=True)
