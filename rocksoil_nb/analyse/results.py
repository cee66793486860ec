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
from rocksoil_nb.core import classes, io
from rocksoil_nb.learn import metrics
from rocksoil_nb.learn.runs import RunResult
from rocksoil_nb.prepare.manifest import DatasetManifest

MODEL_NAMES = {"cnn": "CNN", "convlstm": "ConvLSTM", "tae": "U-TAE", "pixel_rf": "per-pixel RF",
               "pixel_series": "per-pixel series"}  # RF: one date's bands per pixel; series: features of the whole series
BASELINES = ("pixel_rf", "pixel_series")  # per-pixel models: rows beside the deep ones, never drawn as the 'best' map
GREEN, YELLOW, RED = "#b7e1a1", "#fbe38e", "#f4a6a6"
COLUMNS = ["area", "profile", "variant", "protocol", "model", "epochs", "oa", "f1", "miou", "weighted_f1", "test_samples",
           "majority_class", "thesis_area"]
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


def runs_with_results(cfg) -> list[tuple[str, str]]:
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


def majority_class(cfg, variant: str, protocol: str, kind: str = "cnn") -> int:
    """The training split's most frequent class (class 0 left out unless the profile scores it): the majority guess."""
    train_c = np.array(DatasetManifest.read(cfg.layout.patches_dir(variant)).protocol(kind, protocol).class_pixels["train"])
    if not cfg.classes.include_nodata:
        train_c[0] = 0
    return int(train_c.argmax())


def majority_scores(cfg, variant: str, protocol: str, kind: str = "cnn") -> dict:
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


def run_results(cfg) -> list[RunResult]:
    """Every finished run of the area and profile of ``cfg``."""
    return [RunResult.read(d) for d in cfg.layout.run_dirs()]


def gather(cfg, all_areas: bool = True) -> pd.DataFrame:
    """One row per finished run (test OA, macro-F1, mIoU, weighted F1, epochs), plus the majority-class row of
    each (area, profile, variant, protocol). ``all_areas``: every area and profile with results under the
    working folder (each row says its profile), else only ``cfg``'s area and profile."""
    rows = []
    pairs = runs_with_results(cfg) if all_areas else [(cfg.name, cfg.profile_name)]
    for area, profile in pairs:
        acfg = cfg if (area, profile) == (cfg.name, cfg.profile_name) else config.load(area, profile, root=cfg.root)
        res = run_results(acfg)
        ta = acfg.thesis_area or area
        for r in res:
            rows.append({"area": area, "profile": profile, "variant": r.variant, "protocol": r.protocol, "model": r.model,
                         "epochs": r.epochs_run, "oa": r.score("oa"), "f1": r.score("macro_f1"), "miou": r.score("miou"),
                         "weighted_f1": r.score("weighted_f1"), "test_samples": r.test_samples, "thesis_area": ta})
        for v, p in sorted({(r.variant, r.protocol) for r in res}):
            try:
                m = majority_scores(acfg, v, p)
            except (FileNotFoundError, KeyError):
                continue
            rows.append({"area": area, "profile": profile, "variant": v, "protocol": p, "model": "majority", "epochs": 0,
                         "oa": m["oa"], "f1": m["macro_f1"], "miou": m["miou"], "majority_class": m["class"], "thesis_area": ta})
    return pd.DataFrame(rows, columns=COLUMNS)


def results_table(results: pd.DataFrame, variant: str) -> pd.DataFrame:
    """Thesis-style table for one variant: rows area × profile × model (majority class and per-pixel RF first),
    columns OA and F1 under each protocol (and the thesis's own file-name split where an area is a thesis import),
    the thesis-minus-spatial gap, and the thesis's published numbers (for a thesis import: of the area it comes from)."""
    r = results[results["variant"] == variant]
    if r.empty:
        return pd.DataFrame()
    keys = ["area", "profile", "model"]
    wide = r.pivot_table(index=keys, columns="protocol", values=["oa", "f1"], aggfunc="first")
    out = pd.DataFrame(index=wide.index)
    protos = ["thesis", "spatial"] + (["thesis_files"] if (r["protocol"] == "thesis_files").any() else [])
    for proto in protos:
        for m in ("oa", "f1"):
            out[(PROTOCOL_TITLES[proto], m.upper() if m == "oa" else "F1")] = wide[(m, proto)] if (m, proto) in wide else np.nan
    out[("gap thesis − spatial", "OA")] = out[("thesis protocol", "OA")] - out[("spatial protocol", "OA")]
    out[("gap thesis − spatial", "F1")] = out[("thesis protocol", "F1")] - out[("spatial protocol", "F1")]
    pub = published(variant)
    idx = list(out.index)
    ta = r.groupby("area")["thesis_area"].first().to_dict() if "thesis_area" in r else {}
    out[("thesis published (its data)", "OA")] = [pub["accuracy"].get((ta.get(a) or a, m), np.nan) for a, _, m in idx]
    out[("thesis published (its data)", "F1")] = [pub["f1"].get((ta.get(a) or a, m), np.nan) for a, _, m in idx]
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    maj = r[r["model"] == "majority"].groupby(["area", "profile"])["majority_class"].first()
    order = {"majority": 0, "pixel_rf": 1, "pixel_series": 2, "cnn": 3, "convlstm": 4, "tae": 5}
    rows = sorted(range(len(idx)), key=lambda i: (idx[i][0], idx[i][1], order.get(idx[i][2], 9)))
    out = out.iloc[rows]

    def label(a, prof, m):
        return f"majority class ({maj.get((a, prof), '?')})" if m == "majority" else MODEL_NAMES.get(m, m)

    out.index = pd.MultiIndex.from_tuples([(idx[i][0], idx[i][1], label(*idx[i])) for i in rows], names=keys)
    return out.round(3)


def colour(v) -> str:
    """Thesis colour code: green > 0.75, yellow 0.60-0.75, red < 0.60."""
    if v is None or not np.isfinite(v):
        return ""
    return f"background-color: {GREEN if v > 0.75 else YELLOW if v >= 0.60 else RED}"


def styled(table: pd.DataFrame, title: str = ""):
    """The table colour-coded as in the thesis (gap columns left plain)."""
    cols = [c for c in table.columns if not c[0].startswith("gap")]
    st = table.style.format("{:.3f}", na_rep="–").map(colour, subset=cols).set_table_styles([
        {"selector": "", "props": "border-collapse: collapse; font-family: sans-serif; font-size: 0.9em"},
        {"selector": "th, td", "props": "border: 1px solid #bbb; padding: 3px 8px; text-align: right"},
        {"selector": "caption", "props": "font-weight: bold; padding: 4px"}])
    return st.set_caption(title) if title else st


def write_tables(cfg, results: pd.DataFrame) -> list[Path]:
    """Every variant's table as CSV and colour-coded HTML under ``reports/<aoi>/<profile>/tables/``."""
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
