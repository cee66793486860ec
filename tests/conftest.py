"""Shared fixtures: the project root and a simulated demo area written once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def make_project(folder: Path, area=None, profiles=None, text: str | None = None, aoi: str = "demo", name: str | None = None,
                 links: tuple[str, ...] = ()) -> Path:
    """The one temporary project of the tests: ``folder/parameters/`` with a copy of ``<aoi>.yaml`` (changed in place by
    ``area(data)``, or ``text`` written as given; saved as ``<name>.yaml`` with ``name:`` set when ``name`` is given) and of
    ``profiles.yaml`` (changed by ``profiles(data)``), a ``rocksoil_nb/`` marker (or, with ``links``, symbolic links to the
    repository's folders named, e.g. ``("notebooks", "rocksoil_nb")``) so that ``config.project_root`` finds it."""
    import yaml

    (folder / "parameters").mkdir(parents=True, exist_ok=True)
    for sub in links:
        (folder / sub).symlink_to(ROOT / sub)
    if "rocksoil_nb" not in links:
        (folder / "rocksoil_nb").mkdir(exist_ok=True)
    data = yaml.safe_load((ROOT / "parameters" / f"{aoi}.yaml").read_text())
    if name:
        data["name"] = name
    if area:
        area(data)
    (folder / "parameters" / f"{name or aoi}.yaml").write_text(text if text is not None else yaml.safe_dump(data))
    prof = yaml.safe_load((ROOT / "parameters" / "profiles.yaml").read_text())
    if profiles:
        profiles(prof)
    (folder / "parameters" / "profiles.yaml").write_text(yaml.safe_dump(prof))
    return folder


@pytest.fixture(scope="session")
def demo_cfg():
    from rocksoil_nb import config

    return config.load("demo", "quick", root=ROOT)


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory, demo_cfg) -> Path:
    """The demo area simulated into a temporary folder (raw/ and truth/ beside it)."""
    from rocksoil_nb.simulate import simulate

    base = tmp_path_factory.mktemp("demo")
    simulate(demo_cfg, base / "raw", progress=False)
    return base / "raw"


@pytest.fixture()
def fixture_dir(tmp_path) -> Path:
    """Copies of the real ECOSTRESS fixture files (never modified in place)."""
    src = ROOT.parent / "shared" / "fixtures" / "ecostress_l2t"
    if not src.exists():
        pytest.skip("shared fixtures not present")
    dst = tmp_path / "fixtures"
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="session")
def report_run(tmp_path_factory, root):
    """The whole demo report (quick profile) in a temporary working folder, run once per session."""
    import os

    from rocksoil_nb import report

    work = tmp_path_factory.mktemp("work")
    old = os.environ.get("ROCKSOIL_WORKDIR")
    os.environ["ROCKSOIL_WORKDIR"] = str(work)
    try:
        outs = report.run("demo", "quick", root=root, cell_timeout=900)
    finally:
        if old is None:
            os.environ.pop("ROCKSOIL_WORKDIR")
        else:
            os.environ["ROCKSOIL_WORKDIR"] = old
    return work, outs


@pytest.fixture(scope="session")
def trained_demo(tmp_path_factory, root):
    """The demo area prepared up to 05 (patches) in a temporary working folder."""
    from rocksoil_nb import config
    from rocksoil_nb.prepare import labels, steps
    from rocksoil_nb.simulate import simulate

    work = tmp_path_factory.mktemp("trainwork")
    os.environ["ROCKSOIL_WORKDIR"] = str(work)
    try:
        cfg = config.load("demo", "quick", root=root)
    finally:
        os.environ.pop("ROCKSOIL_WORKDIR")
    simulate(cfg, progress=False)
    from rocksoil_nb.core import ecostress

    ref = ecostress.reference_grid(cfg.layout.raw_dir / "ecostress")
    labels.make_labels(labels.find_geology_vector(cfg.layout.raw_dir), ref, cfg.layout.labels)
    inv = steps.run_inventory(cfg, progress=False)
    steps.run_cube(cfg, inv, progress=False)
    steps.run_patches(cfg, ["thermal_only"], progress=False)
    return cfg


@pytest.fixture()
def project(tmp_path, root, monkeypatch) -> Path:
    """A project folder with a made-up area for the import and a thesis clone beside it."""
    from .test_thesis_import import COLS, ROWS

    make_project(tmp_path, lambda d: d.update(area={**d["area"], "shape": [ROWS, COLS]}), name="made_up")
    monkeypatch.setenv("ROCKSOIL_ROOT", str(tmp_path))
    monkeypatch.setenv("ROCKSOIL_WORKDIR", str(tmp_path))
    return tmp_path
