"""The results tables of the README and the documentation, rendered from the runs' files (never typed):
``make results-readme``.

A table sits in the README or a documentation page (``docs/**/*.md``; one table may stand in several) between
``<!-- results:<aoi>:<profile>:<variant> -->`` and
``<!-- /results:<aoi>:<profile>:<variant> -->``; this module replaces what is between the markers with the variant's
results table (``reports/<aoi>/<profile>/tables/results_<variant>.csv``, as 08 writes it: test OA and macro-F1 under
each protocol) and a provenance line: commit, date of the report, machine (cores, GPU or not) and the report's wall
time (``timing.csv``). Prose around the markers may interpret the numbers; it never restates them.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from rocksoil_nb.config.schema import AreaConfig


def _commit(root: Path) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _gpu() -> str:
    return "a GPU" if Path("/dev/nvidia0").exists() else "no GPU"


def read_table(reports_dir: Path, variant: str, area: str | None = None, profile: str | None = None) -> pd.DataFrame:
    """The results table 08 wrote for ``variant`` (rows model, columns (protocol, statistic): values, interval bounds,
    seed spreads), the protocols and the thesis's own numbers only; the rows of ``area`` and ``profile`` (default: the
    report folder's, ``reports/<area>/<profile>/``: 08's tables hold every area of the working folder)."""
    reports_dir = Path(reports_dir)
    p = reports_dir / "tables" / f"results_{variant}.csv"
    if not p.exists():
        raise FileNotFoundError(f"{p}: no results table; run the report (make report) first")
    t = pd.read_csv(p, header=[0, 1], index_col=[0, 1, 2])
    area, profile = area or reports_dir.parent.name, profile or reports_dir.name
    t = t[(t.index.get_level_values(0) == area) & (t.index.get_level_values(1) == profile)]
    if t.empty:
        raise FileNotFoundError(f"{p}: no rows of {area} ({profile}); run its report first")
    keep = [c for c in t.columns if c[0].endswith("protocol") or c[0].endswith("split") or c[0].startswith("thesis published")]
    return t[keep].droplevel([0, 1])


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown: each value with its 95 % interval (and seed spread), three decimals, the best value of
    each protocol column in bold."""
    from rocksoil_nb.analyse.results import display, value_columns

    cols = [c for c in value_columns(table) if table[c].notna().any()]  # no empty columns (no published numbers)
    shown = display(table)
    head = "| model | " + " | ".join(f"{p.replace(' protocol', '')} {s}" for p, s in cols) + " |"
    lines = [head, "|---" * (len(cols) + 1) + "|"]
    best = {c: table[c].max() for c in cols}
    for name, row in table.iterrows():
        cells = []
        for c in cols:
            text = shown.loc[name, c]
            bold = not c[0].startswith("thesis published") and pd.notna(row[c]) and row[c] == best[c]
            cells.append("" if text == "–" else (f"**{text}**" if bold else text))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_commits(models_dir: Path, patterns: tuple[str, ...] = ("*/manifest.json",)) -> str:
    """The commits the runs of a models folder were trained at (their ``manifest.json``), short, comma-separated."""
    import json

    found = []
    for m in sorted(p for pattern in patterns for p in Path(models_dir).glob(pattern)):
        c = str(json.loads(m.read_text()).get("git_commit") or "")[:7]
        if c and c not in found:
            found.append(c)
    return ", ".join(found) or "unknown"


def render(reports_dir: Path, variant: str, root: Path, models_dir: Path | None = None) -> str:
    """Table and provenance line of one report folder: the commit of its runs (``models_dir``), the report's date,
    this machine's cores and GPU, the report's wall and CPU time."""
    reports_dir = Path(reports_dir)
    text = markdown(read_table(reports_dir, variant))
    timing = reports_dir / "timing.csv"
    wall, when = "", ""
    if timing.exists():
        t = pd.read_csv(timing)
        wall = f", whole report {t['wall_s'].sum() / 60:.1f} min wall ({t['cpu_s'].sum() / 60:.1f} min CPU"
        if "load_1min" in t and t["load_1min"].notna().any():  # a wall time on a shared machine says so
            wall += f"; mean load {t['load_1min'].mean():.1f} on {os.cpu_count()} cores"
        wall += ")"
        when = str(t["finished_utc"].max())[:10]
    commit = run_commits(models_dir) if models_dir else _commit(root)
    return (f"{text}\n\n*Value [95 % interval: bootstrap of the held-out units]. Generated by `make results-readme` from "
            f"`{reports_dir.parent.name}/{reports_dir.name}` tables: runs of commit {commit}, report of "
            f"{when or 'unknown date'}, {os.cpu_count()} cores and {_gpu()}{wall}.*")


