"""The results table, one for the whole workbook (07_train, 08_evaluate, ``rocksoil experiments``).

:func:`gather` collects every finished run (area, profile, variant, protocol, model: test OA, macro-F1,
mIoU) with the **majority-class** row of each (area, profile, variant, protocol); :func:`results_table`
shapes it like thesis Tables 3-10: rows area × profile × model, OA and F1 under the ``thesis`` and the
``spatial`` protocol, their gap, and the thesis's published numbers beside ours.

Our F1 is the macro-F1 over the classes present in the test reference (class 0 left out unless the
profile includes it); the thesis's numbers are its own, on its data and its (chronological) protocol.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb import config
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes, io
from rocksoil_nb.learn import metrics, registry
from rocksoil_nb.learn.runs import RunResult
from rocksoil_nb.prepare.manifest import DatasetManifest

GREEN, YELLOW, RED = "#b7e1a1", "#fbe38e", "#f4a6a6"
STATS = ("oa", "f1", "miou")
#: per statistic: the value (mean over training seeds), its 95 % bootstrap interval over the held-out units and the
#: standard deviation over seeds (:mod:`rocksoil_nb.analyse.intervals`)
INTERVAL_COLUMNS = [f"{s}_{x}" for s in STATS for x in ("lo", "hi", "sd")]
COLUMNS = ["area", "profile", "variant", "protocol", "model", "epochs", "oa", "f1", "miou", "weighted_f1", "test_samples",
           "majority_class", "thesis_area", "seeds", "units", "unit", *INTERVAL_COLUMNS]
#: column titles of the protocols in the tables; ``thesis_files`` exists for thesis imports only
PROTOCOL_TITLES = {"thesis": "thesis protocol", "spatial": "spatial protocol", "thesis_files": "thesis's file-name split"}


def thesis_results() -> pd.DataFrame:
    """The thesis's published accuracy and F1 (Tables 3-9 initial configuration, Table 10 final)."""
    with resources.files("rocksoil_nb.data").joinpath("thesis_results.csv").open() as f:
        return pd.read_csv(f)


def published(variant: str) -> pd.DataFrame:
    """Thesis numbers for one variant, indexed by (area, model): Tables 3-9's initial configuration, or the
    configuration the variant table names (thermal_only: the final configuration of Table 10)."""
    from rocksoil_nb.prepare.patches import VARIANTS

    t = thesis_results()
    t = t[t["variant"] == variant]
    conf = VARIANTS.get(variant, {}).get("thesis_configuration")
    if conf:
        t = t[t["configuration"] == conf]
    return t.set_index(["area", "model"])[["accuracy", "f1", "table"]]


def runs_with_results(cfg: AreaConfig) -> list[tuple[str, str]]:
    """(area, profile) pairs with finished runs under the models folder, this area and profile first. Folders
    named after no known area or profile (copies, experiments under other names) are left out with a warning."""
    import warnings

    root = cfg.layout.models_root
    known = config.known_profiles(cfg.root)
    found = set()
    if root.exists():
        for m in root.glob("*/*/*-*-*/metrics.json"):
            area, profile = m.parent.parent.parent.name, m.parent.parent.name
            if profile in known and (cfg.root / "parameters" / f"{area}.yaml").exists():
                found.add((area, profile))
            elif (area, profile) not in found:
                warnings.warn(f"{m.parent.parent}: no parameters/{area}.yaml or profile {profile!r}; its runs are left out", stacklevel=2)
    me = (cfg.name, cfg.profile_name)
    return sorted(found | {me}, key=lambda ap: (ap != me, ap))


def majority_class(cfg: AreaConfig, variant: str, protocol: str, kind: str = "cnn") -> int:
    """The training split's most frequent class (class 0 left out unless the profile scores it): the majority guess."""
    train_c = np.array(DatasetManifest.read(cfg.layout.patches_dir(variant)).protocol(kind, protocol).class_pixels["train"])
    if not cfg.classes.include_nodata:
        train_c[0] = 0
    return int(train_c.argmax())


