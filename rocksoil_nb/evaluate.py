"""Evaluation (08_evaluate): results tables like thesis Tables 3-10 for both split protocols with the
majority-class and per-pixel baselines and the thesis's published numbers beside ours, per-class
scores, normalised confusion matrices, ground truth against prediction patches, and the gap between
the protocols.

Our F1 is the macro-F1 over the classes present in the test reference (class 0 left out unless the
profile includes it); the thesis's numbers are its own, on its data and its (chronological) protocol.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from . import classes, config, experiments, metrics, train

MODEL_NAMES = {"cnn": "CNN", "convlstm": "ConvLSTM", "tae": "U-TAE", "pixel_rf": "per-pixel RF"}
GREEN, YELLOW, RED = "#b7e1a1", "#fbe38e", "#f4a6a6"


def thesis_results() -> pd.DataFrame:
    """The thesis's published accuracy and F1 (Tables 3-9 initial configuration, Table 10 final)."""
    with resources.files("rocksoil_nb.data").joinpath("thesis_results.csv").open() as f:
        return pd.read_csv(f)


def published(variant: str) -> pd.DataFrame:
    """Thesis numbers for one variant (thermal_only: the final configuration of Table 10), indexed by (area, model)."""
    t = thesis_results()
    t = t[t["variant"] == variant]
    if variant == "thermal_only":
        t = t[t["configuration"] == "final"]
    return t.set_index(["area", "model"])[["accuracy", "f1", "table"]]


def areas_with_results(cfg) -> list[str]:
    """Areas (parameter files) that have finished runs under the models folder, this area first."""
    root = cfg.models_dir.parent
    found = [p.name for p in sorted(root.iterdir()) if p.is_dir() and any(p.glob("*-*-*/metrics.json"))] if root.exists() else []
    return sorted(set(found) | {cfg.name}, key=lambda a: (a != cfg.name, a))


def all_results(cfg) -> pd.DataFrame:
    """One row per finished run of every area with results (test OA, macro-F1, mIoU, weighted F1) plus
    the majority-class row of each (area, variant, protocol)."""
    rows = []
    for area in areas_with_results(cfg):
        acfg = cfg if area == cfg.name else config.load(area, cfg.profile_name)
        res = experiments.gather(acfg)
        for r in res:
            t = r.get("test") or {}
            rows.append({"area": area, "variant": r["variant"], "protocol": r["protocol"], "model": r["model"], "oa": t.get("oa"),
                         "f1": t.get("macro_f1"), "miou": t.get("miou"), "weighted_f1": t.get("weighted_f1"),
                         "test_samples": r.get("test_samples")})
        for v, p in sorted({(r["variant"], r["protocol"]) for r in res}):
            try:
                m = experiments.majority_scores(acfg, v, p)
            except (FileNotFoundError, KeyError):
                continue
            rows.append({"area": area, "variant": v, "protocol": p, "model": "majority", "oa": m["oa"], "f1": m["macro_f1"],
                         "miou": m["miou"], "weighted_f1": None, "test_samples": None, "majority_class": m["class"]})
    return pd.DataFrame(rows, columns=["area", "variant", "protocol", "model", "oa", "f1", "miou", "weighted_f1", "test_samples",
                                       "majority_class"])


def results_table(results: pd.DataFrame, variant: str) -> pd.DataFrame:
    """Thesis-style table for one variant: rows area × model (with majority class and per-pixel RF),
    columns OA and F1 under each protocol, the thesis-minus-spatial gap, and the thesis's published numbers."""
    r = results[results["variant"] == variant]
    if r.empty:
        return pd.DataFrame()
    wide = r.pivot_table(index=["area", "model"], columns="protocol", values=["oa", "f1"], aggfunc="first")
    out = pd.DataFrame(index=wide.index)
    for proto in ("thesis", "spatial"):
        for m in ("oa", "f1"):
            out[(f"{proto} protocol", m.upper() if m == "oa" else "F1")] = wide[(m, proto)] if (m, proto) in wide else np.nan
    out[("gap thesis − spatial", "OA")] = out[("thesis protocol", "OA")] - out[("spatial protocol", "OA")]
    out[("gap thesis − spatial", "F1")] = out[("thesis protocol", "F1")] - out[("spatial protocol", "F1")]
    pub = published(variant)
    idx = [(a, m) for a, m in out.index]
    out[("thesis published (its data)", "OA")] = [pub["accuracy"].get((a, m), np.nan) for a, m in idx]
    out[("thesis published (its data)", "F1")] = [pub["f1"].get((a, m), np.nan) for a, m in idx]
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    maj = r[r["model"] == "majority"].groupby("area")["majority_class"].first()
    order = {"majority": 0, "pixel_rf": 1, "cnn": 2, "convlstm": 3, "tae": 4}
    rows = sorted(range(len(idx)), key=lambda i: (idx[i][0], order.get(idx[i][1], 9)))
    out = out.iloc[rows]
    out.index = pd.MultiIndex.from_tuples(
        [(idx[i][0], f"majority class ({maj.get(idx[i][0], '?')})" if idx[i][1] == "majority" else MODEL_NAMES.get(idx[i][1], idx[i][1]))
         for i in rows], names=["area", "model"])
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
    """Every variant's table as CSV and colour-coded HTML under ``reports/<aoi>/tables/``."""
    from . import io

    out = []
    for v in sorted(results["variant"].unique()):
        t = results_table(results, v)
        base = cfg.reports_dir / "tables" / f"results_{v}"
        io.write_csv(base.with_suffix(".csv"), t, index=True)
        io.write_text(base.with_suffix(".html"), styled(t, f"{v}: test OA and macro-F1").to_html())
        out.append(base.with_suffix(".csv"))
    io.write_csv(cfg.reports_dir / "tables" / "all_runs.csv", results)
    return out


