"""AppEEARS client for ECOSTRESS ``ECO_L2T_LSTE.002`` area requests.

Flow: ``POST login`` (Earthdata basic auth → bearer token), ``POST task`` (area request),
poll ``GET task/{id}`` with backoff, ``GET bundle/{id}`` (file list), ``GET bundle/{id}/{file_id}``
(download). Resumable: the task id is kept in ``raw/ecostress/appeears_task.json`` and complete
files are skipped; downloads go to a temp file, are checked against the listing's size and
sha256, then renamed. Every message is passed through :func:`credentials.redact`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path

from tqdm.auto import tqdm

from rocksoil_nb.acquire.credentials import Earthdata, redact
from rocksoil_nb.core import ecostress, io

DEFAULT_API = "https://appeears.earthdatacloud.nasa.gov/api/"
STATE_FILE = "appeears_task.json"
RUNNING = ("pending", "queued", "processing", "submitted")


class AppEEARSError(RuntimeError):
    """AppEEARS refused or failed a request; the message says what to do."""


def api_url() -> str:
    """The API root: ``$APPEEARS_API_URL`` (e.g. a mirror or a test server) or the public service."""
    url = os.environ.get("APPEEARS_API_URL") or DEFAULT_API
    return url if url.endswith("/") else url + "/"


class AppEEARS:
    """A small AppEEARS API client. ``session`` is a ``requests.Session``-like object (tests pass a replayer)."""

    def __init__(self, creds: Earthdata, session=None, base_url: str | None = None, sleep=time.sleep,
                 max_retries: int = 4, first_poll_s: float = 10.0, max_poll_s: float = 300.0, timeout_s: float = 120.0):
        if session is None:
            import requests

            session = requests.Session()
        self.creds, self.session, self.base = creds, session, base_url or api_url()
        self.sleep, self.max_retries = sleep, max_retries
        self.first_poll_s, self.max_poll_s, self.timeout_s = first_poll_s, max_poll_s, timeout_s
        self.token = creds.token
        self._relogged = False

    # ---- plumbing -------------------------------------------------------------
    def _err(self, msg: str) -> AppEEARSError:
        return AppEEARSError(redact(msg, self.creds.secrets() + ([self.token] if self.token else [])))

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
        """Get a bearer token with the Earthdata username and password."""
        if not (self.creds.username and self.creds.password):
            raise self._err("the Earthdata token was refused and there is no username/password to log in again; "
                            "create a new token (EARTHDATA_TOKEN) or set EARTHDATA_USERNAME/PASSWORD")
        r = self._send("POST", "login", auth=(self.creds.username, self.creds.password))
        if r.status_code in (401, 403):
            raise self._err(f"AppEEARS login refused (HTTP {r.status_code}): wrong Earthdata username or password "
                            f"(from {self.creds.origin}), or the AppEEARS application is not authorised for the account")
        if r.status_code != 200:
            raise self._err(f"AppEEARS login failed (HTTP {r.status_code}): {self._message(r)}")
        self.token = r.json()["token"]
        return self.token

    def _call(self, method: str, path: str, stream: bool = False, **kw):
        """An authenticated request; on 401 (expired token) log in again once."""
        if not self.token:
            self.login()
        r = self._send(method, path, headers={"Authorization": f"Bearer {self.token}"}, stream=stream, **kw)
        if r.status_code == 401 and not self._relogged:
            self._relogged = True
            self.token = None
            self.login()
            r = self._send(method, path, headers={"Authorization": f"Bearer {self.token}"}, stream=stream, **kw)
        if r.status_code == 401:
            raise self._err(f"AppEEARS {method} {path}: not authorised even after a fresh login (HTTP 401)")
        if r.status_code >= 400:
            raise self._err(f"AppEEARS {method} {path}: HTTP {r.status_code}: {self._message(r)}")
        return r

    # ---- API ----------------------------------------------------------------
    def submit(self, request: dict) -> str:
        """Submit a task; return its id."""
        return self._call("POST", "task", json=request).json()["task_id"]

    def status(self, task_id: str) -> dict:
        return self._call("GET", f"task/{task_id}").json()

    def wait(self, task_id: str, progress: bool = True) -> dict:
        """Poll until the task is done (backoff from ``first_poll_s`` to ``max_poll_s``); raise if it failed."""
        delay = self.first_poll_s
        bar = tqdm(desc=f"AppEEARS task {task_id[:8]}", unit="poll", disable=not progress)
        try:
            while True:
                st = self.status(task_id)
                state = str(st.get("status", "")).lower()
                bar.set_postfix_str(state)
                bar.update()
                if state == "done":
                    return st
                if state not in RUNNING:
                    detail = st.get("error") or st.get("message") or ""
                    raise self._err(f"AppEEARS task {task_id} failed on the server (status {state!r}) {detail}".strip())
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


def fetch_ecostress(cfg, raw_dir: Path, client: AppEEARS, progress: bool = True) -> dict:
    """Request (or resume) the area's ECOSTRESS task and download its bundle into ``raw/ecostress/``."""
    eco = Path(raw_dir) / "ecostress"
    state_path = eco / STATE_FILE
    request = ecostress.task_request(cfg)
    if state_path.exists():
        state = json.loads(state_path.read_text())
        if state.get("request") != request:
            raise AppEEARSError(f"{state_path}: the saved AppEEARS task was made for another request (dates, area or layers "
                                "changed). Raw data is immutable: use a new data folder or delete this one.")
        task_id = state["task_id"]
    else:
        task_id = client.submit(request)
        io.write_json(state_path, {"task_id": task_id, "request": request,
                                   "submitted_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
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
    return {"task_id": task_id, "files": len(files), "downloaded": got, "skipped": len(files) - got}
