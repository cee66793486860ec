"""Console entry point ``rocksoil``: simulate, import-thesis, inventory, experiments, importance, transfer,
predict, report.

Each command imports its stage when it runs (not at start-up), so ``rocksoil --help`` and the light commands
do not load TensorFlow."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path

from rocksoil_nb import config, report
from rocksoil_nb.config.schema import ProtocolName, VariantName
from rocksoil_nb.learn import registry


def parser() -> argparse.ArgumentParser:
    """The ``rocksoil`` command line: one sub-command per job."""
    ap = argparse.ArgumentParser(prog="rocksoil", description="rocksoil workbook commands")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("simulate", help="write simulated raw data for an area (offline stand-in for AppEEARS + Earth Engine)")
    s.add_argument("--aoi", required=True, help="area name: a parameters/<aoi>.yaml file")
    s.add_argument("--out", default=None, help="raw output folder (default data/<aoi>/raw)")
    s.add_argument("--profile", default=None)
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    it = sub.add_parser("import-thesis", help="import the thesis's published patch sets (data_thermal_<variant> folders of a clone "
                                              "of its repository) as an area's cube, labels and scene table")
    it.add_argument("src", help="a clone of Javif16/geo2020_Javier_Martinez, a data_thermal_<variant> folder or the development .npz")
    it.add_argument("--area", required=True, help="the area whose grid the patches are placed on (parameters/<area>.yaml)")
    it.add_argument("--as", dest="name", default=None, help="name of the imported area (default: <area>_thesis unless <area> "
                                                            "is already a thesis import); its parameters file is written once")
    it.add_argument("--quiet", action="store_true")
    inv = sub.add_parser("inventory", help="scene inventory of a folder of ECOSTRESS files, with per-layer value ranges")
    inv.add_argument("folder", help="a folder of AppEEARS ECOSTRESS GeoTIFFs (or a raw/ folder holding ecostress/)")
    inv.add_argument("--out", default=None, help="CSV to write, or a folder to write inventory.csv into (default: "
                                                 "<folder name>_inventory.csv in the current folder; the data folder is never written)")
    inv.add_argument("--aoi", default="demo", help="area whose preprocess and scene-filter settings to use")
    ex = sub.add_parser("experiments", help="train every planned (variant x model x protocol) run of an area, resumable")
    ex.add_argument("--aoi", default="demo")
    ex.add_argument("--profile", default=None)
    ex.add_argument("--tuned", action="store_true", help="use models/<aoi>/best_params.json from 06_tune")
    ex.add_argument("--workers", type=int, default=0, help="train runs in parallel on a local Dask cluster of N worker processes")
    ex.add_argument("--scheduler", default=None, help="a running Dask scheduler (tcp://host:8786) whose workers share this project folder")
    ex.add_argument("--plan-only", action="store_true", help="print the plan and its estimated duration, train nothing")
    ex.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="training seeds of every run, in place of the profile's `seeds` (e.g. --seeds 0 1 2: the spread "
                         "over seeds); the report's tables are then left as the profile writes them")
    ex.add_argument("--variants", nargs="+", default=None, choices=list(typing.get_args(VariantName)),
                    help="only these variants (in place of the profile's; tables left as with --seeds)")
    ex.add_argument("--models", nargs="+", default=None, choices=registry.names(),
                    help="only these models (in place of the profile's; tables left as with --seeds)")
    ex.add_argument("--protocols", nargs="+", default=None, choices=list(typing.get_args(ProtocolName)),
                    help="only these protocols (in place of the profile's; tables left as with --seeds)")
    tr = sub.add_parser("transfer", help="the other_areas protocol: train on the other areas, test on the whole of each one")
    tr.add_argument("--areas", nargs="+", default=["puertollano", "santa_olalla", "villoslada"])
    tr.add_argument("--profile", default="standard")
    tr.add_argument("--variant", default="", help="dataset variant (default: the first area's primary variant)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--readme", action="store_true", help="write the tables into the README and docs/results.md "
                    "(<!-- transfer:areas:... --> and <!-- transfer-all:areas:... --> markers)")
    tr.add_argument("--from-csv", action="store_true", help="render the tables from the last run's CSV, train nothing")
    im = sub.add_parser("importance", help="what a whole-series run looks at: permutation importance of input groups")
    im.add_argument("--aoi", default="demo")
    im.add_argument("--profile", default=None)
    im.add_argument("--variant", default="")
    im.add_argument("--model", default="best", help="pixel_series | pixel_focal | best (the best finished whole-series run)")
    im.add_argument("--protocol", default="spatial")
    im.add_argument("--readme", action="store_true",
                    help="put the figure in docs/_static/ and the sentence in the documentation (<!-- importance:<aoi>:... --> markers)")
    pr = sub.add_parser("predict", help="map a folder of new ECOSTRESS scenes (+ optional Sentinel-1) with a trained run")
    pr.add_argument("--model", required=True, help="a trained run folder, e.g. models/demo/thermal_only-convlstm-spatial")
    pr.add_argument("--scenes", required=True, help="folder of ECOSTRESS L2T GeoTIFFs (AppEEARS names), or one holding ecostress/ "
                                                    "and sentinel1/")
    pr.add_argument("--out", required=True, help="output folder: maps/*.tif (+ .qml), dates.csv, inventory.csv, cube.zarr")
    pr.add_argument("--dates", default="all", choices=["all"], help="which dates to map")
    pr.add_argument("--batch", type=int, default=64, help="windows predicted at once (memory)")
    pr.add_argument("--quiet", action="store_true")
    report.add_arguments(sub.add_parser("report", help="run the notebooks for an area with papermill into reports/<aoi>/<profile>/"))
    return ap


def _simulate(a) -> int:
    """``rocksoil simulate``: write simulated raw data for an area."""
    from rocksoil_nb.simulate.run import RawDataConflict, simulate

    cfg = config.load(a.aoi, a.profile)
    try:
        res = simulate(cfg, Path(a.out) if a.out else None, progress=not a.quiet)
    except RawDataConflict as e:
        print(f"rocksoil simulate: {e}", file=sys.stderr)
        return 2
    state = "already complete, skipped" if res["skipped"] else "written"
    print(f"{a.aoi}: {res['thermal_passes']} ECOSTRESS passes, {res['sentinel1_dates']} Sentinel-1 and "
          f"{res['sentinel2_dates']} Sentinel-2 dates, grid {res['grid_shape']} ({state})")
    return 0


def _import_thesis(a) -> int:
    """``rocksoil import-thesis``: import the thesis's published patch sets."""
    from rocksoil_nb.prepare import thesis_import

    root = config.project_root()
    written = None
    try:
        src = Path(a.src).resolve()
        thesis_import.find_sets(src)  # the source is checked before any parameters file is written
        before = {p.name for p in (root / "parameters").glob("*.yaml")}
        name = thesis_import.import_area(root, a.area, src, a.name)
        written = root / "parameters" / f"{name}.yaml" if f"{name}.yaml" not in before else None
        cfg = config.load(name)
        res = thesis_import.run(cfg, src, progress=not a.quiet)
    except (thesis_import.NotThesisLayout, FileNotFoundError, ValueError) as e:
        if written is not None:  # nothing half-made stays behind to 'succeed' next time
            written.unlink(missing_ok=True)
        print(f"rocksoil import-thesis: {e}", file=sys.stderr)
        return 2
    print(res.table().to_string(index=False))
    print("\n".join(f"* {n}" for n in res.notes()))
    left = sum(s["left_out"] for s in res.sets)
    print(f"\n{name}: {'already imported, nothing written' if res.skipped else 'imported'}; {left} file(s) left out "
          f"(listed in {cfg.layout.raw_dir / thesis_import.FILES}); next: make report AOI={name}")
    return 0