def protocol_gap(results: pd.DataFrame, area: str) -> pd.DataFrame:
    """Per (variant, model): OA and F1 under both protocols and how much the thesis protocol overstates."""
    r = results[results["area"] == area]
    w = r.pivot_table(index=["variant", "model"], columns="protocol", values=["oa", "f1"], aggfunc="first")
    if ("oa", "thesis") not in w or ("oa", "spatial") not in w:
        return pd.DataFrame()
    out = pd.DataFrame({"OA thesis": w[("oa", "thesis")], "OA spatial": w[("oa", "spatial")],
                        "F1 thesis": w[("f1", "thesis")], "F1 spatial": w[("f1", "spatial")]})
    out["OA gap"] = out["OA thesis"] - out["OA spatial"]
    out["F1 gap"] = out["F1 thesis"] - out["F1 spatial"]
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


def run_result(cfg, variant: str, model: str, protocol: str) -> dict:
    p = train.run_dir(cfg, variant, model, protocol) / "metrics.json"
    if not p.exists():
        raise FileNotFoundError(f"{p}: no finished run; train it in 07_train")
    return json.loads(p.read_text())


def per_class_table(cfg, variant: str, model: str) -> pd.DataFrame:
    """Precision, recall, F1, IoU and support per class of one model under both protocols."""
    frames = {}
    for proto in ("thesis", "spatial"):
        try:
            t = run_result(cfg, variant, model, proto)["test"]
        except (FileNotFoundError, TypeError):
            continue
        if not t:
            continue
        frames[proto] = pd.DataFrame({"precision": t["precision"], "recall": t["recall"], "F1": t["f1"], "IoU": t["iou"],
                                      "support px": t["support"]}, index=[f"{k} {classes.NAMES[k]}" for k in range(classes.N_CLASSES)])
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, axis=1)
    support = df.xs("support px", axis=1, level=1).sum(axis=1)
    return df[support > 0].round(3)


