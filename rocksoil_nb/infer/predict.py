"""Apply a trained run to a folder of new scenes (``rocksoil predict --model DIR --scenes DIR --out DIR``).

The scenes folder holds ECOSTRESS L2T files with AppEEARS names, either directly or in ``ecostress/``,
optionally with ``sentinel1/`` (and ``sentinel2/``) exports beside it, for the same or another area.
The scenes go through the same inventory, scene filter, QC validity rule and alignment as in training
(taken from the run's ``inputs.json``) into a cube under ``DIR/cube.zarr``; then every date is mapped in
windows (bounded memory: the area's accumulators and one batch) and written as the same GeoTIFFs as
08_evaluate. Inputs that cannot match the model raise :class:`IncompatibleScenes` with the reason.
"""

from __future__ import annotations

from pathlib import Path

from rocksoil_nb import config
from rocksoil_nb.core import ecostress, io
from rocksoil_nb.infer import reconstruct
from rocksoil_nb.learn import losses, models  # noqa: F401 - registers the custom layers and loss
from rocksoil_nb.learn.runs import BASELINE_FILE, BEST, CKPT, RunSpec
from rocksoil_nb.prepare import cube, patches
from rocksoil_nb.prepare.scenes import build as build_inventory


class IncompatibleScenes(ValueError):
    """The scenes cannot be fed to the model (another CRS or pixel size, missing bands, too few dates)."""


def load_run(run_dir: str | Path) -> tuple[object, RunSpec]:
    """(model, input spec) of a trained run folder (``models/<aoi>/<profile>/<variant>-<model>-<protocol>/``).

    Weights are tried in order ``best.keras``, ``checkpoint.keras``, ``pixel_rf.joblib``; a file that cannot be
    read is named and the next one tried."""
    run = Path(run_dir)
    spec = RunSpec.read(run)
    problems = []
    for name in (BEST, CKPT, BASELINE_FILE):
        path = run / name
        if not path.exists():
            continue
        try:
            if name == BASELINE_FILE:
                import joblib

                return joblib.load(path), spec
            import keras


            return keras.saving.load_model(path, compile=False), spec
        except Exception as e:  # noqa: BLE001 - a damaged file is reported with its path and the next one tried
            problems.append(f"{path}: cannot be read ({type(e).__name__}: {e})")
    if problems:
        raise FileNotFoundError(f"{run}: no readable model weights: " + "; ".join(problems))
    raise FileNotFoundError(f"{run}: no model weights ({BEST}, {CKPT} or {BASELINE_FILE})")


def scenes_root(scenes: str | Path, work: Path) -> Path:
    """A raw-style folder (``ecostress/`` + optional ``sentinel1/``, ``sentinel2/``) for ``scenes``: the folder
    itself when laid out so, else a staging folder under ``work`` linking to it (originals untouched)."""
    scenes = Path(scenes).resolve()
    if not scenes.is_dir():
        raise FileNotFoundError(f"{scenes}: no such folder of scenes")
    if (scenes / "ecostress").is_dir():
        return scenes
    stage = work / "scenes"
    stage.mkdir(parents=True, exist_ok=True)
    link = stage / "ecostress"
    if link.is_symlink() and link.resolve() != scenes:
        link.unlink()
    if not link.exists():
        link.symlink_to(scenes, target_is_directory=True)
    return stage


MAP_SUFFIXES = (".tif", ".qml", ".aux.xml", ".csv")  # what reconstruct writes to maps/


def check_out(scenes: str | Path, out: str | Path) -> None:
    """The output folder must not be, or lie inside, the scenes folder: the user's scenes are never written to."""
    s, o = Path(scenes).resolve(), Path(out).resolve()
    if o == s or s in o.parents:
        raise ValueError(f"{out}: the output folder is inside the scenes folder {scenes}; choose a folder elsewhere "
                         "(the scenes are input and are never written to)")


