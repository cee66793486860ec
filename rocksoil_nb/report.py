"""Batch runs: execute the numbered notebooks with papermill for an area and profile,
writing executed copies and HTML into ``reports/<aoi>/``.

A failing notebook keeps its executed copy (error visible) and HTML; the run stops there
and exits non-zero naming it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from . import config

KERNEL = "rocksoil"


class NotebookFailed(RuntimeError):
    """A notebook raised an error; its executed copy shows where."""


def notebooks(root: Path) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) present, in order."""
    return sorted(p for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def to_html(nb_path: Path) -> Path:
    """Render an executed notebook to HTML beside it (atomic)."""
    import nbformat
    from nbconvert import HTMLExporter

    from .io import write_text

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(nb_path, as_version=4))
    return write_text(nb_path.with_suffix(".html"), body)


def run(aoi: str, profile: str | None = None, only: list[str] | None = None, kernel: str = KERNEL, root: Path | None = None) -> list[Path]:
    """Execute every notebook (or those whose name starts with one of ``only``) for ``aoi``."""
    import papermill as pm

    root = root or config.project_root()
    cfg = config.load(aoi, profile, root=root)  # validate before running anything
    out_dir = cfg.reports_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for nb in notebooks(root):
        if only and not any(nb.name.startswith(o) for o in only):
            continue
        out = out_dir / nb.name
        t0 = time.time()
        print(f"[report] {aoi}/{cfg.profile_name}: {nb.name} ...", flush=True)
        try:
            pm.execute_notebook(str(nb), str(out), parameters={"aoi": aoi, "profile": cfg.profile_name}, kernel_name=kernel,
                                cwd=str(root / "notebooks"), progress_bar=False, log_output=False)
        except pm.PapermillExecutionError as e:
            to_html(out)
            raise NotebookFailed(f"{nb.name} failed for area {aoi!r} (cell {e.exec_count}): {e.ename}: {e.evalue}. "
                                 f"Executed copy with the error: {out}") from None
        to_html(out)
        print(f"[report] {nb.name} done in {time.time() - t0:.0f} s -> {out}", flush=True)
        done.append(out)
    return done


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Run the workbook notebooks for an area with papermill.")
    ap.add_argument("--aoi", default="demo")
    ap.add_argument("--profile", default=None, help="quick | standard | thesis (default: the area's default_profile)")
    ap.add_argument("--only", nargs="*", help="run only notebooks whose names start with these prefixes, e.g. 01 02")
    ap.add_argument("--kernel", default=KERNEL)
    a = ap.parse_args(argv)
    try:
        run(a.aoi, a.profile or None, a.only, a.kernel)
    except (NotebookFailed, config.ParameterError) as e:
        print(f"[report] ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