def render_seeds(cfg: AreaConfig, variant: str, root: Path) -> str:
    """The spread over training seeds of the runs of ``cfg``'s seeds (:func:`rocksoil_nb.analyse.intervals.seed_table`)
    as Markdown, with its provenance line."""
    from rocksoil_nb.analyse.intervals import seed_table

    t = seed_table(cfg, variant)
    if t.empty:
        raise SystemExit(f"{cfg.layout.models_dir}: no finished runs of seeds {cfg.profile.seeds} for {variant}; "
                         f"train them first (rocksoil experiments --aoi {cfg.name} --profile {cfg.profile_name} --seeds ...)")
    cols = list(t.columns)
    lines = ["| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"]
    lines += ["| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |"
              for row in t.itertuples(index=False)]
    return ("\n".join(lines) + f"\n\n*Generated by `make results-readme SEEDS=\"{' '.join(map(str, cfg.profile.seeds))}\"` from "
            f"`models/{cfg.name}/{cfg.profile_name}/` (seed 0 and `seed<s>/`): runs of commit "
            f"{run_commits(cfg.layout.models_dir, ('*/manifest.json', 'seed*/*/manifest.json'))}, {os.cpu_count()} cores "
            f"and {_gpu()}.*")


def trust_row(reports_dir: Path, variant: str) -> dict:
    """One area's mapped run (08's choice) from its report's tables: its calibration (test ECE before and after, fitted
    on validation) and its area of applicability (share outside, OA and macro-F1 inside and outside on the test blocks)."""
    tables = Path(reports_dir) / "tables"
    aoa_csv, cal_csv = tables / f"aoa_{variant}.csv", tables / f"calibration_{variant}_spatial.csv"
    for p in (aoa_csv, cal_csv):
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such table; run 08_evaluate of this report (make report) first")
    a = pd.read_csv(aoa_csv).set_index("where")
    run = str(a["run"].iloc[0])
    c = pd.read_csv(cal_csv).set_index("run")
    cal = c.loc[run] if run in c.index else None
    model = run.split("-")[1]
    from rocksoil_nb.learn import registry

    def pair(col: str) -> str:
        return f"{a.loc['test blocks, inside', col]:.3f} / {a.loc['test blocks, outside', col]:.3f}"

    return {"area": Path(reports_dir).parent.name, "mapped model": registry.title(model),
            "calibration": "–" if cal is None else str(cal["calibration"]),
            "test ECE before → after": "–" if cal is None else f"{cal['test ECE before']:.3f} → {cal['test ECE after']:.3f}",
            "outside the AOA": f"{1 - a.loc['whole area', 'share of pixels']:.0%}",
            "test OA inside / outside": pair("OA"), "test macro-F1 inside / outside": pair("macro-F1")}


def render_trust(reports_dirs: list[Path], variant: str) -> str:
    """The trust table of several areas' reports (one row each, :func:`trust_row`) as Markdown with its provenance."""
    rows = [trust_row(r, variant) for r in reports_dirs]
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"] + ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
    when = []
    for r in reports_dirs:
        t = Path(r) / "timing.csv"
        if t.exists():
            when.append(str(pd.read_csv(t)["finished_utc"].max())[:10])
    return ("\n".join(lines) + f"\n\n*{variant}, spatial protocol. Generated by `make trust-readme` from the reports' tables "
            f"(`tables/calibration_{variant}_spatial.csv`, `tables/aoa_{variant}.csv`, as 08 writes them) of "
            f"{', '.join(f'`{Path(r).parent.name}/{Path(r).name}`' for r in reports_dirs)}; reports of "
            f"{max(when) if when else 'unknown date'}, {os.cpu_count()} cores and {_gpu()}.*")


#: (area, profile) rows of the spatial-context target table: the demo and the full simulated areas
CONTEXT = (("demo", "quick"), ("villoslada", "standard"), ("puertollano", "standard"), ("santa_olalla", "standard"))


