"""Apply a trained run to a folder of new scenes (``rocksoil predict --model DIR --scenes DIR --out DIR``).

The scenes folder holds ECOSTRESS L2T files with AppEEARS names, either directly or in ``ecostress/``,
optionally with ``sentinel1/`` (and ``sentinel2/``) exports beside it, for the same or another area.
The scenes go through the same inventory, scene filter, QC validity rule and alignment as in training
(taken from the run's ``inputs.json``) into a cube under ``DIR/cube.zarr``; then every date is mapped in
windows (bounded memory: the area's accumulators and one batch) and written as the same GeoTIFFs as
08_evaluate. Inputs that cannot match the model raise :class:`IncompatibleScenes` with the reason.

An earlier prediction in ``DIR`` is replaced only when the new one is complete: everything is written into a staging
folder beside it (``.DIR.partial``, marked by a ``PARTIAL`` file until it is done), then swapped in. A refusal, an
interruption or a full disk leaves the earlier prediction as it was; a folder with a ``PARTIAL`` marker is refused
by :func:`read_prediction` (and so by anything reading predictions).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from pathlib import Path

from rocksoil_nb import config
from rocksoil_nb.core import ecostress, io
from rocksoil_nb.infer import reconstruct
from rocksoil_nb.learn import calibration
from rocksoil_nb.learn.runs import BASELINE_FILE, BEST, CKPT, RunSpec
from rocksoil_nb.learn.series_baseline import MODEL_FILE as SERIES_FILE
from rocksoil_nb.prepare import cube, patches
from rocksoil_nb.prepare.scenes import build as build_inventory


class IncompatibleScenes(ValueError):
    """The scenes cannot be fed to the model (another CRS or pixel size, missing bands, too few dates)."""


WEIGHTS = (BEST, CKPT, BASELINE_FILE, SERIES_FILE)  # a run's model files, in the order they are tried


def load_run(run_dir: str | Path) -> tuple[object, RunSpec]:
    """(model, input spec) of a trained run folder (``models/<aoi>/<profile>/<variant>-<model>-<protocol>/``).

    Weights are tried in order ``best.keras``, ``checkpoint.keras``, ``pixel_rf.joblib``, ``pixel_series.joblib``; a
    file that cannot be read is named and the next one tried."""
    run = Path(run_dir)
    spec = RunSpec.read(run)
    problems = []
    for name in WEIGHTS:
        path = run / name
        if not path.exists():
            continue
        try:
            if name.endswith(".joblib"):
                import joblib

                return joblib.load(path), spec
            import keras

            from rocksoil_nb.learn import losses, models  # noqa: F401 - their import registers the custom layers and loss

            return keras.saving.load_model(path, compile=False), spec
        except Exception as e:  # noqa: BLE001 - a damaged file is reported with its path and the next one tried
            problems.append(f"{path}: cannot be read ({type(e).__name__}: {e})")
    if problems:
        raise FileNotFoundError(f"{run}: no readable model weights: " + "; ".join(problems))
    raise FileNotFoundError(f"{run}: no model weights ({', '.join(WEIGHTS)})")


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


def check_out(scenes: str | Path, out: str | Path) -> None:
    """The output folder must not be, or lie inside, the scenes folder: the user's scenes are never written to."""
    s, o = Path(scenes).resolve(), Path(out).resolve()
    if o == s or s in o.parents:
        raise ValueError(f"{out}: the output folder is inside the scenes folder {scenes}; choose a folder elsewhere "
                         "(the scenes are input and are never written to)")


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


PARTIAL = "PARTIAL"  # marks a prediction folder that is not complete


def staging(out: Path) -> Path:
    """Where a prediction into ``out`` is written until it is complete (beside it, on the same file system)."""
    return out.with_name(f".{out.name}.partial")


def check_target(out: Path, batch: int) -> None:
    """Mistakes in the command's own arguments, before anything is loaded or written: ``--out`` a file, a folder that
    cannot be written, a batch that is not a positive number of windows."""
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"--batch must be a positive number of windows predicted at once, got {batch}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: --out must be a folder, and this is a file; choose another path")
    parent = out.parent if out.parent != Path("") else Path(".")
    base = out if out.is_dir() else parent
    while not base.exists():
        base = base.parent
    if not os.access(base, os.W_OK) or (out.is_dir() and not os.access(out, os.W_OK)):
        raise ValueError(f"{out if out.exists() else base}: cannot be written (permissions); choose a folder you can "
                         "write to with --out")


