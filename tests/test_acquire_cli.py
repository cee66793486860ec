import dataclasses
import re

import pytest

from rocksoil_nb import acquire, cli


def test_remote_source_without_credentials_says_where_it_looked(demo_cfg, monkeypatch, tmp_path):
    from rocksoil_nb.acquire import credentials

    for k in ("EARTHDATA_TOKEN", "EARTHDATA_USERNAME", "EARTHDATA_PASSWORD", "EE_PROJECT"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    acq = dataclasses.replace(demo_cfg.acquisition, sentinel=False)
    cfg = dataclasses.replace(demo_cfg, source="appeears+gee", acquisition=acq, workdir=tmp_path)
    with pytest.raises(credentials.CredentialsError, match=re.escape("EARTHDATA_USERNAME and EARTHDATA_PASSWORD")):
        acquire.run(cfg, progress=False)


def test_cli_simulate_writes_and_then_skips(tmp_path, capsys):
    out = tmp_path / "raw"
    assert cli.main(["simulate", "--aoi", "demo", "--out", str(out), "--quiet"]) == 0
    assert "64 ECOSTRESS passes" in capsys.readouterr().out
    assert (out / "manifest.json").exists() and (out / "truth" / "geology_true_10m.tif").exists()  # truth stays inside --out
    assert cli.main(["simulate", "--aoi", "demo", "--out", str(out), "--quiet"]) == 0
    assert "skipped" in capsys.readouterr().out


def test_cli_unknown_area(capsys):
    assert cli.main(["simulate", "--aoi", "atlantis", "--quiet"]) == 2
    assert "atlantis" in capsys.readouterr().err


def test_inventory_of_demo(demo_raw):
    inv = acquire.file_table(demo_raw).set_index(["source", "layer"])
    assert inv.loc[("ECOSTRESS ECO_L2T_LSTE.002", "LST"), "files"] == 64
    assert inv.loc[("Sentinel-1 GRD", "VV"), "files"] == inv.loc[("Sentinel-1 GRD", "VH"), "files"]
    assert ("geology vector", "geology_map") in inv.index


def test_cli_report_passes_variant_and_model(monkeypatch):
    from rocksoil_nb import report

    seen = {}
    monkeypatch.setattr(report, "run", lambda *a, **kw: seen.update(args=a, kw=kw))
    assert cli.main(["report", "--aoi", "demo", "--variant", "thermal_only", "--model", "best", "--only", "08"]) == 0
    assert seen["args"] == ("demo", None, ["08"], report.KERNEL) and seen["kw"] == {"variant": "thermal_only", "model": "best"}
    seen.clear()  # python -m rocksoil_nb.report takes the same options
    assert report.main(["--aoi", "demo", "--variant", "thermal_only", "--model", "best", "--only", "08"]) == 0
    assert seen["kw"] == {"variant": "thermal_only", "model": "best"}