def context_rows(root: Path) -> list[tuple[str, str, str]]:
    """(area, profile, primary variant) of each row of :data:`CONTEXT`."""
    from rocksoil_nb import config
    from rocksoil_nb.prepare import patches

    return [(a, p, patches.primary_variant(config.load(a, p, root=root))) for a, p in CONTEXT]


def render_context(root: Path, rows: list[tuple[str, str, str]]) -> str:
    """Issue 28's target table: for each (area, profile, variant), the macro-F1 of the whole-series model, of the same
    model with neighbourhood means and of the best T = 5 model under both protocols, read from the generated results
    tables of the documentation (never typed), with the report's measured wall time (``parameters/timings.csv``)."""
    from rocksoil_nb.learn import registry

    texts = [d.read_text() for d in documents(root)]
    timings = pd.read_csv(root / "parameters" / "timings.csv")
    t5 = [registry.title(m) for m in registry.names() if registry.get(m).kind in ("cnn", "seq") and registry.get(m).deep]
    series, focal = registry.title("pixel_series"), registry.title("pixel_focal")
    head = f"| area ({rows[-1][2]}) | spatial: {series} | {focal} (difference) | best T = 5 | thesis: {focal} | best T = 5 | report |"
    lines = [head, "|---" * 7 + "|"]
    for aoi, profile, variant in rows:
        block = next((b for b in (between(t, aoi, profile, variant) for t in texts) if b), "")
        v = numbers(block)
        if not v:
            raise ValueError(f"no generated results table {marker(aoi, profile, variant)[0]} in {[str(d) for d in documents(root)]}")
        sp, fo = v[(series, "spatial F1")], v[(focal, "spatial F1")]
        bm, bv = _best(v, t5, "spatial F1")
        tm, tv = _best(v, t5, "thesis F1")
        wall = timings[(timings.area == aoi) & (timings.profile == profile)]["wall_s"].sum() / 60
        lines.append(f"| {aoi}{'' if profile == 'standard' else f' ({profile})'} | {sp:.3f} | {fo:.3f} ({fo - sp:+.3f}) | "
                     f"{bv:.3f} {bm} | {v[(focal, 'thesis F1')]:.3f} | {tv:.3f} {tm} | {wall:.0f} min |")
    lines.append("\n*Macro-F1 from the generated tables in [Results](docs/results.md) (intervals and `thermal_sar` there and "
                 "in [Benchmarks](docs/benchmarks.md#spatial-context-on-whole-series-what-was-tried)); report: whole "
                 "report from nothing, 2 cores. `make context-readme`.*")
    return "\n".join(lines)


def _best(values: dict[tuple[str, str], float], models: list[str], column: str) -> tuple[str, float]:
    """(model, value) of the highest ``column`` among ``models`` in a parsed results table."""
    got = {m: values[(m, column)] for m in models if (m, column) in values}
    m = max(got, key=got.get)
    return m, got[m]


def marker(aoi: str, profile: str, variant: str, kind: str = "results") -> tuple[str, str]:
    return f"<!-- {kind}:{aoi}:{profile}:{variant} -->", f"<!-- /{kind}:{aoi}:{profile}:{variant} -->"


def between(readme_text: str, aoi: str, profile: str, variant: str, kind: str = "results") -> str:
    """What the README holds between the markers of a table ('' when there are none)."""
    start, end = marker(aoi, profile, variant, kind)
    m = re.search(re.escape(start) + r"\n(.*?)\n" + re.escape(end), readme_text, flags=re.S)
    return m.group(1) if m else ""


def _rows(block: str) -> list[list[str]]:
    """The cells of a Markdown table's lines (header first), bold marks stripped."""
    lines = [ln for ln in block.splitlines() if ln.startswith("| ") and not ln.startswith("|---")]
    return [[c.strip().strip("*") for c in ln.strip("|").split("|")] for ln in lines]


def numbers(block: str) -> dict[tuple[str, str], float]:
    """The values of a rendered results table (the first number of each cell, not its interval):
    {(model, column header): value}."""
    rows = _rows(block)
    if not rows:
        return {}
    head = rows[0]
    return {(r[0], head[i]): float(c.split()[0]) for r in rows[1:] for i, c in enumerate(r) if i > 0 and c}


