"""Does a profile keep its budget? Usage:
    .venv/bin/python bench/budget.py [--aoi demo] [--profile quick] [--keep DIR] [--write-docs]

Runs the whole report of one area (default: the demo, ``quick``) from nothing — simulation included — in a fresh
temporary working folder (``ROCKSOIL_WORKDIR``), then prints each notebook's wall time and CPU time (its kernel's
user + system seconds, from ``reports/<aoi>/<profile>/timing.csv``) and the totals against the profile's
``budget_minutes``, with their ratio; ``--from REPORT_DIR`` takes a finished report's ``timing.csv`` instead of
running one (a full area's ``standard`` report, which runs for an hour). The CPU check does not depend on what else
the machine is doing: the notebook tests (``make test``) fail when the demo report's CPU time passes ``CPU_MARGIN`` x
the budget (a margin for slower machines). ``--write-docs`` writes the measured table into ``parameters/PROFILES.md``
where it has markers for the area and profile, and the per-notebook times into ``parameters/timings.csv``, which each
notebook shows at its top (numbers measured, never typed).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

from rocksoil_nb.report import CPU_MARGIN  # the CPU time the notebook tests allow, in budgets

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "parameters" / "PROFILES.md"
MARK = ("<!-- budget:{aoi}:{profile} -->", "<!-- /budget:{aoi}:{profile} -->")


def run(aoi: str, profile: str, keep: Path | None = None):
    """Run the report from nothing in a fresh working folder; return (timing table, wall s, cfg)."""
    import pandas as pd

    from rocksoil_nb import config, report

    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="rocksoil-budget-"))
    os.environ["ROCKSOIL_WORKDIR"] = str(work)
    cfg = config.load(aoi, profile, root=ROOT)
    t0 = time.time()
    report.run(aoi, profile, root=ROOT)
    wall = time.time() - t0
    return pd.read_csv(cfg.layout.timing_file), wall, cfg


def table(timing, wall: float, cfg) -> str:
    """The measured table, in Markdown: per notebook wall and CPU seconds, totals against the budget."""
    budget_s = cfg.profile.budget_minutes * 60
    lines = ["| notebook | wall (s) | CPU (s) |", "|---|---:|---:|"]
    lines += [f"| {r.notebook} | {r.wall_s:.0f} | {r.cpu_s:.0f} |" for r in timing.itertuples()]
    cpu = float(timing["cpu_s"].sum())
    lines.append(f"| **whole report** | **{wall:.0f}** | **{cpu:.0f}** |")
    if budget_s:
        lines.append("")
        lines.append(f"Budget {cfg.profile.budget_minutes:g} min = {budget_s:.0f} s: wall {wall / budget_s:.2f} of it, CPU "
                     f"{cpu / budget_s:.2f} (the tests allow CPU up to {CPU_MARGIN} x the budget, {CPU_MARGIN * budget_s:.0f} s).")
    lines.append(f"Measured {time.strftime('%Y-%m-%d', time.gmtime())} on {os.cpu_count()} cores, {platform.machine()}, "
                 f"Python {platform.python_version()} (`make bench-budget`).")
    return "\n".join(lines)


def write_docs(text: str, aoi: str, profile: str) -> Path:
    """Put ``text`` between the budget markers of ``aoi``/``profile`` in ``parameters/PROFILES.md``."""
    start, end = (m.format(aoi=aoi, profile=profile) for m in MARK)
    doc = DOC.read_text()
    if start not in doc:
        raise SystemExit(f"{DOC}: no {start} marker; add one where the table belongs")
    doc = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: f"{start}\n{text}\n{end}", doc, flags=re.S)
    DOC.write_text(doc)
    return DOC


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aoi", default="demo")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--keep", default=None, help="working folder to use and keep (default: a new temporary one)")
    ap.add_argument("--write-docs", action="store_true",
                    help="write the measured table into parameters/PROFILES.md and the times into parameters/timings.csv")
    ap.add_argument("--from", dest="src", default=None, help="a finished report folder (reports/<aoi>/<profile>/): record its "
                                                             "timing.csv instead of running the report")
    a = ap.parse_args(argv)
    if a.src:
        import pandas as pd

        from rocksoil_nb import config

        cfg = config.load(a.aoi, a.profile, root=ROOT)
        timing = pd.read_csv(Path(a.src) / "timing.csv")
        wall = float(timing["wall_s"].sum())
    else:
        timing, wall, cfg = run(a.aoi, a.profile, Path(a.keep) if a.keep else None)
    text = table(timing, wall, cfg)
    print(text)
    if a.write_docs:
        from rocksoil_nb import report

        print(f"written: {report.record_timings(ROOT, a.aoi, a.profile, timing)}")
        if MARK[0].format(aoi=a.aoi, profile=a.profile) in DOC.read_text():
            print(f"written: {write_docs(text, a.aoi, a.profile)}")
    budget_s = cfg.profile.budget_minutes * 60
    return 1 if budget_s and float(timing["cpu_s"].sum()) > CPU_MARGIN * budget_s else 0


if __name__ == "__main__":
    sys.exit(main())
