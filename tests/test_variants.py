"""One rule for "the variant a step shows": the area's primary variant (the first of the profile's variants that its
data gives; for a thesis import, the imported set's). No step names a variant itself."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from rocksoil_nb.prepare import patches

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {ROOT / "rocksoil_nb" / "prepare" / "patches.py", ROOT / "rocksoil_nb" / "config" / "schema.py"}  # the table, the schema
# 'day', 'night', 'winter', 'summer' are also the inventory's day/night and season labels of a pass: only the names that
# are nothing but variants are looked for
NAMES = {v for v in patches.VARIANTS if v not in ("day", "night", "winter", "summer")}


def _literals(source: str) -> list[tuple[int, str]]:
    return [(n.lineno, n.value) for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in NAMES]


def test_no_step_names_a_variant_outside_the_variant_table_and_the_schema():
    found = []
    for p in sorted((ROOT / "rocksoil_nb").rglob("*.py")):
        if p not in ALLOWED:
            found += [f"{p.relative_to(ROOT)}:{line}: {v!r}" for line, v in _literals(p.read_text())]
    for p in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for i, c in enumerate(json.loads(p.read_text())["cells"]):
            if c["cell_type"] == "code":
                src = "".join(c["source"])
                found += [f"{p.name} cell {i}: {v!r}" for _, v in _literals(src)]
    assert not found, "variant names written into steps (use patches.primary_variant / the variant table):\n" + "\n".join(found)


def test_primary_variant_of_acquired_data_is_the_profiles_first(demo_cfg):
    assert patches.primary_variant(demo_cfg) == demo_cfg.profile.variants[0]
    assert patches.primary_variant(demo_cfg, "night") == "night"  # a given variant is kept
    assert patches.area_variants(demo_cfg) == list(demo_cfg.profile.variants)


@pytest.mark.parametrize("variant", ["thermal_sar", "day"])
def test_primary_variant_of_an_import_is_the_imported_sets(project, variant):
    from rocksoil_nb import config
    from rocksoil_nb.learn import experiments
    from rocksoil_nb.prepare import thesis_import

    from .test_thesis_import import make_set

    make_set(project / "clone" / f"data_thermal_{variant}", bands=4 if variant == "thermal_sar" else 2)
    name = thesis_import.import_area(project, "made_up", project / "clone")
    cfg = config.load(name, "quick")  # quick lists thermal_only only
    thesis_import.run(cfg, progress=False)
    assert patches.primary_variant(cfg) == variant and patches.area_variants(cfg) == [variant]
    from rocksoil_nb.prepare import steps

    steps.run_patches(cfg, progress=False)
    assert {v for v, _, _ in experiments.matrix(cfg)} == {variant}  # 07 trains the imported set, not nothing


@pytest.mark.extra
@pytest.mark.notebook
@pytest.mark.parametrize("variant", ["thermal_sar", "day"])
def test_any_published_set_runs_01_to_09(project, root, variant):
    """A published set other than the development one, as a new user would run it: import, then the whole report."""
    import shutil

    from rocksoil_nb import report
    from rocksoil_nb.prepare import thesis_import

    from .test_thesis_import import make_set

    shutil.copytree(root / "notebooks", project / "notebooks")
    make_set(project / "clone" / f"data_thermal_{variant}", bands=4 if variant == "thermal_sar" else 2)
    name = thesis_import.import_area(project, "made_up", project / "clone")
    outs = report.run(name, "quick", root=project, cell_timeout=900)
    assert [p.name[:2] for p in outs] == [f"{i:02d}" for i in range(1, 10)]
    text = (project / "reports" / name / "quick" / "08_evaluate.ipynb").read_text()
    assert f"detailed views for {variant}" in text
