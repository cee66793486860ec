"""The package's shape and its rules kept in one place: imports flow one way through the stages, notebooks
are stripped and parameterised as the runner expects, typed records round-trip, and the rules that were
written twice (scoring, class decision, paths, Sentinel matching, grid check) hold."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "rocksoil_nb"
#: the stages in import order: a module may import its own stage and the ones before it, never a later one
STAGES = ["core", "config", "simulate", "acquire", "prepare", "learn", "infer", "analyse", "viz", "top"]


def _stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "core"  # rocksoil_nb/__init__.py: the version only
    first = parts[1]
    if first in STAGES:
        return first
    return "core" if first == "data" else "top"  # api, cli, report sit on top


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every rocksoil_nb import of a file (module level and inside functions), with its line."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import; use absolute rocksoil_nb imports"
            if node.module and node.module.startswith("rocksoil_nb"):
                for a in node.names:
                    out.append((node.lineno, f"{node.module}.{a.name}" if node.module == "rocksoil_nb" else node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("rocksoil_nb")]
    return out


def test_imports_flow_one_way_through_the_stages():
    bad = []
    files = sorted(PKG.rglob("*.py"))
    assert len(files) > 40
    for f in files:
        me = ".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        mine = STAGES.index(_stage(me))
        for line, target in _imports(f):
            theirs = STAGES.index(_stage(target))
            if theirs > mine:
                bad.append(f"{f.relative_to(ROOT)}:{line} ({_stage(me)}) imports {target} ({_stage(target)})")
    assert bad == [], "imports against the stage order:\n" + "\n".join(bad)


def test_every_stage_is_a_subpackage_with_a_docstring():
    for stage in STAGES[:-1]:
        init = PKG / stage / "__init__.py"
        assert init.exists(), stage
        assert ast.get_docstring(ast.parse(init.read_text())), f"{init} says what the stage holds"
    flat = sorted(p.name for p in PKG.glob("*.py"))
    assert flat == ["__init__.py", "api.py", "cli.py", "report.py"]


def test_notebooks_are_stripped_and_take_what_the_runner_injects():
    from rocksoil_nb import report

    nbs = report.notebooks(ROOT)
    assert [p.stem[:2] for p in nbs] == [f"{i:02d}" for i in range(1, 10)]
    for p in nbs:
        nb = json.loads(p.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), f"{p.name} has outputs: run make strip"
        names = report.parameter_names(p)
        assert names[:2] == ["aoi", "profile"], p.name
        tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
        src = "".join(tagged[0]["source"])
        for node in ast.parse(src).body:  # literals only: papermill does not recompute derived values
            assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant), f"{p.name}: {ast.unparse(node)}"
        assert 'profile = None' in src  # the area's default profile, not quick
        text = json.dumps(nb)
        assert "def " not in "".join("".join(c["source"]) for c in code), f"{p.name} defines a function"
        assert "Look inside" in text and "What you should see" in text and "## Questions" in text, p.name
    assert {"variant", "model"} <= set(report.parameter_names(ROOT / "notebooks" / "08_evaluate.ipynb"))
    assert {"variant", "model"} <= set(report.parameter_names(ROOT / "notebooks" / "09_ndvi_analysis.ipynb"))
    assert "model" in report.parameter_names(ROOT / "notebooks" / "06_tune.ipynb")
    assert "use_tuned" in report.parameter_names(ROOT / "notebooks" / "07_train.ipynb")
    assert set().union(*(report.parameter_names(p) for p in nbs)) >= set(report.INJECTED)
    assert "*.ipynb filter=nbstripout" in (ROOT / ".gitattributes").read_text()


def test_a_pixel_predicted_as_no_data_counts_as_wrong():
    from rocksoil_nb.learn import metrics

    cm = metrics.confusion(np.array([1, 1]), np.array([0, 1]))
    s = metrics.scores(cm)
    assert s["oa"] == 0.5 and s["recall"][1] == 0.5
    cm = metrics.confusion(np.array([0, 1]), np.array([1, 1]))  # a true no-data pixel is not scored
    assert metrics.scores(cm)["oa"] == 1.0 and metrics.scores(cm, include_nodata=True)["oa"] == 0.5


def test_api_decides_like_the_maps():
    from rocksoil_nb import api

    class Flat:
        def predict_on_batch(self, x):
            p = np.zeros((*x.shape[:3], 14), np.float32)
            p[..., 0], p[..., 5] = 0.6, 0.4
            return p

    pred, _ = api.predict(Flat(), np.zeros((1, 4, 4, 2), np.float32))
    assert (pred == 5).all()  # class 0 (no data) is never chosen unless included
    assert (api.predict(Flat(), np.zeros((1, 4, 4, 2), np.float32), include_nodata=True)[0] == 0).all()


def test_layout_owns_paths_and_carries_the_profile(tmp_path, monkeypatch):
    from rocksoil_nb import config

    monkeypatch.setenv("ROCKSOIL_WORKDIR", str(tmp_path))
    quick, standard = config.load("demo", "quick"), config.load("demo", "standard")
    assert quick.layout.models_dir == tmp_path / "models" / "demo" / "quick"
    assert standard.layout.reports_dir == tmp_path / "reports" / "demo" / "standard"
    assert quick.layout.run_dir("day", "cnn", "spatial").name == "day-cnn-spatial"
    assert config.RunName.parse("thermal_sar-convlstm-thesis") == config.RunName("thermal_sar", "convlstm", "thesis")
    with pytest.raises(ValueError, match="not a run folder"):
        config.RunName.parse("thermal_only-cnn")
    # the dataset key follows the patch settings only: epochs or learning rates do not rebuild datasets
    more_epochs = config.load("demo", "quick", overrides={"hyperparameters": {"epochs": 50, "learning_rate": {"cnn": 0.1}}})
    assert more_epochs.layout.patches_root == quick.layout.patches_root
    bigger = config.load("demo", "quick", overrides={"hyperparameters": {"patch_size": 32}})
    assert bigger.layout.patches_root != quick.layout.patches_root and bigger.layout.patches_root.name.startswith("32px-")
    assert quick.layout.patches_root != standard.layout.patches_root


def test_choices_are_checked_when_parameters_load():
    from rocksoil_nb import config

    for over, key in (({"hyperparameters": {"loss": "focal"}}, "hyperparameters.loss"), ({"source": "nasa"}, "source"),
                      ({"preprocess": {"daynight_rule": "sun"}}, "preprocess.daynight_rule")):
        with pytest.raises(config.ParameterError, match=key.replace(".", r"\.") + ".*must be one of"):
            config.load("demo", "quick", overrides=over)


def test_one_sentinel_matching_rule():
    from rocksoil_nb.acquire import earthengine
    from rocksoil_nb.core import sentinel

    t = pd.Timestamp("2022-06-01T10:00", tz="UTC")
    cand = pd.Series(pd.to_datetime(["2022-05-31T23:00", "2022-06-01T18:00", "2022-06-05T10:00"], utc=True))
    assert sentinel.nearest(t, cand, 0, same_day=True) == 1  # same UTC day only
    assert sentinel.nearest(t, cand, 1, same_day=False) == 1  # ± 1 day: the nearer one, 8 h after (the other is 11 h before)
    assert sentinel.nearest(t, cand[[0, 2]], 1, same_day=False) == 0
    assert sentinel.nearest(t, cand[2:], 3, same_day=False) is None
    listing = pd.DataFrame({"system:index": ["a", "b", "c"], "time_utc": cand})
    m = earthengine.match_dates([t], listing, 0, same_day=True)
    assert m.loc[0, "image_id"] == "b"


def test_one_grid_rule():
    from affine import Affine

    from rocksoil_nb.core.grid import Grid, grid_status, lattice_offset, window_of

    ref = Grid("EPSG:32630", 500000.0, 4650000.0, 70.0, 40, 48)
    shifted = Affine(70.0, 0, 500070.0, 0, -70.0, 4650140.0)
    assert lattice_offset("EPSG:32630", shifted, ref) == (-2, 1)
    assert grid_status("EPSG:32630", shifted, (40, 48), ref) == ("shifted (-2, 1) px", "")
    assert grid_status("EPSG:32630", ref.transform, ref.shape, ref)[0] == "reference"
    assert grid_status("EPSG:32630", Affine(70.0, 0, 500010.0, 0, -70.0, 4650000.0), (40, 48), ref)[0] == "off-lattice"
    assert grid_status(None, ref.transform, ref.shape, ref)[1].startswith("no CRS")
    assert lattice_offset("EPSG:32629", ref.transform, ref) is None
    fine = Grid("EPSG:32630", 500000.0 + 3 * 70.0, 4650000.0 - 2 * 70.0, 10.0, 7, 7)
    assert window_of(ref, fine) == (2, 3)


def test_records_round_trip_and_read_old_files(tmp_path):
    from rocksoil_nb.learn.runs import RunOutdated, RunResult, RunSpec
    from rocksoil_nb.prepare.manifest import DatasetManifest, DatasetOutdated, KindInfo, NormStats, ProtocolInfo, SpatialInfo

    m = DatasetManifest("day", ["LST", "EmisWB"], 16, 0.5, 0.5, 5, 3, "c.zarr", "l.tif", "abc", ["2022-01-01"], 36,
                        SpatialInfo(32, 16, [5]))
    norm = NormStats([300.0, 0.97], [5.0, 0.01], [9, 9])
    m.kinds["cnn"] = KindInfo(10, ["t"], {"spatial": ProtocolInfo({"train": 6, "val": 2, "test": 2}, norm, {"train": [0] * 14})})
    m.write(tmp_path)
    back = DatasetManifest.read(tmp_path)  # stored paths are relative to the dataset folder, read back resolved
    assert back.cube == str((tmp_path / "c.zarr").resolve()) and back.labels == str((tmp_path / "l.tif").resolve())
    assert dataclasses.replace(back, cube="c.zarr", labels="l.tif") == m and back.protocol("cnn", "spatial").norm.mean == [300.0, 0.97]
    assert back.to_json()["cube"] == "c.zarr"
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk["kinds"]["cnn"]["spatial"]["counts"]["train"] == 6  # the layout earlier versions wrote
    del on_disk["spatial"]
    (tmp_path / "manifest.json").write_text(json.dumps(on_disk))
    with pytest.raises(DatasetOutdated, match="rebuild"):
        DatasetManifest.read(tmp_path)
    old_inputs = {"area": "demo", "variant": "day", "model": "cnn", "protocol": "spatial", "kind": "cnn", "bands": ["LST", "EmisWB"],
                  "mean": [300.0, 0.97], "std": [5.0, 0.01], "patch_size": 16, "overlap": 0.5}
    (tmp_path / "inputs.json").write_text(json.dumps(old_inputs))
    spec = RunSpec.read(tmp_path)
    assert spec.frames == 1 and spec.name == "day-cnn-spatial" and dataclasses.asdict(spec)["crs"] == "EPSG:32630"
    (tmp_path / "inputs.json").write_text(json.dumps({"area": "demo"}))
    with pytest.raises(RunOutdated, match="retrain"):
        RunSpec.read(tmp_path)
    r = RunResult("day-cnn-spatial", "day", "cnn", "spatial", 3, {"oa": 0.5, "macro_f1": 0.2}, 10, 40)
    r.write(tmp_path)
    assert RunResult.read(tmp_path) == r and RunResult.read(tmp_path).score("oa") == 0.5


def test_acquire_result_has_one_shape(demo_cfg, demo_raw, tmp_path, monkeypatch):
    import shutil

    from rocksoil_nb import acquire, config

    monkeypatch.setenv("ROCKSOIL_WORKDIR", str(tmp_path))
    cfg = config.load("demo", "quick")
    shutil.copytree(demo_raw, cfg.layout.raw_dir)  # already complete: the simulator skips
    res = acquire.run(cfg, progress=False)
    assert res.source == "simulated" and res.skipped and res.thermal_passes == 64 and res.sentinel2_dates > 0
    assert acquire.AcquireResult.from_json(json.loads(json.dumps(res.to_json()))) == res
    assert set(res.table().index) >= {"source", "thermal_passes", "sentinel1_dates", "warnings"}


def test_pyproject_declares_what_the_package_imports():
    import sys
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {d.split(">")[0].split("=")[0].split("[")[0].strip().lower() for d in project["dependencies"]}
    optional = {d.split(">")[0].split("=")[0].split("[")[0].strip().lower() for g in project["optional-dependencies"].values() for d in g}
    dist = {"sklearn": "scikit-learn", "yaml": "pyyaml", "IPython": "ipython", "ee": "earthengine-api", "tensorflow": "tensorflow-cpu"}
    used = set()
    for f in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            used |= {n.split(".")[0] for n in names}
            used |= {"distributed" for n in names if n.startswith("dask.distributed")}  # a separate distribution
    third = {n for n in used if n not in sys.stdlib_module_names and n != "rocksoil_nb"}
    missing = {dist.get(n, n).lower() for n in third} - declared - optional
    assert missing == set(), f"imported but not declared in pyproject.toml: {sorted(missing)}"
    unused = declared - {dist.get(n, n).lower() for n in third} - {"pyogrio", "dask"}  # engines geopandas/xarray load by name
    assert unused == set(), f"declared but never imported: {sorted(unused)}"


def test_project_root_is_found_from_any_folder(tmp_path, monkeypatch):
    from rocksoil_nb import config

    monkeypatch.chdir(tmp_path)  # e.g. JupyterLab serving reports/<aoi>/<profile>/
    monkeypatch.delenv("ROCKSOIL_ROOT", raising=False)
    assert config.project_root() == ROOT


def test_one_registry_of_models():
    import typing

    from rocksoil_nb.config.schema import RATE_KEYS, ModelName, Profile
    from rocksoil_nb.learn import registry

    assert set(typing.get_args(ModelName)) == set(registry.MODELS)  # the schema's choices are the registry's names
    assert Profile().models == list(typing.get_args(ModelName))
    with pytest.raises(ValueError, match=r"unknown model 'unet'; the registry has \['pixel_rf', 'pixel_series', 'pixel_focal', 'cnn'"):
        registry.get("unet")
    for e in registry.MODELS.values():
        assert e.rate in RATE_KEYS and e.kind in ("cnn", "seq", "year"), e.name
        for what in ("fit", "warmup", "cost", "rescore", "build", "settings", "estimator"):
            if getattr(e, what):
                assert e.load(what) is not None, (e.name, what)  # every named function exists
        assert bool(e.build) == e.deep, e.name
    assert registry.names(deep=False) == ["pixel_rf", "pixel_series", "pixel_focal"]
    assert registry.baselines() == ["pixel_rf", "pixel_series"] and registry.title("majority") == "majority"
    # no module outside the registry branches on a model's name
    offenders = [f"{f.relative_to(ROOT)}:{i}" for f in sorted(PKG.rglob("*.py")) if f.name not in ("registry.py", "schema.py")
                 for i, line in enumerate(f.read_text().splitlines(), 1)
                 if re.search(r"""model\w* (==|!=|in|not in) \(?["'](cnn|convlstm|tae|pixel_rf|pixel_series)""", line)]
    assert offenders == []