def seed_tolerances(readme_text: str, aoi: str, profile: str, variant: str) -> dict[tuple[str, str], float]:
    """From the README's generated seeds table of an area and profile: {(model, results column header such as
    'spatial OA'): standard deviation over training seeds} — how much that cell moves with the seed, and so on another
    machine, where float sums differ and training takes another path ({} without such a table)."""
    rows = _rows(between(readme_text, aoi, profile, variant, "seeds"))
    if not rows:
        return {}
    head = rows[0]
    out = {}
    for r in rows[1:]:
        cell = dict(zip(head, r))
        for stat in ("OA", "F1"):
            out[(cell["model"], f"{cell['protocol']} {stat}")] = float(cell[f"{stat} sd"])
    return out


def documents(root: Path) -> list[Path]:
    """The files generated tables go in: the README and the documentation's pages (``docs/**/*.md``)."""
    docs = Path(root) / "docs"
    return [Path(root) / "README.md"] + sorted(p for p in docs.rglob("*.md") if "_build" not in p.parts and "generated" not in p.parts)


def holding(root: Path, aoi: str, profile: str, variant: str, kind: str = "results") -> Path:
    """The first of :func:`documents` that holds the markers of a table (an error naming the markers where none does)."""
    start, end = marker(aoi, profile, variant, kind)
    for doc in documents(root):
        text = doc.read_text()
        if start in text and end in text:
            return doc
    raise SystemExit(f"no document of {root} (README.md, docs/) holds {start} ... {end}; add the markers where the table belongs")


def update(root: Path, body: str, aoi: str, profile: str, variant: str, kind: str = "results") -> list[Path]:
    """Replace what is between the markers of a table by ``body`` in every document that holds them (a table may stand
    in the README and in the documentation); none holding them is an error naming the markers."""
    start, end = marker(aoi, profile, variant, kind)
    done = []
    for doc in documents(root):
        text = doc.read_text()
        if start in text and end in text:
            doc.write_text(re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: f"{start}\n{body}\n{end}", text, flags=re.S))
            done.append(doc)
    if not done:
        holding(root, aoi, profile, variant, kind)
    return done


def main(argv: list[str] | None = None) -> int:
    import dataclasses

    from rocksoil_nb import config
    from rocksoil_nb.prepare import patches

    ap = argparse.ArgumentParser(description="Render the README's results tables from the runs' files.")
    ap.add_argument("--aoi", default="demo")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--variant", default=None, help="default: the area's primary variant")
    ap.add_argument("--reports", default=None, help="the report folder (default: reports/<aoi>/<profile>/ of the work folder)")
    ap.add_argument("--rebuild", action="store_true",
                    help="write the report's tables anew from its runs first (as 08 does), e.g. after a change to the tables")
    ap.add_argument("--trust", nargs="+", default=None, metavar="AOI",
                    help="render the calibration and area-of-applicability table of these areas' reports "
                         "(<!-- trust:areas:<profile>:<variant> --> markers) instead of the results table")
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="render the spread over these training seeds (<!-- seeds:... --> markers) instead of the results table")
    ap.add_argument("--context", action="store_true",
                    help="render the spatial-context target table (<!-- context:areas:standard:all --> markers) from the "
                         "documentation's generated results tables")
    a = ap.parse_args(argv)
    root = config.project_root()
    if a.context:
        done = update(root, render_context(root, context_rows(root)), "areas", "standard", "all", "context")
        print("written: " + ", ".join(str(d) for d in done))
        return 0
    cfg = config.load(a.aoi, a.profile, root=root)
    variant = patches.primary_variant(cfg, a.variant)
    if a.trust:
        dirs = [config.load(area, a.profile, root=root).layout.reports_dir for area in a.trust]
        done = update(root, render_trust(dirs, variant), "areas", a.profile, variant, "trust")
    elif a.seeds:
        cfg.profile = dataclasses.replace(cfg.profile, seeds=a.seeds)
        done = update(root, render_seeds(cfg, variant, root), a.aoi, a.profile, variant, "seeds")
    else:
        reports = Path(a.reports) if a.reports else cfg.layout.reports_dir
        if a.rebuild:
            from rocksoil_nb.analyse import results
            from rocksoil_nb.learn import experiments

            print(f"runs given their per-unit test confusions: {len(experiments.keep_units(cfg))}")
            print(f"tables written anew: {results.write_tables(cfg, results.gather(cfg))[0].parent}")
        body = render(reports, variant, root, cfg.layout.models_dir)
        done = update(root, body, a.aoi, a.profile, variant)
    print("written: " + ", ".join(str(d) for d in done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
