"""Sphinx configuration of the rocksoil documentation (``make docs``).

Sphinx with MyST-NB and the PyData theme, chosen because the package's docstrings are already written with Sphinx
roles (``:func:``, ``:mod:``) that autodoc renders, MyST-NB renders executed notebooks without running them, and the
PyData theme is the one the scientific Python stack's own documentation uses. The nine notebooks are not run here:
``docs/build.py`` copies the executed demo report into ``tutorials/`` first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ROCKSOIL_LOG_LEVEL", "WARNING")

project = "rocksoil"
author = "the rocksoil developers"
copyright = "2026, the rocksoil developers (MIT licence)"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.mathjax"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
html_static_path = ["_static"]

# notebooks: rendered from the executed demo report, never executed by the docs build
nb_execution_mode = "off"
nb_output_stderr = "remove"
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

# API reference from the docstrings
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False, "ignore-module-all": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
add_module_names = False

html_theme = "pydata_sphinx_theme"
html_title = "rocksoil"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
html_last_updated_fmt = ""