def test_the_package_logs_instead_of_printing():
    """Messages go through ``logging`` (rocksoil_nb.core.logs); only command-line entry points print their output."""
    found = []
    for f in sorted(PKG.rglob("*.py")):
        if f.name == "cli.py":
            continue
        tree = ast.parse(f.read_text())
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name == "main":
                for node in ast.walk(fn):
                    node.in_main = True  # type: ignore[attr-defined]
        found += [f"{f.relative_to(ROOT)}:{n.lineno}" for n in ast.walk(tree) if isinstance(n, ast.Call)
                  and getattr(n.func, "id", "") == "print" and not getattr(n, "in_main", False)]
    assert found == []
    # a module run as `python -m` is named __main__: its logger must be named, or its messages fall outside rocksoil_nb's
    unnamed = [str(f.relative_to(ROOT)) for f in PKG.rglob("*.py")
               if '__name__ == "__main__"' in f.read_text() and "getLogger(__name__)" in f.read_text()]
    assert unnamed == []


def test_help_loads_no_deep_learning_library():
    import subprocess
    import sys

    code = ("import sys\nfrom rocksoil_nb import cli\n"
            "for argv in (['--help'], ['report', '--help'], ['experiments', '--help'], ['predict', '--help']):\n"
            "    try:\n        cli.main(argv)\n    except SystemExit:\n        pass\n"
            "print('LOADED', sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and "LOADED []" in out.stdout, out.stdout[-500:] + out.stderr[-2000:]


def test_the_thesis_import_is_a_source_like_the_others():
    """One cube writer (one chunking, declared attributes) for built and imported cubes; after 01_acquire no step asks
    for the import by its source name (``prepare.sources.imported`` or the cube's attributes do)."""
    from rocksoil_nb.prepare import cube, thesis_import

    writers = sorted(str(f.relative_to(PKG)) for f in PKG.rglob("*.py") if ".to_zarr(" in f.read_text())
    assert writers == ["prepare/cube.py"]
    literal = sorted(str(f.relative_to(PKG)) for f in PKG.rglob("*.py") if f'"{thesis_import.SOURCE}"' in f.read_text())
    assert literal == ["prepare/thesis_import.py"] or all(p.startswith("config/") or p == "prepare/thesis_import.py" for p in literal)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        cube.CubeAttrs(crs="EPSG:32630", transform=[70.0, 0, 0, 0, -70.0, 0], res_m=70.0, inputs_hash="x", colour="red")
