"""Evaluation of one area's runs (08_evaluate): which run to map, per-class scores under both protocols,
full-scene reconstruction of a run, and the accuracy of its maps against the geology map. The results
tables are :mod:`rocksoil_nb.analyse.results`; the figures :mod:`rocksoil_nb.viz.evaluate`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes
from rocksoil_nb.infer import reconstruct
from rocksoil_nb.infer.maps import read_map
from rocksoil_nb.infer.predict import load_run
from rocksoil_nb.learn import calibration, registry
from rocksoil_nb.learn.runs import METRICS, RunResult
from rocksoil_nb.prepare import patches
from rocksoil_nb.prepare.steps import load_labels


def run_result(cfg: AreaConfig, variant: str, model: str, protocol: str) -> RunResult:
    """The finished run's results (``metrics.json``); a clear error when it has not been trained."""
    d = cfg.layout.run_dir(variant, model, protocol)
    if not (d / METRICS).exists():
        raise FileNotFoundError(f"{d / METRICS}: no finished run; train it in 07_train")
    return RunResult.read(d)


def per_class_table(cfg: AreaConfig, variant: str, model: str) -> pd.DataFrame:
    """Precision, recall, F1, IoU and support per class of one model under both protocols."""
    frames = {}
    for proto in ("thesis", "spatial"):
        try:
            t = run_result(cfg, variant, model, proto).test
        except FileNotFoundError:
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


def thesis_test_dates(cfg: AreaConfig, variant: str, kind: str = "cnn") -> list[int]:
    """Cube time indices of the thesis protocol's test dates of a variant (the latest 15 % of its dates)."""
    df = pd.read_csv(cfg.layout.patches_dir(variant) / f"samples_{kind}.csv")
    cols = ["t"] if kind == "cnn" else [c for c in df.columns if c.startswith("t") and c[1:].isdigit()]
    test = df.loc[df["split_thesis"] == "test", cols]
    last = test.max(axis=1) if kind == "year" else test[cols[-1]]  # a year sample's last present date (padding is -1)
    return sorted(int(i) for i in last.unique())


def candidates(cfg: AreaConfig, results: pd.DataFrame, variant: str, protocol: str) -> pd.DataFrame:
    """The finished models of a variant and protocol (no majority row), best test macro-F1 first, ties to the simpler
    model (lower registry rank)."""
    r = results[(results["area"] == cfg.name) & (results["profile"] == cfg.profile_name) & (results["variant"] == variant)
                & (results["protocol"] == protocol) & results["model"].isin(registry.names())]
    r = r.groupby("model", as_index=False)["f1"].mean()
    r["rank"] = r["model"].map(lambda m: registry.get(m).rank)
    return r.sort_values(["f1", "rank"], ascending=[False, True]).reset_index(drop=True)


def map_run(cfg: AreaConfig, results: pd.DataFrame, variant: str | None = None, protocol: str = "spatial", model: str = "best") -> str:
    """The model whose maps 08 draws: the named one, or (``best``) the model with the highest test macro-F1 under
    ``protocol`` among all finished models of the variant, per-pixel ones included (ties to the simpler)."""
    variant = patches.primary_variant(cfg, variant)
    r = candidates(cfg, results, variant, protocol)
    if r.empty:
        raise FileNotFoundError(f"no finished {variant}/{protocol} run for {cfg.name}; train one in 07_train")
    if model != "best":
        if model not in set(r["model"]):
            raise FileNotFoundError(f"no finished {variant}-{model}-{protocol} run for {cfg.name}; train it in 07_train")
        return model
    return str(r["model"].iloc[0])


def choice_statement(cfg: AreaConfig, results: pd.DataFrame, variant: str, protocol: str, chosen: str, asked: str = "best") -> str:
    """One sentence for 08: whose maps are drawn and why (its test macro-F1 against the others')."""
    r = candidates(cfg, results, variant, protocol)
    f1 = dict(zip(r["model"], r["f1"]))
    others = ", ".join(f"{registry.title(m)} {f1[m]:.3f}" for m in r["model"] if m != chosen)
    how = (f"the highest test macro-F1 under the {protocol} protocol among the {len(r)} finished models of {variant}"
           if asked == "best" else f"the model asked for in the parameters (`model = {asked!r}`)")
    return (f"The maps, calibration and area of applicability below are those of the **{registry.title(chosen)}** "
            f"({variant}-{chosen}-{protocol}): {how} — {f1[chosen]:.3f}" + (f" (others: {others})." if others else "."))


