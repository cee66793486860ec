"""Real-browser check: JupyterLab (headless) serves the executed demo notebook 08_evaluate, Debian's
Chromium driven by Playwright runs it, the explorer appears, a control is changed, the displayed map
changes, and no cell shows an error.

Needs ``/usr/bin/chromium`` (``make browser`` installs Debian's package) and the ``playwright`` Python
package (in requirements.lock; no browser download). Without Chromium the test is skipped, except in
CI (``CI=true``) where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from rocksoil_nb.core import classes

pytestmark = pytest.mark.notebook

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ERROR = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception): ", re.M)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def lab(report_run, tmp_path):
    """JupyterLab on the executed reports folder, with the report's working folder for the kernel."""
    work, outs = report_run
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: run `make browser` (Debian package chromium)")
        pytest.skip("Debian chromium not installed (make browser)")
    port, token = _free_port(), "rocksoil-ui-test"
    env = dict(os.environ, ROCKSOIL_WORKDIR=str(work), JUPYTER_CONFIG_DIR=str(tmp_path / "jcfg"), JUPYTER_RUNTIME_DIR=str(tmp_path / "jrt"))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={work / 'reports' / 'demo' / 'quick'}", "--ServerApp.open_browser=False", "--LabApp.news_url=",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"] + (["--allow-root"] if os.geteuid() == 0 else [])
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _explorer_cell(page):
    """The cell holding the explorer: the last code cell with drop-down controls (the web map before it has none)."""
    return page.locator(".jp-CodeCell").filter(has=page.locator(".jupyter-widgets select")).last


def _maps_image(page):
    """The src of the explorer's first figure (the maps; not an image layer of its web map)."""
    img = _explorer_cell(page).locator(".jupyter-widgets img:not(.leaflet-image-layer)").first
    return img.get_attribute("src", timeout=1000) if img.count() else None


def test_explorer_in_a_real_browser(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    url, token = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        page.goto(f"{url}/lab/tree/08_evaluate.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        page.get_by_text(re.compile(r"Python \(rocksoil\) \| Idle")).wait_for(timeout=120_000)
        page.wait_for_timeout(1000)
        page.locator(".jp-Notebook").click()
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).click()
        deadline = time.time() + 240
        before = None
        while time.time() < deadline and not before:
            page.wait_for_timeout(1000)
            before = _maps_image(page)
        page.screenshot(path=str(tmp_path / "explorer_before.png"), full_page=True)
        assert before, "the explorer drew no figure"
        select = _explorer_cell(page).locator(".jupyter-widgets select")
        assert select.count() >= 2, "area and model-run controls are shown"
        runs = select.nth(1).locator("option").all_inner_texts()
        assert len(runs) >= 2, f"several trained runs to choose from: {runs}"
        current = select.nth(1).input_value()
        select.nth(1).select_option(next(r for r in runs if r != current))
        after = before
        deadline = time.time() + 120
        while time.time() < deadline and after == before:
            page.wait_for_timeout(1000)
            after = _maps_image(page) or before
        page.screenshot(path=str(tmp_path / "explorer_after.png"), full_page=True)
        shutil.copy(tmp_path / "explorer_after.png", os.environ.get("ROCKSOIL_UI_SHOT", str(tmp_path / "shot.png")))
        assert after != before, "changing the model run redraws the maps"
        texts = page.locator(".jp-OutputArea-output").all_inner_texts()
        errors = [t[:300] for t in texts if ERROR.search(t)]
        assert not errors, f"cells show errors: {errors}"
        assert _explorer_cell(page).locator("text=pixel row").count() >= 1
        # the map in its place: 08's web map (and the explorer's) with the layers, their control and the class legend
        page.locator(".leaflet-control-layers").first.wait_for(state="attached", timeout=60_000)
        web = page.locator(".leaflet-container").first
        overlays = web.locator(".leaflet-control-layers-overlays").text_content()
        for layer in ("classes", "confidence", "entropy", "outside the area of applicability", "geology map"):
            assert layer in overlays, f"layer {layer!r} missing from the layer control: {overlays}"
        assert web.locator("img.leaflet-image-layer").count() >= 4  # classes, confidence, entropy, AOA drawn
        legend = web.text_content()
        shown = sum(f"{k} {n}" in legend for k, n in classes.NAMES.items() if k)
        assert "class" in legend and shown >= 2, f"no class legend: {legend[:300]}"
        assert page.get_by_text(re.compile("No basemap: its tile server")).count() >= 1  # offline, and it says so
        browser.close()