def confusion_figure(cfg, variant: str, model: str):
    """Row-normalised confusion matrices (share of each true class's pixels) under both protocols."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(15, 6.2))
    for ax, proto in zip(axes, ("thesis", "spatial")):
        try:
            t = run_result(cfg, variant, model, proto)["test"]
        except FileNotFoundError:
            t = None
        if not t:
            ax.set_axis_off()
            ax.set_title(f"{proto}: no result")
            continue
        cm = np.asarray(t["confusion"], dtype=float)
        keep = [k for k in range(classes.N_CLASSES) if (cm[k].sum() > 0 or cm[:, k].sum() > 0) and (k or cfg.classes.include_nodata)]
        sub = cm[np.ix_(keep, keep)]
        norm = sub / np.maximum(sub.sum(1, keepdims=True), 1)
        im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        labels = [f"{k} {classes.NAMES[k]}" for k in keep]
        ax.set_xticks(range(len(keep)), labels, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(keep)), labels, fontsize=8)
        for i in range(len(keep)):
            for j in range(len(keep)):
                if norm[i, j] >= 0.05:
                    ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=6, color="w" if norm[i, j] > 0.5 else "k")
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        s = metrics.scores(cm, cfg.classes.include_nodata)
        ax.set_title(f"{proto} protocol: OA {s['oa']:.2f}, macro-F1 {s['macro_f1']:.2f}")
        fig.colorbar(im, ax=ax, shrink=0.8, label="share of the true class's pixels")
    fig.suptitle(f"{cfg.name} · {variant} · {MODEL_NAMES.get(model, model)}: normalised confusion matrices (test split)")
    fig.tight_layout()
    return fig


def patch_examples(cfg, variant: str, model: str, protocol: str = "spatial", n: int = 4, seed: int = 0):
    """Test patches: LST of the (last) frame (K), ground truth, prediction and confidence, with the class legend."""
    import matplotlib.pyplot as plt

    from . import plots
    from .datasets import PatchData
    from .predict import load_run
    from .preprocess import patches_dir

    net, spec = load_run(train.run_dir(cfg, variant, model, protocol))
    d = PatchData(patches_dir(cfg, variant), protocol, "test", spec["kind"], batch_size=n, shuffle=False,
                  include_nodata=cfg.classes.include_nodata, validity_channel=spec.get("validity_channel", False))
    if not len(d.samples):
        raise ValueError(f"{variant}/{protocol}: no test patches")
    pick = np.sort(np.random.default_rng(seed).choice(len(d.samples), min(n, len(d.samples)), replace=False))
    d.order = pick
    x, y, w = d[0]
    prob = train.probabilities(net, x)
    pred, conf = train.decide(prob, cfg.classes.include_nodata)
    frame = x[:, -1] if x.ndim == 5 else x
    lst = frame[..., 0] * d.std[0, 0, 0] + d.mean[0, 0, 0]
    lst = np.where(w > 0, lst, np.nan)
    fig, axes = plt.subplots(len(pick), 4, figsize=(14, 3.2 * len(pick)), squeeze=False)
    for i in range(len(pick)):
        row = d.samples.iloc[pick[i]]
        plots.raster_map(lst[i], axes[i, 0], f"LST (row {row['row']}, col {row['col']})", "K", pixel_m=cfg.area.pixel_size_m)
        plots.class_map(y[i], axes[i, 1], "ground truth (map)", cfg.area.pixel_size_m, legend=False)
        plots.class_map(pred[i], axes[i, 2], f"prediction ({MODEL_NAMES.get(model, model)})", cfg.area.pixel_size_m,
                        legend=False)
        plots.raster_map(conf[i], axes[i, 3], "confidence", "max softmax probability", cmap="viridis", vmin=0, vmax=1,
                         pixel_m=cfg.area.pixel_size_m)
    codes = np.unique(np.concatenate([y.ravel(), pred.ravel()]))
    fig.legend(handles=classes.legend_handles(codes), loc="center left", bbox_to_anchor=(1.0, 0.5), title="class", frameon=False)
    fig.suptitle(f"{variant} · {MODEL_NAMES.get(model, model)} · {protocol} protocol: test patches")
    fig.tight_layout()
    return fig


def thesis_test_dates(cfg, variant: str, kind: str = "cnn") -> list[pd.Timestamp]:
    """UTC times of the thesis protocol's test dates of a variant (the latest 15 % of its dates)."""
    from .cube import open_cube
    from .preprocess import cube_path, patches_dir

    df = pd.read_csv(patches_dir(cfg, variant) / f"samples_{kind}.csv")
    col = "t" if kind == "cnn" else [c for c in df.columns if c.startswith("t") and c[1:].isdigit()][-1]
    t = sorted(df.loc[df["split_thesis"] == "test", col].unique())
    times = pd.DatetimeIndex(open_cube(cube_path(cfg))["time"].values)
    return [times[int(i)] for i in t]


def map_run(cfg, results: pd.DataFrame, variant: str = "thermal_only", protocol: str = "spatial", model: str = "best") -> str:
    """The model whose maps 08 draws: the named one, or (``best``) the deep model with the highest test macro-F1."""
    r = results[(results["area"] == cfg.name) & (results["variant"] == variant) & (results["protocol"] == protocol)]
    r = r[r["model"] != "majority"]
    if r.empty:
        raise FileNotFoundError(f"no finished {variant}/{protocol} run for {cfg.name}; train one in 07_train")
    if model != "best":
        if model not in set(r["model"]):
            raise FileNotFoundError(f"no finished {variant}-{model}-{protocol} run for {cfg.name}; train it in 07_train")
        return model
    deep = r[r["model"] != "pixel_rf"]
    return str((deep if len(deep) else r).sort_values("f1", ascending=False)["model"].iloc[0])


