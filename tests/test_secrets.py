"""Secrets never leak: 01_acquire runs against a local AppEEARS stand-in (recorded exchanges) with
dummy credentials in the environment; nothing written (notebooks, HTML, data, logs) may contain them."""

from __future__ import annotations

import base64
import os

import pytest

from rocksoil_nb import report

from .appeears_fake import PASSWORD, USER, Script, serve
from .conftest import make_project

pytestmark = pytest.mark.notebook


def _project(tmp_path, root, demo_raw):
    acq = {"sentinel": False, "geology_vector": str(demo_raw / "geology" / "geology_map.gpkg")}
    return make_project(tmp_path / "project", lambda d: d.update(source="appeears+gee", acquisition=acq),
                        links=("notebooks", "rocksoil_nb"))


def _leaks(folder, secrets):
    found = []
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            blob = p.read_bytes()
            found += [(str(p), s) for s in secrets if s.encode() in blob]
    return found


@pytest.mark.parametrize("password,should_fail", [(PASSWORD, False), ("wrong-Pa55-9xq", True)])
def test_01_acquire_never_writes_credentials(tmp_path, root, demo_raw, monkeypatch, capfd, password, should_fail):
    proj = _project(tmp_path, root, demo_raw)
    server, url = serve(Script())
    try:
        monkeypatch.setenv("ROCKSOIL_ROOT", str(proj))
        monkeypatch.setenv("ROCKSOIL_WORKDIR", str(proj))
        monkeypatch.setenv("APPEEARS_API_URL", url)
        monkeypatch.setenv("EARTHDATA_USERNAME", USER)
        monkeypatch.setenv("EARTHDATA_PASSWORD", password)
        monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
        if should_fail:
            with pytest.raises(report.NotebookFailed) as e:
                report.run("demo", "quick", only=["01"], root=proj)
            assert "wrong Earthdata username or password" in str(e.value)
            messages = str(e.value)
        else:
            report.run("demo", "quick", only=["01"], root=proj)
            messages = ""
            eco = sorted((proj / "data" / "demo" / "raw" / "ecostress").glob("*.tif"))
            assert len(eco) == 12  # two passes x six layers from the recorded bundle
    finally:
        server.shutdown()
    out, err = capfd.readouterr()
    secrets = [USER, password, base64.b64encode(f"{USER}:{password}".encode()).decode()]
    assert _leaks(proj / "reports", secrets) == []
    assert _leaks(proj / "data", secrets) == []
    for text in (out, err, messages):
        assert not any(s in text for s in secrets)
    assert (proj / "reports" / "demo" / "quick" / "01_acquire.html").exists()
    assert os.environ.get("EARTHDATA_PASSWORD") == password  # the environment was used, not a parameter