def majority_scores(cfg: AreaConfig, variant: str, protocol: str, kind: str = "cnn") -> dict:
    """OA and macro-F1 of always predicting the training split's most frequent class, on the test split."""
    hist = DatasetManifest.read(cfg.layout.patches_dir(variant)).protocol(kind, protocol).class_pixels
    test_c = np.array(hist["test"])
    if not cfg.classes.include_nodata:
        test_c[0] = 0
    k = majority_class(cfg, variant, protocol, kind)
    cm = np.zeros((classes.N_CLASSES, classes.N_CLASSES), dtype=np.int64)
    cm[:, k] = test_c
    s = metrics.scores(cm, cfg.classes.include_nodata)
    return {"oa": s["oa"], "macro_f1": s["macro_f1"], "miou": s["miou"], "class": classes.NAMES[k]}


def run_results(cfg: AreaConfig) -> list[RunResult]:
    """Every finished run of the area and profile of ``cfg``, of each of the profile's training seeds."""
    return [RunResult.read(d) for d in cfg.layout.run_dirs(cfg.profile.seeds)]


def gather(cfg: AreaConfig, all_areas: bool = True) -> pd.DataFrame:
    """One row per (area, profile, variant, protocol, model) with finished runs: test OA, macro-F1, mIoU, weighted F1
    and epochs (means over the profile's training seeds), the number of seeds, and per statistic its 95 % interval
    from a bootstrap of the held-out units and its spread over seeds (``oa_lo``, ``oa_hi``, ``oa_sd``, …; empty for
    runs that kept no units); plus the majority-class row of each (area, profile, variant, protocol).
    ``all_areas``: every area and profile with results under the working folder (each row says its profile), else
    only ``cfg``'s area and profile."""
    from rocksoil_nb.analyse import intervals

    frames = []
    pairs = runs_with_results(cfg) if all_areas else [(cfg.name, cfg.profile_name)]
    for area, profile in pairs:
        acfg = cfg if (area, profile) == (cfg.name, cfg.profile_name) else config.load(area, profile, root=cfg.root)
        res = run_results(acfg)
        rows = [{"variant": r.variant, "protocol": r.protocol, "model": r.model, "epochs": r.epochs_run, "oa": r.score("oa"),
                 "f1": r.score("macro_f1"), "miou": r.score("miou"), "weighted_f1": r.score("weighted_f1"),
                 "test_samples": r.test_samples, "seeds": 1, "majority_class": None} for r in res]
        for v, p in sorted({(r.variant, r.protocol) for r in res}):
            try:
                m = majority_scores(acfg, v, p)
            except (FileNotFoundError, KeyError):
                continue
            rows.append({"variant": v, "protocol": p, "model": "majority", "epochs": 0, "oa": m["oa"], "f1": m["macro_f1"],
                         "miou": m["miou"], "majority_class": m["class"], "seeds": 0})
        if not rows:
            continue
        keys = ["variant", "protocol", "model"]
        df = pd.DataFrame(rows)
        means = df.groupby(keys, sort=False)[["epochs", "oa", "f1", "miou", "weighted_f1", "test_samples"]].mean()
        firsts = df.groupby(keys, sort=False).agg(seeds=("seeds", "sum"), majority_class=("majority_class", "first"))
        df = means.join(firsts)
        ci = intervals.summary(acfg)
        if len(ci):
            df = df.join(ci.set_index(keys)[["units", "unit", *INTERVAL_COLUMNS]])
        df = df.reset_index().assign(area=area, profile=profile, thesis_area=acfg.thesis_area or area)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return out.reindex(columns=COLUMNS)