def reconstruct_run(cfg: AreaConfig, variant: str, model: str, protocol: str, which: str | None = None, progress: bool = True):
    """Full-scene maps of one run on the area's cube into ``reports/<aoi>/<profile>/maps/<run>/`` (see
    :mod:`rocksoil_nb.infer.reconstruct`). ``which``: ``all`` dates of the variant or the thesis ``test`` dates
    (default: the profile's ``map_dates``). The run's calibrator, where one is stored (08 fits it first), is applied."""
    run_dir = cfg.layout.run_dir(variant, model, protocol)
    net, spec = load_run(run_dir)
    which = which or cfg.profile.map_dates
    test = thesis_test_dates(cfg, variant, spec.kind) if which == "test" else None
    return reconstruct.reconstruct(net, cfg.layout.cube_for(variant), spec, cfg.layout.maps_dir(variant, model, protocol), which=which,
                                   test_dates=test, progress=progress, calibrator=calibration.stored(run_dir))


def pixel_statement(cfg: AreaConfig, rec, model: str, row: int, col: int) -> str:
    """Where one pixel's class comes from: the windows whose probabilities are averaged there (a windows model), or
    its own series of passes (a per-pixel whole-series model); its consensus class and confidence."""
    what = (f"consensus class {rec.consensus_codes[row, col]}, confidence {rec.consensus_confidence[row, col]:.2f}")
    if registry.maps_of(model) == "series":
        n = int(rec.dates["dates_in_series"].iloc[0])
        return f"pixel ({row}, {col}) is mapped from its own series of {n} passes alone (no windows); {what}"
    size, overlap = cfg.hyperparameters.patch_size, cfg.hyperparameters.patch_overlap
    cover = reconstruct.windows_at(patches.positions(rec.grid.shape, size, overlap), size, row, col)
    return f"pixel ({row}, {col}) lies in {len(cover)} windows of {size} px (upper-left corners {cover}); {what}"


def map_statement(cfg: AreaConfig, rec, variant: str) -> str:
    """One sentence to print beside the consensus map: its pixel agreement with the geology map (whole area
    and spatial test blocks) and its mean confidence against the uniform-guess level 1 / (classes)."""
    labels = load_labels(cfg)
    region = np.load(cfg.layout.patches_dir(variant) / "spatial_split.npy")
    whole = reconstruct.map_scores(rec.consensus_codes, labels, None, cfg.classes.include_nodata)
    test = reconstruct.map_scores(rec.consensus_codes, labels, region == 2, cfg.classes.include_nodata)
    n = classes.N_CLASSES if cfg.classes.include_nodata else classes.N_CLASSES - 1
    conf = float(np.nanmean(rec.consensus_confidence))
    return (f"The consensus map agrees with the geology map on {100 * whole['oa']:.0f} % of the labelled pixels "
            f"({100 * test['oa']:.0f} % on the spatial protocol's test blocks); mean confidence {conf:.2f} "
            f"against {1 / n:.3f} for a uniform guess over {n} classes.")


def map_accuracy(cfg: AreaConfig, rec, variant: str) -> pd.DataFrame:
    """Consensus and per-date maps against the labels: on the spatial protocol's test blocks and on the whole area."""
    labels = load_labels(cfg)
    region = np.load(cfg.layout.patches_dir(variant) / "spatial_split.npy")
    rows = []
    name = "whole-series map" if "dates_in_series" in rec.dates else "consensus of dates"
    for where, mask in (("spatial test blocks", region == 2), ("whole area", None)):
        s = reconstruct.map_scores(rec.consensus_codes, labels, mask, cfg.classes.include_nodata)
        rows.append({"map": name, "pixels": where, **s})
    per = []
    for _, d in rec.dates.iterrows():
        if isinstance(d.get("classes_file"), str):
            codes, _ = read_map(rec.out_dir / d["classes_file"])
            per.append(reconstruct.map_scores(codes, labels, region == 2, cfg.classes.include_nodata))
    if per:
        rows.append({"map": f"single dates (mean of {len(per)})", "pixels": "spatial test blocks",
                     **{k: float(np.mean([p[k] for p in per])) for k in ("pixels", "oa", "macro_f1", "miou")}})
    return pd.DataFrame(rows).round(3)
