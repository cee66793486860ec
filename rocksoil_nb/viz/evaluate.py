"""Figures of 08_evaluate: normalised confusion matrices, test patches, the reconstructed map beside the
geology map, and single-date maps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rocksoil_nb.analyse.evaluation import run_result
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes
from rocksoil_nb.infer.maps import read_map
from rocksoil_nb.infer.predict import load_run
from rocksoil_nb.learn import metrics, registry
from rocksoil_nb.learn.datasets import PatchData
from rocksoil_nb.learn.decision import among_choices, decide, probabilities
from rocksoil_nb.learn.series_baseline import split_pixels
from rocksoil_nb.prepare.steps import load_labels
from rocksoil_nb.viz import plots


def confusion_figure(cfg: AreaConfig, variant: str, model: str):
    """Row-normalised confusion matrices (share of each true class's pixels) under both protocols."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(15, 6.2))
    for ax, proto in zip(axes, ("thesis", "spatial")):
        try:
            t = run_result(cfg, variant, model, proto).test
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
    fig.suptitle(f"{cfg.name} · {variant} · {registry.title(model)}: normalised confusion matrices (test split)")
    fig.tight_layout()
    return fig


def patch_examples(cfg: AreaConfig, variant: str, model: str, protocol: str = "spatial", n: int = 4, seed: int = 0):
    """Test patches: LST of the (last) frame (K), ground truth, prediction and confidence, with the class legend."""
    import matplotlib.pyplot as plt

    net, spec = load_run(cfg.layout.run_dir(variant, model, protocol))
    d = PatchData(cfg.layout.patches_dir(variant), protocol, "test", spec.kind, batch_size=n, shuffle=False,
                  include_nodata=cfg.classes.include_nodata, validity_channel=spec.validity_channel)
    if not len(d.samples):
        raise ValueError(f"{variant}/{protocol}: no test patches")
    pick = np.sort(np.random.default_rng(seed).choice(len(d.samples), min(n, len(d.samples)), replace=False))
    d.order = pick
    x, y, w = d[0]
    if registry.maps_of(model) == "series":  # each pixel from its own series over the test split's passes
        times = split_pixels(cfg.layout.patches_dir(variant), protocol, load_labels(cfg))["test"][0]
        corners = [(int(r), int(c)) for r, c in zip(d.samples["row"].iloc[pick], d.samples["col"].iloc[pick])]
        prob = net.window_probabilities(d.manifest.cube, times, spec.bands, corners, d.p)
    else:
        prob = among_choices(probabilities(net, x), cfg.classes.include_nodata)
    pred, conf = decide(prob, cfg.classes.include_nodata)
    frame = (x[:, 0] if spec.is_year else x[:, -1]) if x.ndim == 5 else x  # a year's first frame is always a date, never padding
    lst = frame[..., 0] * d.std[0, 0, 0] + d.mean[0, 0, 0]
    lst = np.where(w > 0, lst, np.nan)
    fig, axes = plt.subplots(len(pick), 4, figsize=(14, 3.2 * len(pick)), squeeze=False)
    for i in range(len(pick)):
        row = d.samples.iloc[pick[i]]
        plots.raster_map(lst[i], axes[i, 0], f"LST (row {row['row']}, col {row['col']})", "K", pixel_m=cfg.area.pixel_size_m)
        plots.class_map(y[i], axes[i, 1], "ground truth (map)", cfg.area.pixel_size_m, legend=False)
        plots.class_map(pred[i], axes[i, 2], f"prediction ({registry.title(model)})", cfg.area.pixel_size_m,
                        legend=False)
        plots.raster_map(conf[i], axes[i, 3], "confidence", "max softmax probability", cmap="viridis", vmin=0, vmax=1,
                         pixel_m=cfg.area.pixel_size_m)
    codes = np.unique(np.concatenate([y.ravel(), pred.ravel()]))
    fig.legend(handles=classes.legend_handles(codes), loc="center left", bbox_to_anchor=(1.0, 0.5), title="class", frameon=False)
    fig.suptitle(f"{variant} · {registry.title(model)} · {protocol} protocol: test patches")
    fig.tight_layout()
    return fig


def map_figure(cfg: AreaConfig, rec, variant: str, title: str = ""):
    """Labels, consensus classes and consensus confidence side by side, the spatial test blocks outlined."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    labels = load_labels(cfg)
    region = np.load(cfg.layout.patches_dir(variant) / "spatial_split.npy")
    fig, axes = plt.subplots(1, 3, figsize=(19, 5.6))
    px = cfg.area.pixel_size_m
    plots.class_map(labels, axes[0], "geology map (labels)", px, legend=False)
    what = (f"each pixel's series of {int(rec.dates['dates_in_series'].iloc[0])} dates" if "dates_in_series" in rec.dates
            else f"consensus of {len(rec.dates)} dates")
    plots.class_map(rec.consensus_codes, axes[1], f"predicted: {what}", px, legend=False)
    plots.raster_map(rec.consensus_confidence, axes[2], "confidence (mean probability of the chosen class)", "probability 0-1",
                     cmap="viridis", vmin=0, vmax=1, pixel_m=px)
    for ax in axes[:2]:
        ax.contour(region == 2, levels=[0.5], colors="k", linewidths=1.2, linestyles="--")
    codes = np.unique(np.concatenate([labels.ravel(), rec.consensus_codes[rec.consensus_codes < classes.N_CLASSES].ravel()]))

    handles = classes.legend_handles(codes) + [Line2D([], [], color="k", ls="--", label="spatial test blocks")]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.99, 0.5), title="class", frameon=False, fontsize=8)
    fig.suptitle(title or f"{cfg.name}: reconstructed map")
    fig.tight_layout()
    return fig


def date_maps_figure(cfg: AreaConfig, rec, n: int = 3):
    """Class maps of a few single dates (first, middle, last mapped), to compare with the consensus."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    d = rec.dates.dropna(subset=["classes_file"]) if "classes_file" in rec.dates else rec.dates.iloc[0:0]
    if d.empty:
        return None
    pick = d.iloc[np.unique(np.linspace(0, len(d) - 1, min(n, len(d))).round().astype(int))]
    fig, axes = plt.subplots(1, len(pick), figsize=(6 * len(pick), 5), squeeze=False)
    for ax, (_, r) in zip(axes[0], pick.iterrows()):
        codes, _ = read_map(rec.out_dir / r["classes_file"])
        when = f"date_idx {int(r['time_index'])}" if pd.isna(r["time_utc"]) else f"{pd.Timestamp(r['time_utc']):%Y-%m-%d %H:%M} UTC"
        plots.class_map(codes, ax, f"{when} (seam ratio {r['ratio']:.2f})",
                        cfg.area.pixel_size_m, legend=False)
    fig.legend(handles=classes.legend_handles(range(1, classes.N_CLASSES)) + [
        Patch(facecolor="white", edgecolor="0.3", label="not mapped (invalid)")],
        loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def reliability_figure(cal):
    """Reliability diagram of a run's confidence on validation and test, before and after calibration
    (:func:`rocksoil_nb.analyse.confidence.calibrate`): accuracy against mean confidence per equal-mass bin."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    ece = cal.table.set_index(["split", "calibration"])["ECE"]
    for ax, split in zip(axes, ("validation", "test")):
        ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="calibrated (accuracy = confidence)")
        for when, style in (("before", dict(color="#d95f02", marker="o")), ("after", dict(color="#1b9e77", marker="s"))):
            if (split, when) not in cal.reliability:
                continue
            r = cal.reliability[(split, when)]
            ax.plot(r["mean confidence"], r["accuracy"], ms=4, lw=1.5, label=f"{when} (ECE {ece[(split, when)]:.3f})", **style)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean confidence of the bin (probability)")
        px = cal.table.loc[cal.table["split"] == split, "pixels"]
        ax.set_title(f"{split} split ({int(px.iloc[0]):,} px)" if len(px) else f"{split} split: none")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    axes[0].set_ylabel("share of the bin's pixels that are right")
    fig.suptitle(f"{cal.run}: reliability, equal-mass bins; calibration: {cal.method}")
    fig.tight_layout()
    return fig


def aoa_figure(cfg: AreaConfig, app):
    """The dissimilarity index on the grid with the area of applicability's edge and the spatial test blocks, beside the
    distribution of the training pixels' DI with the threshold (:func:`rocksoil_nb.analyse.applicability.area_of_applicability`)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, (ax, hx) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1.6, 1]})
    top = float(np.nanpercentile(app.di, 99)) if np.isfinite(app.di).any() else 1.0
    plots.raster_map(app.di, ax, "dissimilarity index (DI) of every pixel", "DI (ratio)", cmap="magma_r", vmin=0,
                     vmax=max(top, app.train.threshold), pixel_m=cfg.area.pixel_size_m)
    ax.contour(app.inside.astype(float), levels=[0.5], colors="#1a9850", linewidths=1.0)
    ax.legend(handles=[Line2D([], [], color="#1a9850", label="edge of the area of applicability")], loc="lower right", fontsize=8)
    hx.hist(app.train.train_di[np.isfinite(app.train.train_di)], bins=50, color="0.5")
    hx.axvline(app.train.threshold, color="#d7301f", label=f"threshold {app.train.threshold:.2f} (upper whisker)")
    hx.set_xlabel("training pixels' DI to another block (ratio)")
    hx.set_ylabel("training pixels")
    hx.legend(fontsize=8, frameon=False)
    fig.suptitle(f"{cfg.name}: area of applicability (Meyer & Pebesma 2021)")
    fig.tight_layout()
    return fig


def importance_figure(imp, top_features: int = 12):
    """Permutation importance of a whole-series run (:func:`rocksoil_nb.analyse.importance.run_importance`): the drop
    in test macro-F1 when each group of inputs is shuffled across test pixels, with its 95 % block-bootstrap interval,
    one panel per grouping (band, day / night, season, month), and the model's most important features."""
    import matplotlib.pyplot as plt

    from rocksoil_nb.analyse.importance import GROUPINGS

    groupings = [g for g in GROUPINGS if g in set(imp.table.grouping)]
    fig = plt.figure(figsize=(13, 8))
    grid = fig.add_gridspec(2, 6)
    slots = [grid[0, 0:2], grid[0, 2:4], grid[0, 4:6], grid[1, 0:3]][: len(groupings)]
    lo = imp.table["lo"].fillna(imp.table["drop"])  # no interval (fewer than 3 test blocks): no error bar
    hi = imp.table["hi"].fillna(imp.table["drop"])
    top = max(float(hi.max()), float(imp.table["drop"].max()), 0.01) * 1.1
    low = min(0.0, float(lo.min()) * 1.1)
    handles = None
    for slot, g in zip(slots, groupings):
        ax = fig.add_subplot(slot)
        t = imp.table[imp.table.grouping == g].iloc[::-1]
        y = np.arange(len(t))
        bars = ax.barh(y, t["drop"], color="#1b9e77")
        err = ax.errorbar(t["drop"], y, xerr=[t["drop"] - lo[t.index], hi[t.index] - t["drop"]], fmt="none", ecolor="0.2",
                          capsize=3)
        handles = handles or [bars, err]
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_yticks(y, t["group"])
        ax.set_xlim(low, top)
        ax.set_xlabel("drop in test macro-F1 (0-1)")
        ax.set_title(f"by {g}")
    f = imp.features.sort_values("drop", ascending=False).head(top_features).iloc[::-1]
    ax = fig.add_subplot(grid[1, 3:6])
    feat = ax.barh(np.arange(len(f)), f["drop"], xerr=f["sd"], color="#7570b3", ecolor="0.2", capsize=2)
    ax.set_yticks(np.arange(len(f)), f["feature"], fontsize=8)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("drop in test macro-F1 (0-1)")
    ax.set_title(f"its {len(f)} most important features")
    fig.legend([*(handles or []), feat], ["input group shuffled: drop (mean of the shuffles)", "95 % block-bootstrap interval",
                                          "feature shuffled (scikit-learn): drop ± sd over shuffles"],
               loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle(f"{imp.run}: what the model looks at ({imp.pixels:,} test pixels, {imp.blocks} spatial test blocks)")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def attention_figure(att: pd.DataFrame):
    """The whole-year model's attention per date of its test samples (:func:`rocksoil_nb.analyse.importance.tae_attention`)
    against day of year, day and night passes apart; 1 = an even share."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.8))
    x = att["doy"] if att["doy"].notna().any() else att.groupby("sample").cumcount()
    for day, colour, label in ((False, "#2c3e91", "night passes"), (True, "#e6a01e", "day passes")):
        sel = att["day"] == day
        if sel.any():
            ax.scatter(x[sel], att.loc[sel, "attention"], s=6, alpha=0.35, color=colour, label=label)
    ax.axhline(1, color="0.4", ls="--", lw=1, label="even share")
    ax.set_xlabel("day of year of the pass (UTC)" if att["doy"].notna().any() else "date in the sample's series (order)")
    ax.set_ylabel("attention / even share")
    ax.set_title("U-TAE: temporal attention per date (test samples)")
    ax.legend(fontsize=8, frameon=False, markerscale=2)
    fig.tight_layout()
    return fig


def attention_view(cfg: AreaConfig, variant: str, protocol: str = "spatial"):
    """(figure or None, sentence) of the whole-year model's attention per date on its test samples; no figure where no
    ``tae`` run of the variant and protocol has finished."""
    from rocksoil_nb.analyse import importance
    from rocksoil_nb.learn.runs import METRICS

    if not (cfg.layout.run_dir(variant, "tae", protocol) / METRICS).exists():
        return None, f"No finished U-TAE run of {variant}/{protocol}: its attention cannot be shown."
    att = importance.tae_attention(cfg, variant, protocol)
    return attention_figure(att), importance.attention_statement(att)
