"""The package's messages to the user (a rebuilt cube, a resumed or retrained run, a replaced parameter): the standard
``logging`` module, logger ``rocksoil_nb`` and its children (``logging.getLogger(__name__)`` in each module).

By default INFO and above are shown on standard error as ``rocksoil: <message>`` (in JupyterLab, under the cell), and do
not propagate to the root logger, so that an application's own logging configuration does not print them twice. Set
``ROCKSOIL_LOG_LEVEL`` (``WARNING``, ``DEBUG`` …) or call :func:`show` to change the level; notebooks keep their
progress bars and tables, which are not log messages.
"""

from __future__ import annotations

import logging
import os
import sys

LOGGER = "rocksoil_nb"


class _Stderr(logging.Handler):
    """Writes to the ``sys.stderr`` of the moment (a notebook's or a test's capture), not the one at import time."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


def show(level: int | str | None = None) -> logging.Logger:
    """Show the package's messages of ``level`` and above (default ``$ROCKSOIL_LOG_LEVEL`` or INFO) on standard error."""
    log = logging.getLogger(LOGGER)
    log.setLevel(level or os.environ.get("ROCKSOIL_LOG_LEVEL", "INFO").upper())
    if not any(isinstance(h, _Stderr) for h in log.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("rocksoil: %(message)s"))
        log.addHandler(handler)
    log.propagate = False
    return log