def results_table(results: pd.DataFrame, variant: str) -> pd.DataFrame:
    """Thesis-style table for one variant: rows area × profile × model (majority class and per-pixel baselines first),
    columns under each protocol (and the thesis's own file-name split where an area is a thesis import): OA and F1,
    each with its 95 % interval over the held-out units (``OA low``, ``OA high``) and, where a row has several training
    seeds, their number and the spread over them (``OA sd``, ``F1 sd``, ``seeds``); the thesis-minus-spatial gap of the
    values, and the thesis's published numbers (for a thesis import: of the area it comes from). Numbers only:
    :func:`display` writes them as ``0.459 [0.410, 0.503]``."""
    r = results[results["variant"] == variant].reindex(columns=COLUMNS)
    if r.empty:
        return pd.DataFrame()
    r = r.assign(seeds=r["seeds"].fillna(1), thesis_area=r["thesis_area"].fillna(r["area"]))
    keys = ["area", "profile", "model"]
    wide = r.pivot_table(index=keys, columns="protocol", values=["oa", "f1", *INTERVAL_COLUMNS, "seeds"], aggfunc="first",
                         dropna=False)
    out = pd.DataFrame(index=wide.index)
    protos = ["thesis", "spatial"] + (["thesis_files"] if (r["protocol"] == "thesis_files").any() else [])
    several = bool((r["seeds"] > 1).any())

    def col(name, proto):
        return wide[(name, proto)] if (name, proto) in wide else np.nan

    for proto in protos:
        t = PROTOCOL_TITLES[proto]
        for m, title in (("oa", "OA"), ("f1", "F1")):
            out[(t, title)] = col(m, proto)
            out[(t, f"{title} low")] = col(f"{m}_lo", proto)
            out[(t, f"{title} high")] = col(f"{m}_hi", proto)
            if several:
                out[(t, f"{title} sd")] = col(f"{m}_sd", proto)
        if several:
            out[(t, "seeds")] = col("seeds", proto)
    out[("gap thesis − spatial", "OA")] = out[("thesis protocol", "OA")] - out[("spatial protocol", "OA")]
    out[("gap thesis − spatial", "F1")] = out[("thesis protocol", "F1")] - out[("spatial protocol", "F1")]
    pub = published(variant)
    idx = list(out.index)
    ta = r.groupby("area")["thesis_area"].first().to_dict()
    out[("thesis published (its data)", "OA")] = [pub["accuracy"].get((ta.get(a) or a, m), np.nan) for a, _, m in idx]
    out[("thesis published (its data)", "F1")] = [pub["f1"].get((ta.get(a) or a, m), np.nan) for a, _, m in idx]
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    maj = r[r["model"] == "majority"].groupby(["area", "profile"])["majority_class"].first()
    order = {"majority": 0, **{m: e.rank for m, e in registry.MODELS.items()}}
    rows = sorted(range(len(idx)), key=lambda i: (idx[i][0], idx[i][1], order.get(idx[i][2], 9)))
    out = out.iloc[rows]

    def label(a, prof, m):
        return f"majority class ({maj.get((a, prof), '?')})" if m == "majority" else registry.title(m)

    out.index = pd.MultiIndex.from_tuples([(idx[i][0], idx[i][1], label(*idx[i])) for i in rows], names=keys)
    return out.round(3)


def value_columns(table: pd.DataFrame) -> list[tuple[str, str]]:
    """The (group, statistic) columns of a results table that hold values (not interval bounds, spreads or counts)."""
    return [c for c in table.columns if not c[1].endswith((" low", " high", " sd")) and c[1] != "seeds"]


def cell(value: float, lo: float = np.nan, hi: float = np.nan, sd: float = np.nan, seeds: float = np.nan) -> str:
    """One number as the tables write it: ``0.459 [0.410, 0.503]`` (95 % interval over the held-out units), with
    ``± 0.021 (3 seeds)`` (standard deviation over training seeds) where there are several; '–' where there is none."""
    if value is None or not np.isfinite(value):
        return "–"
    text = f"{value:.3f}"
    if np.isfinite(sd) and np.isfinite(seeds) and seeds > 1:
        text += f" ± {sd:.3f} ({int(seeds)} seeds)"
    if np.isfinite(lo) and np.isfinite(hi):
        text += f" [{lo:.3f}, {hi:.3f}]"
    return text


def display(table: pd.DataFrame) -> pd.DataFrame:
    """The table's values as text with their intervals and seed spreads (:func:`cell`), one column per value."""
    out = pd.DataFrame(index=table.index)
    for g, st in value_columns(table):
        def get(name, g=g):
            return table[(g, name)] if (g, name) in table else pd.Series(np.nan, index=table.index)
        parts = zip(table[(g, st)], get(f"{st} low"), get(f"{st} high"), get(f"{st} sd"), get("seeds"))
        out[(g, st)] = [cell(*(np.nan if x is None else float(x) for x in p)) for p in parts]
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def colour(v) -> str:
    """Thesis colour code: green > 0.75, yellow 0.60-0.75, red < 0.60."""
    if v is None or not np.isfinite(v):
        return ""
    return f"background-color: {GREEN if v > 0.75 else YELLOW if v >= 0.60 else RED}"


