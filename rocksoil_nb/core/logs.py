"""The package's messages to the user (a rebuilt cube, a resumed or retrained run, a replaced parameter): the standard
``logging`` module, logger ``rocksoil_nb`` and its children (``logging.getLogger(__name__)`` in each module).

By default INFO and above are shown on standard error as ``rocksoil: <message>`` (in JupyterLab, under the cell), and do
not propagate to the root logger, so that an application's own logging configuration does not print them twice. Set
``ROCKSOIL_LOG_LEVEL`` (``WARNING``, ``DEBUG`` …) or call :func:`show` to change the level; notebooks keep their
progress bars and tables, which are not log messages. TensorFlow's own Python logger is set to show errors only.
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


class _ErrorsOnly(logging.Filter):
    """Lets only errors through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


def show(level: int | str | None = None) -> logging.Logger:
    """Show the package's messages of ``level`` and above (default ``$ROCKSOIL_LOG_LEVEL`` or INFO) on standard error."""
    log = logging.getLogger(LOGGER)
    log.setLevel(level or os.environ.get("ROCKSOIL_LOG_LEVEL", "INFO").upper())
    if not any(isinstance(h, _Stderr) for h in log.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("rocksoil: %(message)s"))
        log.addHandler(handler)
    log.propagate = False
    # TensorFlow's Python warnings (e.g. "tf.function retracing" when several models predict one after another) are
    # noise in a notebook: only its errors pass. A filter, not a level: in Jupyter TensorFlow sets its logger's level to
    # INFO the first time it logs.
    tf = logging.getLogger("tensorflow")
    if not any(isinstance(f, _ErrorsOnly) for f in tf.filters):
        tf.addFilter(_ErrorsOnly())
    return log
