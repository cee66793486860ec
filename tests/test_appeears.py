"""AppEEARS client against recorded exchanges: happy path, resume, and every failure path."""

from __future__ import annotations

import hashlib
import json

import pytest

from rocksoil_nb.acquire import appeears, credentials
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


def test_expired_token_is_answered_403_and_logs_in_again(tmp_path, demo_cfg):
    """Tokens expire (~48 h) and AppEEARS answers 403; each expiry gets one fresh login, also twice in one run."""
    script = Script(task_get=["status_pending", "status_pending", "status_processing", "status_processing", "status_done"])
    orig = script.answer
    polls = {"n": 0}

    def answer(method, path, header):
        if path.startswith("task/"):
            polls["n"] += 1
            if polls["n"] in (2, 5):  # the token dies at the 2nd call, and again at the 5th (after a success)
                script.expire_tokens()
        return orig(method, path, header)

    script.answer = answer
    res = appeears.fetch_ecostress(demo_cfg, tmp_path, _client(script), progress=False)
    assert res["downloaded"] == len(BUNDLE)
    assert script.calls.count(("POST", "login")) == 3  # first login + one per expiry
    assert EXCHANGES["forbidden"]["status"] == 403


def test_token_is_renewed_before_it_expires(tmp_path, demo_cfg):
    script = Script(token_lifetime_s=300)  # shorter than the refresh margin: every call finds it about to expire
    client = _client(script)
    appeears.fetch_ecostress(demo_cfg, tmp_path, client, progress=False)
    logins = script.calls.count(("POST", "login"))
    assert logins > 3 and ("GET", "task/" + EXCHANGES["task_submitted"]["json"]["task_id"]) in script.calls
    assert not [c for c in script.calls if c == "forbidden"]
    assert client.token_expires is not None


def test_refused_token_falls_back_to_username_and_password(tmp_path, demo_cfg):
    script = Script()
    creds = credentials.earthdata({"APPEEARS_TOKEN": "stale-token-123456", "EARTHDATA_USERNAME": USER, "EARTHDATA_PASSWORD": PASSWORD})
    res = appeears.fetch_ecostress(demo_cfg, tmp_path, _client(script, creds), progress=False)
    assert res["downloaded"] == len(BUNDLE) and script.calls.count(("POST", "login")) == 1


def test_refused_token_without_password_is_a_clear_error(tmp_path, demo_cfg):
    client = _client(Script(), credentials.earthdata({"APPEEARS_TOKEN": "stale-token-123456"}))
    with pytest.raises(appeears.AppEEARSError, match="APPEEARS_TOKEN.*EARTHDATA_USERNAME") as e:
        appeears.fetch_ecostress(demo_cfg, tmp_path, client, progress=False)
    assert "stale-token-123456" not in str(e.value)


def test_earthdata_user_token_is_not_taken_for_an_appeears_token():
    with pytest.raises(credentials.CredentialsError, match="Earthdata Login user token") as e:
        credentials.earthdata({"EARTHDATA_TOKEN": "EDL-abc123456789", "NETRC": "/nonexistent"})
    assert "EDL-abc123456789" not in str(e.value)


def test_expired_task_is_resubmitted_when_nothing_was_downloaded(tmp_path, demo_cfg):
    state = tmp_path / "ecostress" / appeears.STATE_FILE
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"task_id": "old-task-0001", "request": ecostress.task_request(demo_cfg)}))
    script = Script(task_get=["status_done_expired", "status_pending", "status_done"])
    res = appeears.fetch_ecostress(demo_cfg, tmp_path, _client(script), progress=False)
    assert res["resubmitted_expired_task"] == "old-task-0001" and res["downloaded"] == len(BUNDLE)
    assert ("POST", "task") in script.calls and ("GET", "bundle/old-task-0001") not in script.calls
    saved = json.loads(state.read_text())
    assert saved["previous_task_ids"] == ["old-task-0001"] and saved["task_id"] == EXCHANGES["task_submitted"]["json"]["task_id"]


def test_expired_task_with_files_says_how_to_resubmit(tmp_path, demo_cfg):
    appeears.fetch_ecostress(demo_cfg, tmp_path, _client(Script()), progress=False)
    with pytest.raises(appeears.AppEEARSError, match=r"expired on \d{4}-\d\d-\d\d.*delete .*appeears_task.json"):
        appeears.fetch_ecostress(demo_cfg, tmp_path, _client(Script(task_get=["status_done_expired"])), progress=False)
    gone = Script(bundle=["bundle_expired"])  # no expires_on seen, but the bundle is gone
    with pytest.raises(appeears.AppEEARSError, match="bundle is gone"):
        appeears.fetch_ecostress(demo_cfg, tmp_path, _client(gone), progress=False)


def test_crashed_and_unknown_statuses(tmp_path, demo_cfg):
    script = Script(task_get=["status_crashed_retry", "status_unknown", "status_done"])
    with pytest.warns(UserWarning) as record:
        res = appeears.fetch_ecostress(demo_cfg, tmp_path / "a", _client(script), progress=False)
    assert res["downloaded"] == len(BUNDLE)
    text = " ".join(str(w.message) for w in record)
    assert "retries it at" in text and "'deferred'" in text
    task = EXCHANGES["task_submitted"]["json"]["task_id"]
    with pytest.raises(appeears.AppEEARSError, match=f"task {task} failed on the server \\(status 'crashed' after 3 attempt"):
        appeears.fetch_ecostress(demo_cfg, tmp_path / "b", _client(Script(task_get=["status_crashed"])), progress=False)
    clock = iter(range(0, 10**7, 3600))
    slow = appeears.AppEEARS(Earthdata(username=USER, password=PASSWORD, origin="test"),
                             session=ReplaySession(Script(task_get=["status_pending"])), base_url="https://appeears.example/api/",
                             sleep=lambda s: None, max_wait_s=5 * 3600, clock=lambda: next(clock))
    with pytest.raises(appeears.AppEEARSError, match="still 'pending'.*rerun later to resume"):
        appeears.fetch_ecostress(demo_cfg, tmp_path / "c", slow, progress=False)


def test_bundle_names_are_the_services(tmp_path, demo_cfg):
    """Zone-suffixed L2T names in a <product>_<start>_to_<end>/ folder, as AppEEARS delivers them."""
    tifs = [f for f in BUNDLE if f["file_name"].endswith(".tif")]
    assert tifs and all(f["file_name"].startswith("ECO_L2T_LSTE.002_2022001_to_2023365/") for f in tifs)
    appeears.fetch_ecostress(demo_cfg, tmp_path, _client(Script()), progress=False)
    lst = ecostress.find_layer((tmp_path / "ecostress").glob("*.tif"), "LST")
    assert len(lst) == 2 and all(ecostress.parse_name(p).tile == "30N" for p in lst)


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
