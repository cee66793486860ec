"""AppEEARS client against recorded exchanges: happy path, resume, and every failure path."""

from __future__ import annotations

import hashlib
import json

import pytest

from rocksoil_nb.acquire import appeears
from rocksoil_nb.acquire.credentials import Earthdata
from rocksoil_nb.core import ecostress

from .appeears_fake import EXCHANGES, PASSWORD, USER, ReplaySession, Script

BUNDLE = EXCHANGES["bundle"]["json"]["files"]


def _client(script, creds=None):
    creds = creds or Earthdata(username=USER, password=PASSWORD, origin="test")
    return appeears.AppEEARS(creds, session=ReplaySession(script), base_url="https://appeears.example/api/", sleep=lambda s: None)


def test_request_is_an_area_task_for_the_six_layers(demo_cfg):
    req = ecostress.task_request(demo_cfg)
    assert req["task_type"] == "area"
    assert [x["layer"] for x in req["params"]["layers"]] == ["LST", "LST_err", "QC", "EmisWB", "cloud", "water"]
    assert {x["product"] for x in req["params"]["layers"]} == {"ECO_L2T_LSTE.002"}
    assert req["params"]["dates"] == [{"startDate": "01-01-2022", "endDate": "12-31-2023"}]
    ring = req["params"]["geo"]["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and ring[0] == [demo_cfg.area.sw[1], demo_cfg.area.sw[0]]


def test_download_all_then_rerun_downloads_nothing(tmp_path, demo_cfg):
    script = Script()
    res = appeears.fetch_ecostress(demo_cfg, tmp_path, _client(script), progress=False)
    assert res["files"] == len(BUNDLE) and res["downloaded"] == len(BUNDLE)
    for f in BUNDLE:
        p = tmp_path / "ecostress" / f["file_name"].split("/")[-1]
        assert hashlib.sha256(p.read_bytes()).hexdigest() == f["sha256"]
    state = json.loads((tmp_path / "ecostress" / appeears.STATE_FILE).read_text())
    assert state["task_id"] == EXCHANGES["task_submitted"]["json"]["task_id"]
    again = Script()
    res2 = appeears.fetch_ecostress(demo_cfg, tmp_path, _client(again), progress=False)
    assert res2["downloaded"] == 0 and res2["skipped"] == len(BUNDLE)
    assert ("POST", "task") not in again.calls  # the saved task is continued, not resubmitted
    assert not [c for c in again.calls if c[1].count("/") == 2]  # no file fetched


def test_resume_after_a_cut_download(tmp_path, demo_cfg):
    script = Script()
    victim = BUNDLE[3]
    script.cut.add(victim["file_id"])
    with pytest.raises(appeears.AppEEARSError, match="cut short"):
        appeears.fetch_ecostress(demo_cfg, tmp_path, _client(script), progress=False)
    name = victim["file_name"].split("/")[-1]
    assert not (tmp_path / "ecostress" / name).exists()  # a partial file never masquerades as complete
    assert not list((tmp_path / "ecostress").glob(".*"))  # no temp file left behind
    again = Script()
    res = appeears.fetch_ecostress(demo_cfg, tmp_path, _client(again), progress=False)
    assert res["downloaded"] == len(BUNDLE) - 3  # files 0-2 were complete before the cut
    assert ("POST", "task") not in again.calls
    assert hashlib.sha256((tmp_path / "ecostress" / name).read_bytes()).hexdigest() == victim["sha256"]


def test_wrong_credentials(tmp_path, demo_cfg):
    creds = Earthdata(username=USER, password="not-the-password-xyz", origin="environment")
    with pytest.raises(appeears.AppEEARSError, match="wrong Earthdata username or password") as e:
        appeears.fetch_ecostress(demo_cfg, tmp_path, _client(Script(), creds), progress=False)
    assert "not-the-password-xyz" not in str(e.value) and USER not in str(e.value)


def test_expired_token_logs_in_again_once(tmp_path, demo_cfg):
    script = Script()
    orig = script.answer
    state = {"expired": True}

    def answer(method, path, header):
        if path.startswith("task/") and state["expired"]:
            state["expired"] = False
            script.calls.append((method, path))
            from .appeears_fake import recorded

            return recorded("unauthorized")
        return orig(method, path, header)

    script.answer = answer
    res = appeears.fetch_ecostress(demo_cfg, tmp_path, _client(script), progress=False)
    assert res["downloaded"] == len(BUNDLE)
    assert script.calls.count(("POST", "login")) == 2


def test_expired_env_token_without_password_is_a_clear_error(tmp_path, demo_cfg):
    script = Script()
    client = _client(script, Earthdata(token="stale-token-123456", origin="environment (EARTHDATA_TOKEN)"))
    with pytest.raises(appeears.AppEEARSError, match="token was refused") as e:
        appeears.fetch_ecostress(demo_cfg, tmp_path, client, progress=False)
    assert "stale-token-123456" not in str(e.value)


def test_server_errors_are_retried_then_reported(tmp_path, demo_cfg):
    flaky = Script(bundle=["server_error", "server_error", "bundle"])
    res = appeears.fetch_ecostress(demo_cfg, tmp_path / "a", _client(flaky), progress=False)
    assert res["downloaded"] == len(BUNDLE)
    down = Script(bundle=["server_error"])
    with pytest.raises(appeears.AppEEARSError, match="server error HTTP 503 after 5 tries"):
        appeears.fetch_ecostress(demo_cfg, tmp_path / "b", _client(down), progress=False)


def test_task_failed_on_server(tmp_path, demo_cfg):
    script = Script(task_get=["status_processing", "status_error"])
    with pytest.raises(appeears.AppEEARSError, match="failed on the server.*unexpected error"):
        appeears.fetch_ecostress(demo_cfg, tmp_path, _client(script), progress=False)


def test_empty_result_for_the_dates(tmp_path, demo_cfg):
    with pytest.raises(appeears.AppEEARSError, match="no ECOSTRESS files.*2022-01-01"):
        appeears.fetch_ecostress(demo_cfg, tmp_path, _client(Script(bundle=["bundle_empty"])), progress=False)


def test_changed_request_is_refused(tmp_path, demo_cfg):
    import dataclasses

    appeears.fetch_ecostress(demo_cfg, tmp_path, _client(Script()), progress=False)
    other = dataclasses.replace(demo_cfg, period=dataclasses.replace(demo_cfg.period, start=demo_cfg.period.start.replace(year=2021)))
    with pytest.raises(appeears.AppEEARSError, match="another request"):
        appeears.fetch_ecostress(other, tmp_path, _client(Script()), progress=False)