def _inventory(a) -> int:
    """``rocksoil inventory``: scene inventory of a folder of ECOSTRESS files."""
    import pandas as pd

    from rocksoil_nb.core import ecostress, io
    from rocksoil_nb.prepare import scenes

    cfg = config.load(a.aoi)
    folder = Path(a.folder)
    out = Path(a.out) if a.out else Path.cwd() / f"{folder.resolve().name or 'scenes'}_inventory.csv"
    if out.is_dir():
        out = out / "inventory.csv"
    try:
        if folder.resolve() in out.resolve().parents:
            raise ValueError(f"{out}: inside the data folder {folder}; write the inventory elsewhere (--out)")
        table = scenes.build(folder, cfg.preprocess, cfg.scene_filter, progress=False)
    except (FileNotFoundError, ValueError) as e:
        print(f"rocksoil inventory: {e}", file=sys.stderr)
        return 2
    io.write_csv(out, table)
    eco = folder / "ecostress" if (folder / "ecostress").is_dir() else folder
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(ecostress.where_found(eco, ecostress.find_files(eco)))
        print(scenes.value_ranges(eco).to_string(index=False))
        print(f"\n{int(table['kept'].sum())} of {len(table)} passes kept; inventory written to {out}")
    if not table["kept"].any():
        reasons = table["reason"].value_counts().head(3)
        print("rocksoil inventory: no pass can be used; most common reasons: "
              + "; ".join(f"{r} ({n})" for r, n in reasons.items()), file=sys.stderr)
        return 1
    return 0