def clear_maps(maps: Path) -> int:
    """Remove the maps of an earlier prediction in ``maps`` (so that no old date sits beside the new ones); says how many."""
    old = [p for p in maps.glob("*") if p.is_file() and p.name.endswith(MAP_SUFFIXES)] if maps.is_dir() else []
    for p in old:
        p.unlink()
    if old:
        print(f"{maps}: removed {len(old)} file(s) of an earlier prediction")
    return len(old)


def check_grid(spec: dict, ref, where: Path) -> None:
    """Same CRS and pixel size as the training grid, else :class:`IncompatibleScenes`."""
    if ref.crs != spec.crs:
        raise IncompatibleScenes(f"{where}: the scenes are in {ref.crs} but the model was trained on a {spec.crs} grid "
                                 f"({spec.area}); reproject the scenes (or request them from AppEEARS) in {spec.crs}")
    if abs(ref.res - float(spec.pixel_size_m)) > 1e-6:
        raise IncompatibleScenes(f"{where}: pixels of {ref.res:g} m but the model was trained on {spec.pixel_size_m:g} m pixels")


def check_cube(spec: dict, ds, where: Path) -> None:
    """Bands and dates the model needs are present in the new cube, else :class:`IncompatibleScenes`."""
    flags = cube.pass_flags(ds)
    vt = patches.variant_times(flags, spec.variant)
    if {"VV", "VH"} & set(spec.bands) and not flags["has_sar"].any():
        raise IncompatibleScenes(f"{where}: the model uses bands {spec.bands} but no Sentinel-1 VV/VH export matches "
                                 "any kept pass; put the exports in a sentinel1/ folder beside ecostress/")
    if len(vt) == 0:
        raise IncompatibleScenes(f"{where}: no kept pass fits the model's variant {spec.variant!r}")
    need = patches.MIN_YEAR_FRAMES if spec.kind == "year" else spec.frames
    if len(vt) < need:
        what = f"a year of at least {need} dates" if spec.kind == "year" else f"sequences of {need} dates"
        raise IncompatibleScenes(f"{where}: the {spec.model} model takes {what} but only {len(vt)} "
                                 f"kept pass(es) fit its variant {spec.variant!r}")


def predict(run_dir: str | Path, scenes: str | Path, out_dir: str | Path, which: str = "all", progress: bool = True,
            batch: int = 64) -> reconstruct.Reconstruction:
    """Map the scenes with the run's model into ``out_dir`` (per-date and consensus COGs, dates.csv, inventory.csv)."""
    out = Path(out_dir)
    check_out(scenes, out)
    model, spec = load_run(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    clear_maps(out / "maps")
    raw = scenes_root(scenes, out)
    prep = config.Preprocess(**spec.preprocess)
    sfilter = config.SceneFilter(**spec.scene_filter)
    ref = ecostress.reference_grid(raw / "ecostress")
    check_grid(spec, ref, Path(scenes))
    inv = build_inventory(raw, prep, sfilter, ref=ref, progress=progress)
    io.write_csv(out / "inventory.csv", inv)
    acq = spec.acquisition
    cube_path = cube.build(raw, inv, ref, out / "cube.zarr", prep, int(acq.get("sar_window_days", 0)),
                           float(acq.get("ndvi_window_days", 8.0)), progress=progress)
    check_cube(spec, cube.open_cube(cube_path), Path(scenes))
    rec = reconstruct.reconstruct(model, cube_path, spec, out / "maps", which=which, batch=batch, progress=progress,
                                  tags={"scenes": str(Path(scenes).resolve()), "run": Path(run_dir).name})
    io.write_json(out / "predict.json", {"run": str(Path(run_dir).resolve()), "scenes": str(Path(scenes).resolve()),
                                         "dates_mapped": len(rec.dates), "passes": len(inv), "kept": int(inv["kept"].sum()),
                                         "spec": spec})
    return rec
