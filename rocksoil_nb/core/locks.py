"""One writer at a time: an advisory lock file per run folder and per area's plan.

The lock is the operating system's (``fcntl.flock`` on ``<folder>/.lock``): it is released when its process ends,
however it ends, so the lock of a dead process is simply taken over. The file says who holds it (process id, host,
command, start time, UTC) so that a second process can wait for it or say which process holds it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
import time
from pathlib import Path

LOCK_FILE = ".lock"


class LockHeld(RuntimeError):
    """Another process is writing this folder; the message names it."""


def _holder(fh) -> str:
    fh.seek(0)
    try:
        d = json.loads(fh.read() or "{}")
    except ValueError:
        return "another process"
    return (f"process {d.get('pid', '?')} on {d.get('host', '?')} ({d.get('command', '?')}, started "
            f"{d.get('started_utc', '?')} UTC)")


@contextlib.contextmanager
def hold(folder: str | Path, what: str, wait_s: float = 0.0, poll_s: float = 2.0):
    """Hold the lock of ``folder`` (created if needed) for the block. Another holder: wait up to ``wait_s`` seconds,
    then :class:`LockHeld` naming it and ``what`` is being written. Re-entrant within one process."""
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    key = str(path.resolve())
    if key in _held:  # this process holds it already (a run trained inside a locked plan)
        yield path
        return
    fh = open(path, "a+")  # noqa: SIM115 - held for the whole block
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockHeld(f"{folder}: {what} is being written by {_holder(fh)}; wait for it to finish or stop it "
                                   "(a lock of a process that has ended is taken over by itself)") from None
                time.sleep(poll_s)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv[:3])[:120],
                             "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}))
        fh.flush()
        _held.add(key)
        try:
            yield path
        finally:
            _held.discard(key)
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


_held: set[str] = set()