def _experiments(a) -> int:
    """``rocksoil experiments``: train the run matrix of an area."""
    from rocksoil_nb.analyse import results
    from rocksoil_nb.learn import experiments

    cfg = config.load(a.aoi, a.profile)
    asked = {"seeds": a.seeds, "variants": a.variants, "models": a.models, "protocols": a.protocols}
    narrowed = {k: v for k, v in asked.items() if v}
    cfg.profile = dataclasses.replace(cfg.profile, **narrowed)
    todo = experiments.estimate(cfg, use_tuned=a.tuned)
    print(todo.drop(columns=["folder"]).to_string())
    print(experiments.describe(todo))
    if a.plan_only:
        return 0
    experiments.run(cfg, use_tuned=a.tuned, todo=todo, workers=a.workers, scheduler=a.scheduler)
    print("\ntime per run, estimated before training and measured:")
    print(experiments.timing(cfg).to_string())
    mine = results.gather(cfg, all_areas=False)
    from rocksoil_nb.analyse import intervals

    for v in sorted(mine["variant"].unique()):
        print(f"\n{v}: test OA and macro-F1 ({cfg.name}, profile {cfg.profile_name})")
        print(results.display(results.results_table(mine, v)).to_string())
        ci = intervals.versus_baselines(cfg, v)
        if len(ci):
            print(intervals.statement(ci, v).replace("**", ""))
            print(ci.to_string(index=False))
    if narrowed:  # a part of the matrix, or other seeds: the report's tables stay the profile's
        return 0
    tables = results.write_tables(cfg, results.gather(cfg))
    print(f"\nthesis-style tables (both protocols, majority class, per-pixel RF, thesis numbers): {tables[0].parent}")
    return 0


def _predict(a) -> int:
    """``rocksoil predict``: map new scenes with a trained run."""
    from rocksoil_nb.infer.predict import IncompatibleScenes, predict

    try:
        rec = predict(a.model, a.scenes, a.out, which=a.dates, progress=not a.quiet, batch=a.batch)
    except (IncompatibleScenes, FileNotFoundError, ValueError) as e:
        print(f"rocksoil predict: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rocksoil predict: interrupted; {a.out} is as it was before (the partial prediction beside it, "
              "marked PARTIAL, is removed by the next run)", file=sys.stderr)
        return 130
    print(f"{len(rec.dates)} dates mapped on a {rec.grid.rows} x {rec.grid.cols} grid ({rec.grid.crs}); "
          f"consensus and per-date maps in {rec.out_dir}")
    return 0


def _prepare(cfgs: list, variant: str) -> list[str]:
    """Run 01-03 and 05 (papermill, into each area's report folder) for the areas whose ``variant`` dataset is missing;
    the names of the areas prepared."""
    done = []
    for c in cfgs:
        if not (c.layout.patches_dir(variant) / "samples_cnn.csv").exists():
            report.run(c.name, c.profile_name, only=["01", "02", "03", "05"])
            done.append(c.name)
    return done


