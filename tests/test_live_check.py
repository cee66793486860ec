"""``make check-live`` against the test doubles: what it asks, what it writes, and skipping without accounts."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np

from rocksoil_nb.acquire import earthengine as gee
from rocksoil_nb.acquire import live

from .appeears_fake import PASSWORD, USER, ReplaySession, Script
from .ee_fake import EEException, FakeEE
from .test_earthengine import _cs, _ms, _s2


def _env(monkeypatch, tmp_path, earthdata: bool):
    for k in ("EARTHDATA_USERNAME", "EARTHDATA_PASSWORD", "EARTHDATA_TOKEN", "APPEEARS_TOKEN", "EE_SERVICE_ACCOUNT_KEY",
              "GOOGLE_APPLICATION_CREDENTIALS", "EE_PROJECT"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    if earthdata:
        monkeypatch.setenv("EARTHDATA_USERNAME", USER)
        monkeypatch.setenv("EARTHDATA_PASSWORD", PASSWORD)


def test_live_check_records_what_the_services_answer(tmp_path, monkeypatch):
    _env(monkeypatch, tmp_path, earthdata=True)
    t = dt.datetime(2022, 3, 10, 11, 6, tzinfo=dt.UTC)
    cloudy = lambda x, y: (x % 700) < 350  # noqa: E731 - half the pixels under cloud
    s2 = _s2("20220310T110851_20220310T111500_T29SQB", t, cloudy, cloud_pct=45.0)
    fake_ee = FakeEE({gee.S2: [s2], gee.S2_CLOUD_SCORE: [_cs(s2["system:index"], t, cloudy)]})
    assert s2["system:time_start"] == _ms(t)
    out = tmp_path / "live.json"
    res = live.run(out, session=ReplaySession(Script()), ee=fake_ee, base_url="https://appeears.example/api/", sleep=lambda s: None)
    saved = json.loads(out.read_text())
    assert saved == res
    a = res["appeears"]
    assert [s["status"] for s in a["statuses"]] == ["pending", "done"] and "expires_on" in a["final_status"]
    assert a["one_file_name"].endswith("_aid0001_30N.tif") and a["qc_nodata"] == 65535 and a["qc_dtype"] == "uint16"
    assert a["garbage_token_http_status"] == 403
    assert a["request"]["params"]["dates"] == [{"startDate": "07-03-2023", "endDate": "07-09-2023"}]
    e = res["earthengine"]
    assert e["raw_type"] == "ndarray" and not e["raw_is_masked_array"] and e["raw_zeros"] > 0  # the service's fill
    assert np.isclose(e["masked_share"], 0.5, atol=0.05) and "SCL" in e["cloud_mask"]
    assert PASSWORD not in out.read_text()


def test_live_check_skips_without_accounts(tmp_path, monkeypatch):
    _env(monkeypatch, tmp_path, earthdata=False)

    class NoAccount(FakeEE):
        def Initialize(self, credentials="persistent", project=None, **kw):  # noqa: N802
            raise EEException("Please authorize access to your Earth Engine account by running earthengine authenticate")

    res = live.run(tmp_path / "live.json", ee=NoAccount({}))
    assert "skipped" in res["appeears"] and "EARTHDATA_USERNAME" in res["appeears"]["skipped"]
    assert "skipped" in res["earthengine"] and "earthengine authenticate" in res["earthengine"]["skipped"]
    assert any("skipped" in line for line in res["log"])
