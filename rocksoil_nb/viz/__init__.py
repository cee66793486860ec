"""Every figure and widget: map panels with legends and scale bars, one module of figures per stage,
and the JupyterLab explorers."""

import os

BATCH_ENV = "ROCKSOIL_BATCH"  # set by rocksoil_nb.report for the kernels it starts (papermill runs)


def in_batch() -> bool:
    """True in a papermill run of ``rocksoil_nb.report``: no front end will ever answer a widget there."""
    return os.environ.get(BATCH_ENV) == "1"
