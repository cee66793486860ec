"""AppEEARS client for ECOSTRESS ``ECO_L2T_LSTE.002`` area requests.

Flow: ``POST login`` (Earthdata basic auth → bearer token), ``POST task`` (area request),
poll ``GET task/{id}`` with backoff, ``GET bundle/{id}`` (file list), ``GET bundle/{id}/{file_id}``
(download). Resumable: the task id is kept in ``raw/ecostress/appeears_task.json`` and complete
files are skipped; downloads go to a temp file, are checked against the listing's size and
sha256, then renamed. Every message is passed through :func:`credentials.redact`.

As the service behaves: a bearer token lasts about 48 h (the login's ``expiration``); the client logs in again
shortly before it runs out, and on a 401 or 403 answer (the API documentation: programs should check for 403 and
acquire a new token) — once per expiry, the allowance renewed after a call succeeds. A finished task's outputs are
kept 30 days (``expires_on``): an expired task is submitted again when nothing of it was downloaded, else the error
says how to resubmit. Tasks can be ``crashed`` with a ``retry_at`` (the service retries them: waited on), ``crashed``
without one or ``error`` (failed, naming the task); unknown statuses are waited on with a warning, all within an
overall limit (``max_wait_s``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
import warnings
from pathlib import Path

from tqdm.auto import tqdm

from rocksoil_nb.acquire.credentials import Earthdata, redact
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import ecostress, io

DEFAULT_API = "https://appeears.earthdatacloud.nasa.gov/api/"
STATE_FILE = "appeears_task.json"
RUNNING = ("pending", "queued", "processing", "submitted")
FAILED = ("error",)
REFRESH_MARGIN_S = 600.0  # log in again this long before the token's expiration


class AppEEARSError(RuntimeError):
    """AppEEARS refused or failed a request; the message says what to do. ``status``: the HTTP status, when one."""

    def __init__(self, msg: str, status: int | None = None):
        super().__init__(msg)
        self.status = status


def _utc(text: str | None) -> dt.datetime | None:
    """An AppEEARS time (``2026-11-27T01:00:00Z``, with or without fractions / offset) as aware UTC, None if absent."""
    if not text:
        return None
    try:
        t = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def api_url() -> str:
    """The API root: ``$APPEEARS_API_URL`` (e.g. a mirror or a test server) or the public service."""
    url = os.environ.get("APPEEARS_API_URL") or DEFAULT_API
    return url if url.endswith("/") else url + "/"


class AppEEARS:
    """A small AppEEARS API client. ``session`` is a ``requests.Session``-like object (tests pass a replayer)."""

    def __init__(self, creds: Earthdata, session=None, base_url: str | None = None, sleep=time.sleep,
                 max_retries: int = 4, first_poll_s: float = 10.0, max_poll_s: float = 300.0, timeout_s: float = 120.0,
                 max_wait_s: float = 7 * 24 * 3600.0, clock=time.monotonic, now=lambda: dt.datetime.now(dt.UTC)):
        if session is None:
            import requests

            session = requests.Session()
        self.creds, self.session, self.base = creds, session, base_url or api_url()
        self.sleep, self.max_retries = sleep, max_retries
        self.first_poll_s, self.max_poll_s, self.timeout_s, self.max_wait_s = first_poll_s, max_poll_s, timeout_s, max_wait_s
        self.clock, self.now = clock, now
        self.token = creds.token
        self.token_expires: dt.datetime | None = None  # unknown for a token given in the environment
        self._relogged = False  # a fresh login was spent on a refused token since the last successful call

    # ---- plumbing -------------------------------------------------------------
    def _err(self, msg: str, status: int | None = None) -> AppEEARSError:
        return AppEEARSError(redact(msg, self.creds.secrets() + ([self.token] if self.token else [])), status)

    def _send(self, method: str, path: str, **kw):
        """One request with bounded retries on HTTP 5xx and connection errors (exponential backoff)."""
        import requests

        url = self.base + path
        for attempt in range(self.max_retries + 1):
            try:
                r = self.session.request(method, url, timeout=self.timeout_s, **kw)
            except requests.RequestException as e:
                if attempt == self.max_retries:
                    raise self._err(f"AppEEARS {method} {path}: no answer after {attempt + 1} tries ({type(e).__name__})") from None
                self.sleep(min(60.0, 2.0 * 2**attempt))
                continue
            if r.status_code >= 500:
                if attempt == self.max_retries:
                    raise self._err(f"AppEEARS {method} {path}: server error HTTP {r.status_code} after {attempt + 1} tries; "
                                    "the service may be down, try again later")
                self.sleep(min(60.0, 2.0 * 2**attempt))
                continue
            return r
        raise AssertionError("unreachable")

    @staticmethod
    def _message(r) -> str:
        try:
            body = r.json()
            return str(body.get("message") or body.get("error") or body)
        except ValueError:
            return (r.text or "")[:200]

    def login(self) -> str:
        """Get a bearer token with the Earthdata username and password; remember its expiration."""
        if not (self.creds.username and self.creds.password):
            raise self._err("the AppEEARS token (APPEEARS_TOKEN) was refused or has expired, and there is no Earthdata "
                            "username/password to log in again: set EARTHDATA_USERNAME and EARTHDATA_PASSWORD (or ~/.netrc)")
        r = self._send("POST", "login", auth=(self.creds.username, self.creds.password))
        if r.status_code in (401, 403):
            raise self._err(f"AppEEARS login refused (HTTP {r.status_code}): wrong Earthdata username or password "
                            f"(from {self.creds.origin}), or the AppEEARS application is not authorised for the account", r.status_code)
        if r.status_code != 200:
            raise self._err(f"AppEEARS login failed (HTTP {r.status_code}): {self._message(r)}", r.status_code)
        body = r.json()
        self.token, self.token_expires = body["token"], _utc(body.get("expiration"))
        return self.token

    def _token_fresh(self) -> bool:
        return bool(self.token) and (self.token_expires is None
                                     or self.now() < self.token_expires - dt.timedelta(seconds=REFRESH_MARGIN_S))

    def _call(self, method: str, path: str, stream: bool = False, **kw):
        """An authenticated request. The token is renewed before it expires; a 401 or 403 answer (expired or
        revoked token) gets one fresh login and one retry, renewed after the next successful call."""
        if not self._token_fresh():
            self.login()
        r = self._send(method, path, headers={"Authorization": f"Bearer {self.token}"}, stream=stream, **kw)
        if r.status_code in (401, 403) and not self._relogged:
            self._relogged = True
            self.token = None
            self.login()
            r = self._send(method, path, headers={"Authorization": f"Bearer {self.token}"}, stream=stream, **kw)
        if r.status_code in (401, 403):
            raise self._err(f"AppEEARS {method} {path}: not authorised even after a fresh login (HTTP {r.status_code}): "
                            f"{self._message(r)}", r.status_code)
        if r.status_code >= 400:
            raise self._err(f"AppEEARS {method} {path}: HTTP {r.status_code}: {self._message(r)}", r.status_code)
        self._relogged = False
        return r

    # ---- API ----------------------------------------------------------------
    def submit(self, request: dict) -> str:
        """Submit a task; return its id."""
        return self._call("POST", "task", json=request).json()["task_id"]

    def status(self, task_id: str) -> dict:
        return self._call("GET", f"task/{task_id}").json()

    def wait(self, task_id: str, progress: bool = True) -> dict:
        """Poll until the task is done (backoff from ``first_poll_s`` to ``max_poll_s``) and return its status.
        ``crashed`` with a ``retry_at`` and unknown statuses are waited on (with a warning); ``crashed`` without
        ``retry_at`` and ``error`` fail naming the task; past ``max_wait_s`` the wait stops with advice to resume."""
        delay = self.first_poll_s
        start = self.clock()
        warned: set[str] = set()
        bar = tqdm(desc=f"AppEEARS task {task_id[:8]}", unit="poll", disable=not progress)
        try:
            while True:
                st = self.status(task_id)
                state = str(st.get("status", "")).lower()
                bar.set_postfix_str(state)
                bar.update()
                if state == "done":
                    return st
                detail = st.get("error") or st.get("message") or ""
                if state in FAILED or (state == "crashed" and not st.get("retry_at")):
                    tries = f" after {st['attempts']} attempt(s)" if st.get("attempts") else ""
                    raise self._err(f"AppEEARS task {task_id} failed on the server (status {state!r}{tries}) {detail}".strip()
                                    + f"; look at it on the AppEEARS site, then delete raw/ecostress/{STATE_FILE} to submit it again")
                if state == "crashed" and state not in warned:
                    warnings.warn(f"AppEEARS task {task_id} crashed on the server (attempt {st.get('attempts', '?')}); the "
                                  f"service retries it at {st['retry_at']}, waiting", stacklevel=2)
                    warned.add(state)
                elif state not in RUNNING and state != "crashed" and state not in warned:
                    warnings.warn(f"AppEEARS task {task_id} has status {state!r}, which this client does not know; waiting "
                                  "for 'done'", stacklevel=2)
                    warned.add(state)
                waited = self.clock() - start
                if waited + delay > self.max_wait_s:
                    raise self._err(f"AppEEARS task {task_id} is still {state!r} after {waited / 3600:.1f} h (limit "
                                    f"{self.max_wait_s / 3600:.0f} h); rerun later to resume: the task id is kept in "
                                    f"raw/ecostress/{STATE_FILE}")
                self.sleep(delay)
                delay = min(self.max_poll_s, delay * 1.5)
        finally:
            bar.close()

    def bundle(self, task_id: str) -> list[dict]:
        """The files of a finished task: dicts with file_id, file_name, file_size, sha256 (where given)."""
        return list(self._call("GET", f"bundle/{task_id}").json().get("files", []))

    def download(self, task_id: str, f: dict, dest_dir: Path, bar=None) -> tuple[Path, bool]:
        """Download one bundle file into ``dest_dir`` (basename); skip when complete. Returns (path, downloaded)."""
        dest = Path(dest_dir) / Path(f["file_name"]).name
        size, sha = f.get("file_size"), f.get("sha256")
        if dest.exists() and (size is None or dest.stat().st_size == int(size)) and (not sha or _sha256(dest) == sha):
            return dest, False
        r = self._call("GET", f"bundle/{task_id}/{f['file_id']}", stream=True, allow_redirects=True)
        digest = hashlib.sha256()
        with io.atomic_path(dest) as tmp:
            with open(tmp, "wb") as fh:
                for chunk in r.iter_content(chunk_size=1 << 20):
                    if chunk:
                        fh.write(chunk)
                        digest.update(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
            got = tmp.stat().st_size
            if size is not None and got != int(size):
                raise self._err(f"{dest.name}: download cut short ({got} of {size} bytes); rerun to resume")
            if sha and digest.hexdigest() != sha:
                raise self._err(f"{dest.name}: sha256 mismatch after download; rerun to fetch it again")
        return dest, True


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _submit(client: AppEEARS, request: dict, state_path: Path, previous: list[str] | None = None) -> str:
    task_id = client.submit(request)
    io.write_json(state_path, {"task_id": task_id, "request": request, "previous_task_ids": previous or [],
                               "submitted_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    return task_id


def fetch_ecostress(cfg: AreaConfig, raw_dir: Path, client: AppEEARS, progress: bool = True) -> dict:
    """Request (or resume) the area's ECOSTRESS task and download its bundle into ``raw/ecostress/``. A saved task
    whose outputs expired (30 days after it finished) is submitted again when none of its files were downloaded."""
    eco = Path(raw_dir) / "ecostress"
    state_path = eco / STATE_FILE
    request = ecostress.task_request(cfg)
    resubmitted = None
    if state_path.exists():
        state = json.loads(state_path.read_text())
        if state.get("request") != request:
            raise AppEEARSError(f"{state_path}: the saved AppEEARS task was made for another request (dates, area or layers "
                                "changed). Raw data is immutable: use a new data folder or delete this one.")
        task_id = state["task_id"]
    else:
        task_id = _submit(client, request, state_path)
    st = client.wait(task_id, progress)
    expires = _utc(st.get("expires_on"))
    files = None
    if expires is None or client.now() < expires:
        try:
            files = client.bundle(task_id)
        except AppEEARSError as e:
            if e.status not in (404, 410):
                raise
    if files is None:  # outputs expired (by expires_on, or the bundle is gone)
        when = f"on {expires:%Y-%m-%d %H:%M} UTC" if expires and client.now() >= expires else "(the bundle is gone)"
        if any(ecostress.find_layer(eco.glob("*.tif"), "LST")):
            raise AppEEARSError(f"AppEEARS task {task_id}: its outputs expired {when}, and {eco} already holds some of its "
                                f"files; delete {state_path} to submit the task again (files already complete are kept)")
        previous = json.loads(state_path.read_text()).get("previous_task_ids", []) + [task_id]
        resubmitted, task_id = task_id, _submit(client, request, state_path, previous)
        client.wait(task_id, progress)
        files = client.bundle(task_id)
    rasters = [f for f in files if str(f.get("file_name", "")).endswith(".tif")]
    if not rasters:
        raise AppEEARSError(f"AppEEARS task {task_id} finished with no ECOSTRESS files: no {ecostress.L2T_PRODUCT} granules "
                            f"cover the area between {cfg.period.start} and {cfg.period.end}")
    total = sum(int(f.get("file_size") or 0) for f in files)
    got = 0
    with tqdm(total=total or None, unit="B", unit_scale=True, desc="AppEEARS download", disable=not progress) as bar:
        for f in files:
            _, new = client.download(task_id, f, eco, bar)
            got += int(new)
    out = {"task_id": task_id, "files": len(files), "downloaded": got, "skipped": len(files) - got}
    if resubmitted:
        out["resubmitted_expired_task"] = resubmitted
    return out
