"""Run the simulator for an area: write ``data/<aoi>/raw/`` as AppEEARS and Earth Engine
would deliver it, and the truth behind it to ``data/<aoi>/truth/``.

Resumable: every file is written atomically and a pass whose files all exist is skipped;
the manifest is written last. Raw data is immutable: an existing folder written with
other parameters is an error, never silently overwritten.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rocksoil_nb.config import to_dict
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes, ecostress, io
from rocksoil_nb.core.ecostress import task_request
from rocksoil_nb.core.grid import Grid, cover_grid, thermal_grid, window_of
from rocksoil_nb.core.sentinel import s1_name, s2_cloud_mask_text, s2_name
from rocksoil_nb.core.solar import local_solar_hours
from rocksoil_nb.simulate import geology, schedule, sensors, surface, thermal, weather
from rocksoil_nb.simulate.noise import smooth_field, threshold_for_fraction

log = logging.getLogger(__name__)

SIMULATOR_VERSION = "1.3"
MANIFEST = "manifest.json"
RES_TRUE = geology.TRUE_RES_M
GEOLOGY_FILE = "geology/geology_map.gpkg"
GEOLOGY_CRS = "EPSG:25830"  # ETRS89 / UTM 30N, as IGME sheets are digitised


class RawDataConflict(RuntimeError):
    """The raw folder holds data made with other parameters (raw data is immutable)."""


def parameters_hash(cfg: AreaConfig) -> str:
    """Hash of everything that determines the simulated files."""
    blob = json.dumps({"v": SIMULATOR_VERSION, "name": cfg.name, "area": to_dict(cfg.area), "period": to_dict(cfg.period),
                       "simulator": to_dict(cfg.simulator)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _rng(seed: int, stream: int, index: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, stream, index])


def _air(climate, doy: int, anomaly: float) -> tuple[float, float]:
    """(daily mean, daily range) of air temperature, K."""
    season = 0.5 * (1 - np.cos(2 * np.pi * (doy - 15) / 365.0))  # 0 mid-January, 1 mid-July
    mean = climate.air_temp_mean_k - climate.air_temp_annual_amp_k * np.cos(2 * np.pi * (doy - 15) / 365.0) + anomaly
    rng_k = climate.diurnal_range_k[0] + (climate.diurnal_range_k[1] - climate.diurnal_range_k[0]) * season
    return float(mean), float(rng_k)


class AreaModel:
    """The simulated world of one area: geology, surface, weather and the physics of a pass."""

    def __init__(self, cfg: AreaConfig):
        self.cfg = cfg
        sim = cfg.simulator
        self.seed = sim.seed
        self.grid = thermal_grid(cfg.area)
        g = self.grid
        f = int(round(g.res / RES_TRUE))
        self.factor = f
        # fine truth grid: the thermal grid padded by one thermal pixel each side
        self.world = Grid(g.crs, g.x0 - g.res, g.y0 + g.res, RES_TRUE, (g.rows + 2) * f, (g.cols + 2) * f)
        self.fine = cover_grid(g, sim.scenes.fine_pixel_m)
        self.true = geology.true_geology(sim.geology, self.world, _rng(self.seed, 1))
        props = surface.fine_properties(self.true, sim.climate, _rng(self.seed, 2), RES_TRUE)
        self.surface70 = surface.surface_on(props, f, 0, 0, g.rows + 2, g.cols + 2)
        r0, c0 = window_of(self.world, self.fine)
        ff = int(round(self.fine.res / RES_TRUE))
        self.surface_fine = surface.surface_on(props, ff, r0, c0, self.fine.rows, self.fine.cols)
        del props
        self.weather = weather.make_weather(sim.climate, cfg.period.start, cfg.period.end, _rng(self.seed, 3))
        from pyproj import Transformer

        cx, cy = (g.bounds[0] + g.bounds[2]) / 2, (g.bounds[1] + g.bounds[3]) / 2
        self.lon, self.lat = Transformer.from_crs(g.crs, "EPSG:4326", always_xy=True).transform(cx, cy)
        yr = _rng(self.seed, 4)
        self.year_shift = {y: float(yr.normal(0, 10)) for y in range(1990, 2100)}

    # ---- physics of one moment --------------------------------------------------
    def ndvi(self, surf: surface.Surface, t: dt.datetime, wet: np.ndarray) -> np.ndarray:
        cl = self.cfg.simulator.climate
        return sensors.ndvi(surf.cover, surf.water, wet, t.timetuple().tm_yday, cl.green_peak_doy, cl.vegetation,
                            self.year_shift[t.year])

    def wetness(self, surf: surface.Surface, t: dt.datetime) -> np.ndarray:
        return weather.wetness(self.weather, t, surf.drying_days, surf.capacity)

    def surface_state(self, surf: surface.Surface, t: dt.datetime, humidity: float):
        """True LST (K), emissivity, air temperature (K) and wetness at UTC time ``t``."""
        cl = self.cfg.simulator.climate
        doy = t.timetuple().tm_yday
        mean, rng_k = _air(cl, doy, self.weather.anomaly(t))
        forcing = thermal.DailyForcing(doy, self.lat, mean, rng_k, 0.78 - 0.08 * humidity, 0.70 + 0.12 * humidity)
        hours = local_solar_hours(t, self.lon)
        wet = self.wetness(surf, t)
        inertia = surf.inertia * (1 + surf.wet_gain * wet)
        albedo = surf.albedo * (1 - 0.4 * wet)
        eps_soil = np.clip(surf.emissivity + 0.015 * wet, 0, 0.995)
        beta = np.clip(1.8 * wet, 0, 0.8) * (1 - surf.water) + 0.75 * surf.water
        t_soil = thermal.soil_temperature(forcing, hours, inertia, albedo, eps_soil, beta)
        fc = sensors.green_fraction(self.ndvi(surf, t, wet))
        t_can = thermal.canopy_temperature(forcing, hours)
        lst, eps = thermal.mix_radiometric(t_soil, eps_soil, t_can, sensors.CANOPY_EMISSIVITY, fc)
        return lst, eps, forcing.air_at(hours), wet

    # ---- one ECOSTRESS pass -------------------------------------------------------
    def ecostress_pass(self, p: schedule.Pass, index: int):
        """(grid, layers, facts) of one ECOSTRESS pass; deterministic for (seed, index)."""
        sc, cl = self.cfg.simulator.scenes, self.cfg.simulator.climate
        rng = _rng(self.seed, 10, index)
        dr = dc = 0
        if rng.random() < sc.grid_jitter_fraction:
            while dr == 0 and dc == 0:
                dr, dc = int(rng.integers(-1, 2)), int(rng.integers(-1, 2))
        grid = self.grid.shifted(dr, dc)
        surf = self.surface70.window(1 + dr, 1 + dc, self.grid.rows, self.grid.cols)
        humidity = float(np.clip(cl.humidity + rng.normal(0, 0.15), 0, 1))
        lst, eps, air, wet = self.surface_state(surf, p.time, humidity)
        # passes the thesis kept are mostly whole and clean; passes it rejected are often cut or degraded
        if sc.dates == "appendix_c":
            edge_p, degr_p = (0.0, 0.0) if p.listed else (2 * sc.swath_edge_fraction, 0.3)
        else:
            edge_p, degr_p = sc.swath_edge_fraction, 0.1
        flags = dict(
            stripes=bool(rng.random() < sc.stripe_fraction),
            swath_edge=bool(rng.random() < edge_p),
            degraded=bool(rng.random() < degr_p * (0.5 + humidity)),
        )
        layers, facts = sensors.ecostress_layers(lst, eps, surf.water, air, humidity, p.cloud_fraction, rng, **flags)
        facts.update(flags, humidity=humidity, row_shift=dr, col_shift=dc, mean_wetness=float(wet.mean()))
        return grid, layers, facts


def _check_existing(out: Path, phash: str, overwrite: bool) -> bool:
    """True when a complete simulation with the same parameters is already there."""
    m = out / MANIFEST
    if not m.exists():
        return False
    man = io.read_json(m)
    if man.get("parameters_hash") == phash and man.get("complete"):
        sizes = man.get("file_sizes") or {}
        bad = [f for f in man.get("files", []) if not (out / f).is_file() or (f in sizes and (out / f).stat().st_size != sizes[f])]
        if bad:  # a file lost, cut or changed since: resumed, every reused raster read through first
            log.warning("%s: %d file(s) of the simulation are missing or not as written (e.g. %s); redoing them", out, len(bad), bad[0])
        return not bad
    scenes = [p for sub in ("ecostress", "sentinel1", "sentinel2") for p in (out / sub).glob("*.tif")]
    if man.get("parameters_hash") != phash and not man.get("complete") and not scenes:
        # a run that stopped before its first scene (e.g. on a bad parameter): nothing to keep, start again
        (out / GEOLOGY_FILE).unlink(missing_ok=True)
        log.info("%s: an earlier simulation with other parameters stopped before writing any scene; starting again", out)
        return False
    if man.get("parameters_hash") != phash and not overwrite:
        raise RawDataConflict(
            f"{m}: this raw folder was simulated with other parameters (hash {man.get('parameters_hash')}, now {phash}). "
            "Raw data is immutable: delete the folder or simulate into another --out."
        )
    return False


def simulate(cfg: AreaConfig, out_dir: str | Path | None = None, truth_dir: str | Path | None = None, progress: bool = True,
             overwrite: bool = False) -> dict:
    """Write the simulated raw files of area ``cfg`` (default ``data/<aoi>/raw``) and return a summary.

    Skips when a complete simulation with the same parameters exists; resumes an interrupted one.
    """
    if cfg.simulator is None:
        raise ValueError(f"area {cfg.name!r} has no 'simulator' section in its parameters")
    out = Path(out_dir) if out_dir is not None else cfg.layout.raw_dir
    # the area's own raw/ has truth/ beside it (data/<aoi>/truth); any other --out keeps its truth inside it
    truth = Path(truth_dir) if truth_dir is not None else (out.parent if out == cfg.layout.raw_dir else out) / "truth"
    phash = parameters_hash(cfg)
    for folder in (out, truth):  # temporary files of an interrupted (killed) run
        io.remove_stale_temps(folder)
    if _check_existing(out, phash, overwrite):
        man = json.loads((out / MANIFEST).read_text())
        return {"skipped": True, **man["summary"]}
    # mark the folder as in progress with these parameters, so a resume with others is refused
    io.write_json(out / MANIFEST, {"source": "simulated", "simulator_version": SIMULATOR_VERSION, "parameters_hash": phash,
                                   "aoi": cfg.name, "complete": False})
    model = AreaModel(cfg)
    seed = cfg.simulator.seed
    g = model.grid
    files: list[str] = []

    # geology: the map as digitised, and the truth aside
    gdf, map_info = geology.geologic_map(cfg.simulator.geology, model.true, model.world, _rng(seed, 5))
    gpath = out / GEOLOGY_FILE
    if not gpath.exists():
        with io.atomic_path(gpath, suffix=".gpkg") as tmp:
            tmp.unlink()
            gdf.to_crs(GEOLOGY_CRS).to_file(tmp, layer="geology", driver="GPKG")
    files.append(GEOLOGY_FILE)
    io.write_geotiff(truth / "geology_true_10m.tif", model.true, g.crs, model.world.transform, colormap=classes.rgb_table(),
                     tags={"description": "true geology driving the simulation (diagnostics only)"})
    io.write_geotiff(truth / "geology_true_70m_majority.tif", geology.block_mode(model.true, model.factor)[1:-1, 1:-1],
                     g.crs, g.transform, colormap=classes.rgb_table())

    passes = schedule.thermal_passes(cfg, _rng(seed, 6))
    s1 = schedule.sentinel1_passes(cfg, passes, _rng(seed, 7))
    s2 = schedule.sentinel2_passes(cfg, passes, _rng(seed, 8))
    total = len(passes) + len(s1) + len(s2)
    bar = tqdm(total=total, desc=f"simulate {cfg.name}", unit="scene", disable=not progress)
    eco_dir = out / "ecostress"
    rows = []
    zone = ecostress.zone_suffix(model.grid.crs)  # AppEEARS names native-projection outputs by UTM zone
    for i, p in enumerate(passes):
        names = {lay: ecostress.format_name(lay, p.time, zone) for lay in ecostress.REQUESTED_LAYERS}
        files.extend(f"ecostress/{n}" for n in names.values())
        facts_file = truth / "passes" / f"{p.time:%Y%m%dT%H%M%S}.json"  # the pass's facts, kept until the table is made
        facts = io.read_json_or(facts_file)
        missing = [lay for lay, n in names.items() if not io.raster_intact(eco_dir / n)]  # a name is not a file
        if missing or facts is None:  # deterministic: a pass redone after an interruption gives the same files
            grid, layers, facts = model.ecostress_pass(p, i)
            for lay in missing:
                arr = layers[lay]
                nodata = np.nan if arr.dtype == np.float32 else (ecostress.QC_FILL if lay == "QC" else 255)
                io.write_geotiff(eco_dir / names[lay], arr, grid.crs, grid.transform, nodata=nodata)
            facts = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in sorted(facts.items())}  # as read back
            io.write_json(facts_file, facts)
        rows.append({"time_utc": p.time.isoformat(), "listed_in_thesis": p.listed, "cloud_fraction_target": round(p.cloud_fraction, 4),
                     **facts})
        bar.update()
    # the QC lookup from every QC file on disk (an interrupted run wrote some of them in an earlier process)
    qc_values: set[int] = set()
    for p in passes:
        qc_values.update(np.unique(ecostress.read_layer(eco_dir / ecostress.format_name("QC", p.time, zone))[0]).tolist())
    io.write_csv(eco_dir / "ECO-L2T-LSTE-002-QC-lookup.csv", ecostress.qc_lookup_table(sorted(qc_values)))
    files.append("ecostress/ECO-L2T-LSTE-002-QC-lookup.csv")
    request = task_request(cfg)
    io.write_json(eco_dir / f"rocksoil-{cfg.name}-request.json", request)
    granules = [f"ECOv002_L2T_LSTE_{p.time:%Y%m%dT%H%M%S}_{zone}" for p in passes]
    io.write_text(eco_dir / f"rocksoil-{cfg.name}-granule-list.txt", "\n".join(granules) + "\n")
    files += [f"ecostress/rocksoil-{cfg.name}-request.json", f"ecostress/rocksoil-{cfg.name}-granule-list.txt"]

    fine, fsurf = model.fine, model.surface_fine
    for i, p in enumerate(s1):
        names = {pol: s1_name(p.time, p.orbit, pol) for pol in ("VV", "VH")}
        files.extend(f"sentinel1/{n}" for n in names.values())
        if not all(io.raster_intact(out / "sentinel1" / n) for n in names.values()):
            rng = _rng(seed, 20, i)
            wet = model.wetness(fsurf, p.time)
            fc = sensors.green_fraction(model.ndvi(fsurf, p.time, wet))
            inc = rng.uniform(31, 44) if p.orbit == "ASC" else rng.uniform(33, 42)
            vv, vh = sensors.sar_backscatter(wet, fsurf.roughness_db, fc, fsurf.water, inc, rng)
            for pol, arr in (("VV", vv), ("VH", vh)):
                io.write_geotiff(out / "sentinel1" / names[pol], arr, fine.crs, fine.transform, nodata=np.nan,
                                 tags={"units": "dB", "polarisation": pol, "orbit_pass": p.orbit, "incidence_deg": round(inc, 2),
                                       "collection": "COPERNICUS/S1_GRD", "time_utc": p.time.isoformat()},
                                 band_descriptions=[pol])
        bar.update()
    for i, p in enumerate(s2):
        name = s2_name(p.time)
        files.append(f"sentinel2/{name}")
        if not io.raster_intact(out / "sentinel2" / name):
            rng = _rng(seed, 30, i)
            wet = model.wetness(fsurf, p.time)
            nd = model.ndvi(fsurf, p.time, wet) + rng.normal(0, 0.02, fsurf.water.shape).astype(np.float32)
            if p.cloud_fraction > 0.001:
                c = smooth_field(nd.shape, rng.uniform(60, 200), rng)
                nd[c > threshold_for_fraction(c, p.cloud_fraction)] = np.nan
            io.write_geotiff(out / "sentinel2" / name, np.clip(nd, -1, 1).astype(np.float32), fine.crs, fine.transform, nodata=np.nan,
                             tags={"units": "NDVI (B8-B4)/(B8+B4)", "collection": "COPERNICUS/S2_SR_HARMONIZED",
                                   "cloud_mask": s2_cloud_mask_text(), "time_utc": p.time.isoformat()}, band_descriptions=["NDVI"])
        bar.update()
    bar.close()

    scenes = pd.DataFrame(rows)
    io.write_csv(truth / "ecostress_passes.csv", scenes)
    counts = np.bincount(geology.block_mode(model.true, model.factor)[1:-1, 1:-1].ravel(), minlength=classes.N_CLASSES)
    summary = {
        "aoi": cfg.name,
        "thermal_passes": len(passes),
        "thesis_listed_passes": int(sum(p.listed for p in passes)),
        "sentinel1_dates": len(s1),
        "sentinel2_dates": len(s2),
        "grid_shape": list(g.shape),
        "grid_transform": list(g.transform)[:6],
        "crs": g.crs,
        "true_class_fractions": {classes.NAMES[k]: round(float(c / counts.sum()), 4) for k, c in enumerate(counts) if c},
        "map": map_info,
    }
    io.write_json(truth / "summary.json", summary)
    manifest = {"source": "simulated", "simulator_version": SIMULATOR_VERSION, "parameters_hash": phash, "aoi": cfg.name,
                "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "complete": True,
                "files": sorted(files), "file_sizes": {f: (out / f).stat().st_size for f in sorted(files)}, "summary": summary}
    io.write_json(out / MANIFEST, manifest)
    return {"skipped": False, **summary}
