"""Replay of recorded AppEEARS exchanges (tests/recordings/appeears): an in-process session and a
small local HTTP server for notebook runs. Both serve the same recordings, behaving as the service does: each login
issues a new bearer token valid ~48 h (``expiration``), an expired or unknown token is answered 403, a finished
task carries ``expires_on`` (30 days after completion; times relative to now so the recordings do not age)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REC = Path(__file__).parent / "recordings" / "appeears"
EXCHANGES = json.loads((REC / "exchanges.json").read_text())
USER, PASSWORD = "dummy-user-7Qx", "dummy-pass-Zk93!"


class Response:
    def __init__(self, status: int, body: bytes, content_type: str = "application/json"):
        self.status_code, self._body, self.headers = status, body, {"Content-Type": content_type}

    @property
    def text(self) -> str:
        return self._body.decode(errors="replace")

    def json(self):
        return json.loads(self._body)

    def iter_content(self, chunk_size: int = 65536):
        for i in range(0, len(self._body), chunk_size):
            yield self._body[i : i + chunk_size]


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def recorded(name: str, **fields) -> Response:
    r = EXCHANGES[name]
    if "json" in r:
        return Response(r["status"], json.dumps({**r["json"], **fields}).encode())
    return Response(r["status"], r.get("text", "").encode(), "text/html")


def file_bytes(file_id: str) -> bytes:
    f = next(x for x in EXCHANGES["bundle"]["json"]["files"] if x["file_id"] == file_id)
    return (REC / "files" / Path(f["file_name"]).name).read_bytes()


class Script:
    """What the fake server answers: per route, a list of recorded names (consumed in order, last repeats)."""

    def __init__(self, token_lifetime_s: float = 48 * 3600, **routes):
        self.routes = {"login": ["login_ok"], "task_post": ["task_submitted"], "task_get": ["status_pending", "status_done"],
                       "bundle": ["bundle"], **routes}
        self.calls: list[tuple[str, str]] = []
        self.cut: set[str] = set()  # file ids whose next download is cut short
        self.token_lifetime_s = token_lifetime_s
        self.valid: set[str] = set()  # bearer tokens the server accepts now
        self.logins = 0

    def next(self, route: str) -> str:
        q = self.routes[route]
        return q.pop(0) if len(q) > 1 else q[0]

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as after ~48 h)."""
        self.valid.clear()

    def _login(self) -> Response:
        name = self.next("login")
        if EXCHANGES[name]["status"] != 200:
            return recorded(name)
        self.logins += 1
        token = f"{EXCHANGES[name]['json']['token']}-{self.logins}"
        self.valid.add(token)
        return recorded(name, token=token, expiration=_iso(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.token_lifetime_s)))

    def _status(self) -> Response:
        name = self.next("task_get")
        now = dt.datetime.now(dt.UTC)
        if name == "status_done":
            return recorded(name, completed=_iso(now - dt.timedelta(hours=1)), expires_on=_iso(now + dt.timedelta(days=30)))
        if name == "status_done_expired":
            return recorded(name, completed=_iso(now - dt.timedelta(days=40)), expires_on=_iso(now - dt.timedelta(days=10)))
        if name == "status_crashed_retry":
            return recorded(name, retry_at=_iso(now + dt.timedelta(minutes=30)))
        return recorded(name)

    def answer(self, method: str, path: str, auth_header: str | None) -> Response:
        self.calls.append((method, path))
        if path == "login":
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            return recorded("login_refused") if auth_header != expected else self._login()
        if not (auth_header or "").startswith("Bearer ") or auth_header[7:] not in self.valid:
            return recorded("forbidden")
        if method == "POST" and path == "task":
            return recorded(self.next("task_post"))
        if method == "GET" and re.fullmatch(r"task/[\w-]+", path):
            return self._status()
        m = re.fullmatch(r"bundle/[\w-]+/([\w-]+)", path)
        if m:
            body = file_bytes(m[1])
            if m[1] in self.cut:
                self.cut.discard(m[1])
                body = body[: len(body) // 2]
            return Response(200, body, "application/octet-stream")
        if re.fullmatch(r"bundle/[\w-]+", path):
            return recorded(self.next("bundle"))
        return Response(404, b'{"message": "not found"}')


class ReplaySession:
    """A requests.Session stand-in answering from a :class:`Script`."""

    def __init__(self, script: Script, base: str = "https://appeears.example/api/"):
        self.script, self.base = script, base

    def request(self, method, url, headers=None, auth=None, **kw):
        path = url[len(self.base) :] if url.startswith(self.base) else url
        header = (headers or {}).get("Authorization")
        if auth is not None:
            header = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        return self.script.answer(method, path, header)


def serve(script: Script):
    """Start a local HTTP server answering from ``script``; returns (server, base_url). Call server.shutdown()."""

    class Handler(BaseHTTPRequestHandler):
        def _go(self, method):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            path = self.path.split("/api/", 1)[-1].split("?")[0]
            r = script.answer(method, path, self.headers.get("Authorization"))
            self.send_response(r.status_code)
            self.send_header("Content-Type", r.headers["Content-Type"])
            self.send_header("Content-Length", str(len(r._body)))
            self.end_headers()
            self.wfile.write(r._body)

        def do_GET(self):  # noqa: N802
            self._go("GET")

        def do_POST(self):  # noqa: N802
            self._go("POST")

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/api/"
