"""`make report` never waits for ever: a cell that sleeps for ever is stopped at the profile's limit, retried once,
then the run stops naming the notebook, the cell's first line and the time waited, keeping the partial copy."""

from __future__ import annotations

import time

import nbformat
import pytest

from rocksoil_nb import report

from .conftest import make_project


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell('aoi = "demo"\nprofile = None')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "rocksoil", "display_name": "rocksoil", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)


@pytest.fixture()
def stalling_project(tmp_path, root, monkeypatch):
    make_project(tmp_path, profiles=lambda p: p["quick"].update(cell_timeout_s=3))
    (tmp_path / "notebooks").mkdir()
    stall = "import time  # waits for ever\nwhile True:\n    time.sleep(1)"
    _notebook(tmp_path / "notebooks" / "01_stall.ipynb", ["print('before the stall')", stall])
    _notebook(tmp_path / "notebooks" / "02_after.ipynb", ["print('never reached')"])
    monkeypatch.setenv("ROCKSOIL_ROOT", str(tmp_path))
    monkeypatch.setenv("ROCKSOIL_WORKDIR", str(tmp_path))
    return tmp_path


def test_a_cell_that_sleeps_for_ever_is_stopped_retried_once_and_named(stalling_project, capsys):
    t0 = time.time()
    with pytest.raises(report.NotebookStalled) as e:
        report.run("demo", "quick", root=stalling_project)
    took = time.time() - t0
    msg = str(e.value)
    assert "01_stall.ipynb" in msg and "'import time  # waits for ever'" in msg and "3 s limit" in msg and "waited" in msg
    assert "also on the retry" in msg
    out = capsys.readouterr().err
    assert out.count("01_stall.ipynb ...") == 2 and "running it once more" in out and "02_after" not in out
    assert took < 120  # two attempts of a 3 s limit plus kernel starts, not for ever
    partial = nbformat.read(stalling_project / "reports" / "demo" / "quick" / "01_stall.ipynb", as_version=4)
    assert "before the stall" in str(partial.cells[2].outputs)  # the copy keeps what ran (cell 1 is papermill's injected one)


def test_report_main_exits_non_zero_on_a_stall(stalling_project, capsys):
    assert report.main(["--aoi", "demo", "--profile", "quick", "--only", "01"]) == 1
    assert "stalled" in capsys.readouterr().err


def test_stalled_cell_is_read_from_nbclient_message():
    msg = "A cell timed out ...\nHere is a preview of the cell contents:\n-------------------\nmodel.fit(x)\nmore\n-------------------\n"
    assert report.stalled_cell(msg) == "model.fit(x)"
    assert report.stalled_cell("no preview") == "(unknown cell)"
