"""The documentation site: built offline from the executed demo report with warnings as errors, every internal link
resolving; the README is a front door of at most 10 kB; names in the prose exist in the code."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 10 * 1024
    assert "docs/_static/map_beside_geology.png" in readme and (ROOT / "docs" / "_static" / "map_beside_geology.png").exists()
    assert "make report" in readme and "make test" in readme and "<!-- results:" in readme  # a generated headline table
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):  # every page the README sends a reader to exists
        assert (ROOT / link).exists(), link


def test_the_link_checker_finds_a_broken_link_and_a_missing_anchor(tmp_path):
    import build

    (tmp_path / "a.html").write_text('<a href="b.html#x">b</a> <a href="b.html#y">y</a> <img src="gone.png"> '
                                     '<a href="https://example.org/nowhere">out</a>')
    (tmp_path / "b.html").write_text('<h1 id="x">b</h1><a href="a.html">back</a>')
    assert build.broken_links(tmp_path) == ["a.html: b.html#y (no such anchor)", "a.html: gone.png"]


def test_names_in_the_prose_exist_in_the_registry_and_the_schema():
    """A model, variant or protocol named in the README, the documentation or a notebook's markdown is one the code has."""
    import json

    from rocksoil_nb.analyse import transfer
    from rocksoil_nb.config.schema import ModelName, ProtocolName, VariantName
    from rocksoil_nb.learn import registry

    # protocols: the within-area ones of the run matrix, and the cross-area one of `make transfer`
    known = {"model": set(registry.MODELS), "variant": set(typing.get_args(VariantName)),
             "protocol": set(typing.get_args(ProtocolName)) | {transfer.PROTOCOL}}
    texts = {p: p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "notebooks" / "README.md"]
             if "_build" not in p.parts and "generated" not in p.parts}
    for nb in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        texts[nb] = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown")
    assert set(registry.MODELS) == set(typing.get_args(ModelName))
    bad = []
    for path, text in texts.items():
        for kind, names in known.items():
            found = re.findall(rf"`([a-z_]+)`\s+{kind}s?\b", text) + re.findall(rf"\b{kind}s?\s+`([a-z_]+)`", text)
            bad += [f"{path.relative_to(ROOT)}: {kind} `{n}`" for n in found if n not in names]
        # the number of split protocols, where the prose counts them
        for word in re.findall(r"\b(two|three|four) (?:split )?protocols\b", text):
            if word != "three":
                bad.append(f"{path.relative_to(ROOT)}: '{word} protocols' (there are {len(typing.get_args(ProtocolName))})")
    assert bad == []


@pytest.mark.notebook
def test_the_documentation_builds_without_warnings_from_the_executed_report(report_run, tmp_path):
    work, _ = report_run
    out = tmp_path / "html"
    run = subprocess.run([sys.executable, str(ROOT / "docs" / "build.py"), "--notebooks", str(work / "reports" / "demo" / "quick"),
                          "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-6000:]
    page = (out / "tutorials" / "08_evaluate.html").read_text()
    assert "<img" in page and "macro" in page  # the executed outputs (figures, tables) are rendered, not re-run
    params = (out / "guide" / "parameters.html").read_text()
    assert "hyperparameters.patch_size" in params and "grid pixel size, metres" in params  # generated from the schema
    api = (out / "generated" / "rocksoil_nb.learn.registry.html").read_text()
    assert "ModelEntry" in api  # the API reference from the docstrings


def test_every_notebook_is_a_cookbook_chapter():
    """Each notebook: an overview listing its sections, its measured time to run per profile, references where a method
    comes from a paper, and a "What's next" link to the next notebook."""
    import json

    from rocksoil_nb import report

    skip = {"What you should see", "Questions", "Overview", "References", "What's next"}
    nbs = report.notebooks(ROOT)
    for k, nb_path in enumerate(nbs):
        cells = json.loads(nb_path.read_text())["cells"]
        text = ["".join(c["source"]) for c in cells]
        md = [t for t, c in zip(text, cells) if c["cell_type"] == "markdown"]
        sections = [line[3:].strip() for t in md for line in t.splitlines() if line.startswith("## ") and line[3:].strip() not in skip]
        overview = next(t for t in md if t.startswith("## Overview"))
        assert re.findall(r"^\d+\. (.+)$", overview, re.M) == sections, nb_path.name
        assert f'report.time_to_run("{nb_path.stem}")' in text, nb_path.name
        refs = next(t for t in md if t.startswith("## References"))
        assert re.search(r"^\* .+\((19|20)\d\d\)", refs, re.M), nb_path.name
        nxt = nbs[(k + 1) % len(nbs)].name
        assert text[-1].startswith("## What's next") and f"]({nxt})" in text[-1], nb_path.name
    t = report.time_to_run("07_train", ROOT)
    assert {"quick", "standard"} <= set(t.index.get_level_values("profile")) and (t["wall (min)"] > 0).all()


def test_the_spatial_context_table_is_the_generated_one():
    """The README's target table for the spatial-context model is what `make context-readme` renders from the
    documentation's generated results tables (never typed), and a missing results table is named."""
    from rocksoil_nb.analyse import readme_tables as rt

    rows = rt.context_rows(ROOT)
    assert [r[0] for r in rows] == ["demo", "villoslada", "puertollano", "santa_olalla"]
    assert rt.between((ROOT / "README.md").read_text(), "areas", "standard", "all", "context") == rt.render_context(ROOT, rows)
    with pytest.raises(ValueError, match="results:nowhere:standard:thermal_only"):
        rt.render_context(ROOT, [("nowhere", "standard", "thermal_only")])