def read_prediction(out_dir: str | Path) -> dict:
    """The record of a complete prediction folder (``predict.json``); a folder marked ``PARTIAL`` (an interrupted or
    failed prediction) or without a record is an error naming it."""
    out = Path(out_dir)
    if (out / PARTIAL).exists():
        raise ValueError(f"{out}: an incomplete prediction ({(out / PARTIAL).read_text().strip()}); run "
                         "`rocksoil predict` again into this folder or delete it")
    rec = out / "predict.json"
    if not rec.exists():
        raise FileNotFoundError(f"{rec}: no prediction record; this folder is not a finished `rocksoil predict` output")
    return io.read_json_or(rec) or {}


def _link_tree(src: Path, dst: Path) -> None:
    """A copy of ``src`` made of hard links (Zarr chunks are written once, so the earlier folder stays as it was);
    plain copies where links cannot be made."""
    def link(a, b):
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.copytree(src, dst, copy_function=link)


def _swap(stage: Path, out: Path) -> None:
    """Put the complete ``stage`` in the place of ``out`` (the earlier prediction removed only now)."""
    old = out.with_name(f".{out.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        out.rename(old)
    stage.rename(out)
    if old.exists():
        shutil.rmtree(old)


def predict(run_dir: str | Path, scenes: str | Path, out_dir: str | Path, which: str = "all", progress: bool = True,
            batch: int = 64) -> reconstruct.Reconstruction:
    """Map the scenes with the run's model into ``out_dir`` (per-date and consensus COGs, dates.csv, inventory.csv,
    predict.json); an earlier prediction there is replaced only once the new one is complete."""
    out = Path(out_dir)
    check_out(scenes, out)
    check_target(out, batch)
    eco_files = ecostress.find_files(Path(scenes) / "ecostress" if (Path(scenes) / "ecostress").is_dir() else scenes)
    if not ecostress.find_layer(eco_files, "LST"):
        raise FileNotFoundError(f"{scenes}: no ECOSTRESS LST file with an AppEEARS name in it or below it "
                                "(e.g. ECO_L2T_LSTE.002_LST_doy2022031134007_aid0001_30N.tif)")
    model, spec = load_run(run_dir)
    stage = staging(out)
    if stage.exists():  # left by an interrupted run: never reused
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    if (out / "cube.zarr").is_dir():  # the earlier cube, reused when its scenes are the same: linked, never moved
        _link_tree(out / "cube.zarr", stage / "cube.zarr")
    io.write_text(stage / PARTIAL, f"started {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by process {os.getpid()}; "
                                   f"run {Path(run_dir).name}, scenes {Path(scenes).resolve()}\n")
    raw = scenes_root(scenes, stage)
    prep = config.Preprocess(**spec.preprocess)
    sfilter = config.SceneFilter(**spec.scene_filter)
    ref = ecostress.reference_grid(raw / "ecostress", crs=spec.crs)
    check_grid(spec, ref, Path(scenes))
    inv = build_inventory(raw, prep, sfilter, ref=ref, progress=progress)
    io.write_csv(stage / "inventory.csv", inv)
    acq = spec.acquisition
    cube_path = cube.build(raw, inv, ref, stage / "cube.zarr", prep, int(acq.get("sar_window_days", 0)),
                           float(acq.get("ndvi_window_days", 8.0)), progress=progress)
    check_cube(spec, cube.open_cube(cube_path), Path(scenes))
    rec = reconstruct.reconstruct(model, cube_path, spec, stage / "maps", which=which, batch=batch, progress=progress,
                                  tags={"scenes": str(Path(scenes).resolve()), "run": Path(run_dir).name},
                                  calibrator=calibration.stored(run_dir))
    io.write_json(stage / "predict.json", {"run": str(Path(run_dir).resolve()), "scenes": str(Path(scenes).resolve()),
                                           "dates_mapped": len(rec.dates), "passes": len(inv), "kept": int(inv["kept"].sum()),
                                           "spec": spec})
    if (stage / "scenes").is_dir():  # the staging link to the scenes folder is re-pointed where the folder lands
        (stage / "scenes" / "ecostress").unlink()
        shutil.rmtree(stage / "scenes")
    (stage / PARTIAL).unlink()
    _swap(stage, out)
    return dataclasses.replace(rec, out_dir=out / "maps", files=[out / "maps" / Path(f).name for f in rec.files])