def styled(table: pd.DataFrame, title: str = ""):
    """The table with its intervals (:func:`display`), colour-coded by value as in the thesis (gap columns plain)."""
    shown = display(table)
    colours = pd.DataFrame("", index=shown.index, columns=shown.columns)
    for c in shown.columns:
        if not c[0].startswith("gap"):
            colours[c] = [colour(v) for v in table[c]]
    st = shown.style.apply(lambda _: colours, axis=None).set_table_styles([
        {"selector": "", "props": "border-collapse: collapse; font-family: sans-serif; font-size: 0.9em"},
        {"selector": "th, td", "props": "border: 1px solid #bbb; padding: 3px 8px; text-align: right"},
        {"selector": "caption", "props": "font-weight: bold; padding: 4px"}])
    note = (" — value [95 % interval, bootstrap of the held-out units]; ± spread over training seeds where there are several")
    return st.set_caption((title or "results") + note)


def write_tables(cfg: AreaConfig, results: pd.DataFrame) -> list[Path]:
    """Every variant's table as CSV (numbers: values, interval bounds, seed spreads) and colour-coded HTML (values with
    their intervals) under ``reports/<aoi>/<profile>/tables/``."""
    out = []
    for v in sorted(results["variant"].unique()):
        t = results_table(results, v)
        base = cfg.layout.tables_dir / f"results_{v}"
        io.write_csv(base.with_suffix(".csv"), t, index=True)
        io.write_text(base.with_suffix(".html"), styled(t, f"{v}: test OA and macro-F1").to_html())
        out.append(base.with_suffix(".csv"))
    io.write_csv(cfg.layout.tables_dir / "all_runs.csv", results)
    return out


def protocol_gap(results: pd.DataFrame, area: str, profile: str | None = None) -> pd.DataFrame:
    """Per (variant, model): OA and F1 under both protocols and how much the thesis protocol overstates; for a
    thesis import also under the thesis's own file-name split."""
    r = results[(results["area"] == area) & ((results["profile"] == profile) if profile else True)]
    w = r.pivot_table(index=["variant", "model"], columns="protocol", values=["oa", "f1"], aggfunc="first")
    if ("oa", "thesis") not in w or ("oa", "spatial") not in w:
        return pd.DataFrame()
    out = pd.DataFrame({"OA thesis": w[("oa", "thesis")], "OA spatial": w[("oa", "spatial")],
                        "F1 thesis": w[("f1", "thesis")], "F1 spatial": w[("f1", "spatial")]})
    out["OA gap"] = out["OA thesis"] - out["OA spatial"]
    out["F1 gap"] = out["F1 thesis"] - out["F1 spatial"]
    if ("oa", "thesis_files") in w:
        out["OA file split"], out["F1 file split"] = w[("oa", "thesis_files")], w[("f1", "thesis_files")]
        out["OA gap file split − spatial"] = out["OA file split"] - out["OA spatial"]
    return out.round(3)


def gap_statement(gap: pd.DataFrame) -> str:
    """One sentence on the gap between the protocols (Markdown)."""
    g = gap.drop(index="majority", level="model", errors="ignore").dropna(subset=["OA gap"])
    if g.empty:
        return "No run has results under both protocols yet, so the gap cannot be stated."
    worst = g["OA gap"].idxmax()
    return (f"Across {len(g)} variant × model pairs, the thesis (chronological) protocol gives a mean overall accuracy "
            f"{g['OA gap'].mean():+.3f} and a mean macro-F1 {g['F1 gap'].mean():+.3f} above the spatially blocked protocol "
            f"(largest OA gap {g['OA gap'].max():+.3f}, {worst[1]} on {worst[0]}). The spatial figures are the ones to expect "
            "on ground the model has not seen.")