def reconstruct_run(cfg, variant: str, model: str, protocol: str, which: str | None = None, progress: bool = True):
    """Full-scene maps of one run on the area's cube into ``reports/<aoi>/maps/<run>/`` (see :mod:`reconstruct`).
    ``which``: ``all`` dates of the variant or the thesis ``test`` dates (default: the profile's ``map_dates``)."""
    from . import reconstruct
    from .predict import load_run
    from .preprocess import cube_path

    net, spec = load_run(train.run_dir(cfg, variant, model, protocol))
    which = which or cfg.profile.map_dates
    test = thesis_test_dates(cfg, variant, spec["kind"]) if which == "test" else None
    return reconstruct.reconstruct(net, cube_path(cfg), spec, cfg.reports_dir / "maps" / f"{variant}-{model}-{protocol}", which=which,
                                   test_dates=test, progress=progress)


def map_accuracy(cfg, rec, variant: str) -> pd.DataFrame:
    """Consensus and per-date maps against the labels: on the spatial protocol's test blocks and on the whole area."""
    from . import reconstruct
    from .maps import read_map
    from .preprocess import load_labels, patches_dir

    labels = load_labels(cfg)
    region = np.load(patches_dir(cfg, variant) / "spatial_split.npy")
    rows = []
    for where, mask in (("spatial test blocks", region == 2), ("whole area", None)):
        s = reconstruct.map_scores(rec.consensus_codes, labels, mask, cfg.classes.include_nodata)
        rows.append({"map": "consensus of dates", "pixels": where, **s})
    per = []
    for _, d in rec.dates.iterrows():
        if isinstance(d.get("classes_file"), str):
            codes, _ = read_map(rec.out_dir / d["classes_file"])
            per.append(reconstruct.map_scores(codes, labels, region == 2, cfg.classes.include_nodata))
    if per:
        rows.append({"map": f"single dates (mean of {len(per)})", "pixels": "spatial test blocks",
                     **{k: float(np.mean([p[k] for p in per])) for k in ("pixels", "oa", "macro_f1", "miou")}})
    return pd.DataFrame(rows).round(3)


def map_figure(cfg, rec, variant: str, title: str = ""):
    """Labels, consensus classes and consensus confidence side by side, the spatial test blocks outlined."""
    import matplotlib.pyplot as plt

    from . import plots
    from .preprocess import load_labels, patches_dir

    labels = load_labels(cfg)
    region = np.load(patches_dir(cfg, variant) / "spatial_split.npy")
    fig, axes = plt.subplots(1, 3, figsize=(19, 5.6))
    px = cfg.area.pixel_size_m
    plots.class_map(labels, axes[0], "geology map (labels)", px, legend=False)
    plots.class_map(rec.consensus_codes, axes[1], f"predicted: consensus of {len(rec.dates)} dates", px, legend=False)
    plots.raster_map(rec.consensus_confidence, axes[2], "confidence (mean probability of the chosen class)", "probability 0-1",
                     cmap="viridis", vmin=0, vmax=1, pixel_m=px)
    for ax in axes[:2]:
        ax.contour(region == 2, levels=[0.5], colors="k", linewidths=1.2, linestyles="--")
    codes = np.unique(np.concatenate([labels.ravel(), rec.consensus_codes[rec.consensus_codes < classes.N_CLASSES].ravel()]))
    from matplotlib.lines import Line2D

    handles = classes.legend_handles(codes) + [Line2D([], [], color="k", ls="--", label="spatial test blocks")]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.99, 0.5), title="class", frameon=False, fontsize=8)
    fig.suptitle(title or f"{cfg.name}: reconstructed map")
    fig.tight_layout()
    return fig


def date_maps_figure(cfg, rec, n: int = 3):
    """Class maps of a few single dates (first, middle, last mapped), to compare with the consensus."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from . import plots
    from .maps import read_map

    d = rec.dates.dropna(subset=["classes_file"]) if "classes_file" in rec.dates else rec.dates.iloc[0:0]
    if d.empty:
        return None
    pick = d.iloc[np.unique(np.linspace(0, len(d) - 1, min(n, len(d))).round().astype(int))]
    fig, axes = plt.subplots(1, len(pick), figsize=(6 * len(pick), 5), squeeze=False)
    for ax, (_, r) in zip(axes[0], pick.iterrows()):
        codes, _ = read_map(rec.out_dir / r["classes_file"])
        plots.class_map(codes, ax, f"{pd.Timestamp(r['time_utc']):%Y-%m-%d %H:%M} UTC (seam ratio {r['ratio']:.2f})",
                        cfg.area.pixel_size_m, legend=False)
    fig.legend(handles=classes.legend_handles(range(1, classes.N_CLASSES)) + [
        Patch(facecolor="white", edgecolor="0.3", label="not mapped (invalid)")],
        loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
