"""Batch runs: execute the numbered notebooks with papermill for an area and profile,
writing executed copies and HTML into ``reports/<aoi>/<profile>/``.

A failing notebook keeps its executed copy (error visible) and HTML; the run stops there
and exits non-zero naming it. A run never waits for ever: every cell has a time limit (the profile's
``cell_timeout_s``) and every kernel a start limit (``kernel_start_timeout_s``). A notebook that stalls
(a cell over its limit, a kernel that does not start) is retried once, reusing what the package's own
resume logic keeps (finished downloads, cubes, datasets, trained runs); a second stall stops the run
with a message naming the notebook, the cell's first line and the time waited, the partially executed
copy kept for inspection. Retries are listed in the report's index.

Each notebook's wall time and CPU time (its kernel's user + system seconds, the papermill machinery included) are
recorded as it finishes in ``reports/<aoi>/<profile>/timing.csv`` (:data:`TIMING`): the profile's budget is checked
against these (``bench/budget.py``, the notebook tests), and 07 reads them to say what the whole report will take.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import time
from pathlib import Path

from rocksoil_nb import config
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core.io import write_text
from rocksoil_nb.viz import BATCH_ENV

log = logging.getLogger("rocksoil_nb.report")  # by name: run as `python -m rocksoil_nb.report` its __name__ is __main__
KERNEL = "rocksoil"
RETRIES = 1  # a stalled notebook is run again once
#: what the runner may inject into a notebook's tagged ``parameters`` cell (each notebook gets those it declares)
INJECTED = ("aoi", "profile", "variant", "model")
#: the CPU time a report may take, in budgets, before the notebook tests fail: a margin for machines slower than the
#: 2-core laptop the budgets are stated for (the wall time also depends on what else runs; the CPU time much less)
CPU_MARGIN = 1.6
TIMING = "timing.csv"  # per notebook: wall_s, cpu_s (user + system of this process and its kernels), finished UTC
#: the measured time of every notebook per area and profile (``bench/budget.py`` records it from a report's timing.csv);
#: each notebook shows its own rows at the top (:func:`time_to_run`)
TIMINGS = Path("parameters") / "timings.csv"


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and of its finished child processes (the notebook kernels)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def record_timing(out_dir: Path, notebook: str, wall_s: float, cpu_s: float) -> Path:
    """Add (or replace) one notebook's row of ``timing.csv`` in ``out_dir`` (wall and CPU seconds, when it finished, and
    the machine's 1-minute load average then: a wall time measured on a shared machine says so)."""
    import datetime as dt

    import pandas as pd

    from rocksoil_nb.core.io import write_csv

    p = out_dir / TIMING  # = cfg.layout.timing_file
    old = pd.read_csv(p) if p.exists() else pd.DataFrame(columns=["notebook", "wall_s", "cpu_s", "finished_utc"])
    row = pd.DataFrame([{"notebook": notebook, "wall_s": round(wall_s, 1), "cpu_s": round(cpu_s, 1),
                         "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                         "load_1min": round(os.getloadavg()[0], 2)}])  # runnable processes: > cores = a shared machine
    table = pd.concat([old[old["notebook"] != notebook], row]).sort_values("notebook")
    return write_csv(p, table)


def read_timing(out_dir: Path):
    """The recorded ``timing.csv`` of a report folder (empty table when there is none)."""
    import pandas as pd

    p = Path(out_dir) / TIMING
    return pd.read_csv(p) if p.exists() else pd.DataFrame(columns=["notebook", "wall_s", "cpu_s", "finished_utc"])


class NotebookFailed(RuntimeError):
    """A notebook raised an error; its executed copy shows where."""


class NotebookStalled(NotebookFailed):
    """A notebook's cell ran past its time limit, or its kernel did not start, twice."""


def stalled_cell(message: str, executed: Path | None = None) -> str:
    """The first line of the cell a timeout stopped: from nbclient's message (it previews the cell), else the
    last cell of the executed copy that has an execution count."""
    lines = message.splitlines()
    if "-------------------" in lines:
        i = lines.index("-------------------")
        if i + 1 < len(lines) and lines[i + 1].strip():
            return lines[i + 1].strip()
    if executed is not None and executed.exists():
        import nbformat

        cells = [c for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code" and c.get("execution_count")]
        if cells:
            return cells[-1].source.splitlines()[0] if cells[-1].source else "(empty cell)"
    return "(unknown cell)"


def notebooks(root: Path) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) present, in order."""
    return sorted(p for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def parameter_names(nb_path: Path) -> list[str]:
    """Names assigned in the notebook's cell tagged ``parameters`` (exactly one such cell is expected)."""
    import ast

    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{nb_path}: {len(cells)} cells tagged 'parameters' (expected exactly one)")
    tree = ast.parse(cells[0].source)
    return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]


def to_html(nb_path: Path) -> Path:
    """Render an executed notebook to HTML beside it (atomic)."""
    import nbformat
    from nbconvert import HTMLExporter


    body, _ = HTMLExporter().from_notebook_node(nbformat.read(nb_path, as_version=4))
    return write_text(nb_path.with_suffix(".html"), body)


def run(aoi: str, profile: str | None = None, only: list[str] | None = None, kernel: str = KERNEL, root: Path | None = None,
        cell_timeout: int | None = None, variant: str | None = None, model: str | None = None,
        start_timeout: int | None = None) -> list[Path]:
    """Execute every notebook (or those whose name starts with one of ``only``) for ``aoi`` into
    ``reports/<aoi>/<profile>/``; a cell running longer than ``cell_timeout`` seconds (default: the profile's
    ``cell_timeout_s``) or a kernel not started within ``start_timeout`` (the profile's ``kernel_start_timeout_s``)
    stalls the notebook: it is retried once, then the run stops with :class:`NotebookStalled`. Explorer cells draw
    static figures (``ROCKSOIL_BATCH``). ``variant`` and ``model`` go to the notebooks that declare them (08, 09)."""
    root = root or config.project_root()
    cfg = config.load(aoi, profile, root=root)  # validate before running anything
    limits = (cell_timeout or cfg.profile.cell_timeout_s, start_timeout or cfg.profile.kernel_start_timeout_s)
    out_dir = cfg.layout.reports_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    batch = os.environ.get(BATCH_ENV)
    os.environ[BATCH_ENV] = "1"  # the kernels inherit it: explorers draw static figures (no front end answers widgets)
    try:
        return _run_all(cfg, root, aoi, only, kernel, limits, variant, model, out_dir)
    finally:
        if batch is None:
            os.environ.pop(BATCH_ENV, None)
        else:
            os.environ[BATCH_ENV] = batch


def _run_all(cfg: AreaConfig, root: Path, aoi: str, only, kernel: str, limits: tuple[int, int], variant, model,
             out_dir: Path) -> list[Path]:
    done, retried = [], []
    for nb in notebooks(root):
        if only and not any(nb.name.startswith(o) for o in only):
            continue
        out = out_dir / nb.name
        params = {"aoi": aoi, "profile": cfg.profile_name, "variant": variant, "model": model}
        declared = parameter_names(nb)
        params = {k: v for k, v in params.items() if v is not None and k in declared}
        t_nb, cpu_nb = time.time(), _cpu_s()
        for attempt in range(RETRIES + 1):
            t0 = time.time()
            log.info("report %s/%s: %s ...%s", aoi, cfg.profile_name, nb.name, " (retry)" if attempt else "")
            stall = _execute(nb, out, params, kernel, root, limits)
            if stall is None:
                break
            waited = time.time() - t0
            what = f"{nb.name} stalled for area {aoi!r}: {stall} (waited {waited:.0f} s)"
            if attempt < RETRIES:
                log.warning("report: %s; running it once more (finished steps are reused)", what)
                retried.append(f"{nb.name}: {stall}")
                continue
            if out.exists():
                to_html(out)
            raise NotebookStalled(f"{what}, also on the retry. Partially executed copy: {out}")
        wall, cpu = time.time() - t_nb, _cpu_s() - cpu_nb  # before the HTML: what the notebook itself cost
        record_timing(out_dir, nb.name, wall, cpu)
        to_html(out)
        log.info("report: %s done in %.0f s (%.0f CPU-s) -> %s", nb.name, wall, cpu, out)
        done.append(out)
    index = write_index(cfg, retried)
    log.info("report: index %s", index)
    return done


def _execute(nb: Path, out: Path, params: dict, kernel: str, root: Path, limits: tuple[int, int]) -> str | None:
    """Run one notebook; None when it finished, else what stalled (the cell's first line, or the kernel start).
    An error raised by a cell is :class:`NotebookFailed` (not retried: rerunning would raise it again)."""
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError

    cell_timeout, start_timeout = limits
    try:
        pm.execute_notebook(str(nb), str(out), parameters=params, kernel_name=kernel, cwd=str(root / "notebooks"),
                            progress_bar=False, log_output=False, execution_timeout=cell_timeout, start_timeout=start_timeout)
    except pm.PapermillExecutionError as e:
        to_html(out)
        raise NotebookFailed(f"{nb.name} failed for area {params.get('aoi')!r} (cell {e.exec_count}): {e.ename}: {e.evalue}. "
                             f"Executed copy with the error: {out}") from None
    except CellTimeoutError as e:
        return f"cell '{stalled_cell(str(e), out)}' ran past the {cell_timeout} s limit"
    except (TimeoutError, RuntimeError) as e:
        if "kernel" not in str(e).lower() and "Kernel" not in type(e).__name__:
            raise
        return f"the kernel {kernel!r} did not start within {start_timeout} s ({e})"
    return None


def record_timings(root: Path, aoi: str, profile: str, timing, cores: int | None = None) -> Path:
    """Put a report's per-notebook times (a ``timing.csv`` table) into ``parameters/timings.csv`` as the measured rows of
    ``aoi``/``profile`` (replacing earlier ones), with the date and the machine's cores."""
    import pandas as pd

    path = Path(root) / TIMINGS
    rows = pd.DataFrame({"area": aoi, "profile": profile, "notebook": [Path(n).stem for n in timing["notebook"]],
                         "wall_s": timing["wall_s"].round(1), "cpu_s": timing["cpu_s"].round(1),
                         "load_1min": timing["load_1min"] if "load_1min" in timing else float("nan"),
                         "measured_utc": timing["finished_utc"].astype(str).str[:10], "cores": cores or os.cpu_count()})
    old = pd.read_csv(path) if path.exists() else rows.iloc[:0]
    old = old[~((old["area"] == aoi) & (old["profile"] == profile))]
    out = pd.concat([old, rows], ignore_index=True).sort_values(["profile", "area", "notebook"], kind="stable")
    from rocksoil_nb.core.io import write_csv

    return write_csv(path, out)


def time_to_run(notebook: str, root: Path | None = None):
    """How long ``notebook`` (e.g. ``"07_train"``) took, as measured per profile and area (``parameters/timings.csv``):
    wall and CPU minutes on the machine named (cores), a table for the top of each notebook."""
    import pandas as pd

    path = Path(root or config.project_root()) / TIMINGS
    t = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["area", "profile", "notebook", "wall_s", "cpu_s",
                                                                            "measured_utc", "cores"])
    t = t[t["notebook"] == notebook]
    return pd.DataFrame({"profile": t["profile"], "area": t["area"], "wall (min)": (t["wall_s"] / 60).round(1),
                         "CPU (min)": (t["cpu_s"] / 60).round(1), "measured": t["measured_utc"],
                         "machine": t["cores"].map(lambda c: f"{int(c)} cores, no GPU")}).set_index(["profile", "area"])


def docs_site(root: Path) -> Path:
    """Where ``make docs`` writes the documentation site of the project at ``root``."""
    return Path(root) / "docs" / "_build" / "html"


def write_index(cfg: AreaConfig, retried: list[str] | None = None) -> Path:
    """``reports/<aoi>/<profile>/index.html``: links to every executed notebook's HTML and its chapter in the
    documentation (relative links into ``docs/_build/html``), the results tables and the map GeoTIFFs (with their QGIS
    styles), readable without Jupyter; notebooks that stalled once and were rerun."""
    import html


    rep = cfg.layout.reports_dir

    def links(paths, label=lambda p: p.name):
        items = "".join(f'<li><a href="{html.escape(str(p.relative_to(rep)))}">{html.escape(label(p))}</a></li>' for p in paths)
        return f"<ul>{items}</ul>" if items else "<p><i>none yet</i></p>"

    notebooks_html = sorted(rep.glob("[0-9][0-9]_*.html"))
    site = docs_site(cfg.root)
    guide = os.path.relpath(site, rep)

    def chapter(p: Path) -> str:  # the notebook's page in the documentation (docs/_build/html, from ``make docs``)
        return (f'<li><a href="{html.escape(str(p.relative_to(rep)))}">{html.escape(p.stem.replace("_", " ", 1))}</a> · '
                f'<a href="{html.escape(guide)}/tutorials/{html.escape(p.stem)}.html">its chapter in the documentation</a></li>')

    tables = sorted((rep / "tables").glob("*.html")) + sorted((rep / "tables").glob("*.csv")) if (rep / "tables").exists() else []
    maps = sorted((rep / "maps").glob("*/*.tif")) if (rep / "maps").exists() else []
    by_run: dict[str, list[Path]] = {}
    for m in maps:
        by_run.setdefault(m.parent.name, []).append(m)
    shown_dates = 6
    parts = []
    for run, files in by_run.items():
        consensus = [f for f in files if f.name.startswith("consensus")]
        dated = [f for f in files if not f.name.startswith("consensus")]
        parts.append(f"<h3>{html.escape(run)}</h3><p>{len(files)} GeoTIFFs (Cloud-Optimized, thermal grid, colour table; open the .tif "
                     f"in QGIS, the .qml beside it styles it)</p>" + links(consensus + dated[:shown_dates]))
        if len(dated) > shown_dates:
            parts.append(f"<p>… and {len(dated) - shown_dates} more in <code>maps/{html.escape(run)}/</code>; list: "
                         f"<a href='maps/{html.escape(run)}/dates.csv'>dates.csv</a></p>")
    map_html = "".join(parts) or "<p><i>no maps yet (08_evaluate writes them)</i></p>"
    retries = ("<p><b>Retried after a stall</b> (each ran once more and finished):</p><ul>"
               + "".join(f"<li>{html.escape(r)}</li>" for r in retried) + "</ul>") if retried else ""
    body = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>rocksoil report: {html.escape(cfg.title)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}} code{{background:#eee}}</style></head><body>
<h1>rocksoil report: {html.escape(cfg.title)}</h1>
<p>Area <code>{html.escape(cfg.name)}</code>, profile <code>{html.escape(cfg.profile_name)}</code>.
Accuracy figures are given under both split protocols: <b>thesis</b> (chronological) and <b>spatial</b> (disjoint blocks).</p>
<p>What each step does and how to read it: the <a href="{html.escape(guide)}/index.html">documentation</a>
({"built" if (site / "index.html").exists() else "build it with <code>make docs</code>"}: user guide, the notebooks as
tutorials, the science behind each step).</p>
<h2>Notebooks</h2><ul>{"".join(chapter(p) for p in notebooks_html) or "<li><i>none yet</i></li>"}</ul>{retries}
<h2>Results tables</h2>{links(tables)}
<h2>Maps</h2>{map_html}
</body></html>"""
    return write_text(rep / "index.html", body)


def add_arguments(ap) -> None:
    """The report's command-line options, shared by ``python -m rocksoil_nb.report`` and ``rocksoil report``."""
    from rocksoil_nb.learn import registry

    ap.add_argument("--aoi", default="demo", help="area name: a parameters/<aoi>.yaml file")
    ap.add_argument("--profile", default=None, help="quick | standard | thesis (default: the area's default_profile)")
    ap.add_argument("--only", nargs="*", help="run only notebooks whose names start with these prefixes, e.g. 01 02")
    ap.add_argument("--kernel", default=KERNEL, help="Jupyter kernel the notebooks run in")
    ap.add_argument("--variant", default=None, help="dataset variant for 08/09's detailed views and maps (default: the area's primary "
                    "variant: the first of the profile's variants its data gives; for a thesis import, the imported set's)")
    ap.add_argument("--model", default=None, help=f"model for 08/09: {' | '.join(registry.names())} | best (08 only)")


def run_args(a) -> int:
    """Run the report for parsed :func:`add_arguments` options; 0 done, 1 a notebook failed, 2 a parameters error."""
    try:
        run(a.aoi, a.profile or None, a.only, a.kernel, variant=a.variant or None, model=a.model or None)
    except config.ParameterError as e:  # an input mistake: the documented exit code 2
        log.error("report: %s", e)
        return 2
    except NotebookFailed as e:
        log.error("report: %s", e)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Run the workbook notebooks for an area with papermill.")
    add_arguments(ap)
    return run_args(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