def _transfer(a) -> int:
    """``rocksoil transfer``: prepare the areas that lack their dataset, run every rotation, write the table (CSV, and
    the README's with ``--readme``)."""
    import time

    from rocksoil_nb.analyse import readme_tables, transfer

    t0 = time.time()
    from rocksoil_nb.prepare import patches

    cfgs = [config.load(area, a.profile) for area in a.areas]
    a.variant = patches.primary_variant(cfgs[0], a.variant)
    out = transfer.out_dir(cfgs[0])
    csv = out / f"transfer_{a.variant}.csv"
    if a.from_csv:
        res = transfer.read(csv)
    else:
        prepared = _prepare(cfgs, a.variant)
        if prepared:
            print(f"prepared (01-03, 05): {', '.join(prepared)}")
        res = transfer.run(cfgs, a.variant, seed=a.seed).assign(profile=a.profile)
        res["seconds"] = round(time.time() - t0, 1)
        transfer.write(res, csv)
    print(transfer.table(res).to_string(index=False))
    print(f"\n{res['seconds'].iloc[0] / 60:.1f} min; table in {csv}")
    if a.readme:
        root = config.project_root()
        done = readme_tables.update(root, transfer.summary(res), "areas", a.profile, a.variant, "transfer")
        done += readme_tables.update(root, transfer.markdown(res), "areas", a.profile, a.variant, "transfer-all")
        print("written: " + ", ".join(str(d) for d in done))
    return 0


def _importance(a) -> int:
    """``rocksoil importance``: permutation importance of one whole-series run (tables and figure in the report's
    folder; with ``--readme`` the figure in ``docs/_static/`` and the sentence in the documentation)."""
    from rocksoil_nb.analyse import importance, readme_tables
    from rocksoil_nb.analyse import results as tables
    from rocksoil_nb.core import io
    from rocksoil_nb.prepare import patches
    from rocksoil_nb.viz import evaluate as figures

    cfg = config.load(a.aoi, a.profile)
    variant = patches.primary_variant(cfg, a.variant)
    model = a.model
    if model == "best":
        model = importance.best_series_model(cfg, tables.gather(cfg, all_areas=False), variant, a.protocol)
    imp = importance.run_importance(cfg, variant, model, a.protocol)
    written = imp.save(cfg.layout.tables_dir)
    written.append(io.write_text(cfg.layout.tables_dir / f"importance_{imp.run}.md", imp.statement() + "\n"))
    fig = figures.importance_figure(imp)
    png = cfg.layout.reports_dir / "figures" / f"importance_{imp.run}.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    print(imp.table.round(3).to_string(index=False))
    print(imp.statement())
    print("written: " + ", ".join(str(p) for p in [*written, png]))
    if a.readme:
        root = config.project_root()
        img = root / "docs" / "_static" / f"importance_{cfg.name}.png"
        fig.savefig(img, dpi=70)
        body = (f"{imp.statement()}\n\n*Generated with the figure `docs/_static/{img.name}` by `rocksoil importance --aoi "
                f"{cfg.name} --profile {cfg.profile_name} --readme`.*")
        done = readme_tables.update(root, body, cfg.name, cfg.profile_name, variant, "importance")
        print("written: " + ", ".join(str(d) for d in [img, *done]))
    return 0


COMMANDS = {"simulate": _simulate, "import-thesis": _import_thesis, "inventory": _inventory, "experiments": _experiments,
            "predict": _predict, "report": report.run_args, "transfer": _transfer,
            "importance": _importance}


def main(argv: list[str] | None = None) -> int:
    """Run one ``rocksoil`` command; 0 done, 1 failed, 2 a mistake in its input (named on standard error)."""
    a = parser().parse_args(argv)
    try:
        return COMMANDS[a.cmd](a)
    except config.ParameterError as e:
        print(f"rocksoil {a.cmd}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
