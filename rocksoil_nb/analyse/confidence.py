"""Can a run's confidence be trusted? Its calibration fitted on held-out ground and measured on the test split (08).

The calibrator (:mod:`rocksoil_nb.learn.calibration`: temperature scaling, or none where held-out validation blocks
show it does not help) is fitted on the run's **validation** split — under the spatial protocol the validation blocks,
ground neither training nor test — and stored beside the run (``calibration.joblib``), where 08's maps, the explorer
and ``rocksoil predict`` apply it. The expected calibration error is reported before and after, on validation and on test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import io
from rocksoil_nb.infer.predict import load_run
from rocksoil_nb.learn import calibration, registry
from rocksoil_nb.learn.datasets import PatchData
from rocksoil_nb.learn.decision import among_choices, probabilities
from rocksoil_nb.learn.runs import CALIBRATION, METRICS, RunSpec
from rocksoil_nb.prepare.splits import sample_units

MAX_PIXELS = 200_000  # labelled pixels per split at most (a seeded sample)


def window_probabilities(cfg: AreaConfig, run_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities (n, 14), true classes (n,), spatial block of each pixel's window (n,)) of a run's windows model on
    the labelled, valid pixels of one split of its protocol (the dataset's patches, as in training)."""
    net, spec = load_run(run_dir)
    data = PatchData(cfg.layout.patches_dir(spec.variant), spec.protocol, split, spec.kind, batch_size=64, shuffle=False,
                     include_nodata=cfg.classes.include_nodata, validity_channel=spec.validity_channel)
    blocks = sample_units(data.samples, "spatial", data.manifest.spatial.block_px)
    ps, ys, gs = [], [], []
    for i in range(len(data)):
        x, y, w = data[i]
        keep = w > 0
        ps.append(among_choices(probabilities(net, x), cfg.classes.include_nodata)[keep])
        ys.append(y[keep])
        gs.append(np.broadcast_to(blocks[data.order[i * data.batch_size : i * data.batch_size + len(x)], None, None], y.shape)[keep])
    if not ps or not sum(len(y) for y in ys):
        raise ValueError(f"{run_dir}: no labelled pixel in the {split} split of the {spec.protocol} protocol")
    return np.concatenate(ps), np.concatenate(ys), np.concatenate(gs)


def split_probabilities(cfg: AreaConfig, run_dir: Path, split: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities (n, 14), true classes (n,), spatial block (n,)) of a run's model on the labelled pixels of one split
    of its protocol, as its registry entry computes them (``probabilities``), at most :data:`MAX_PIXELS` (a seeded
    sample)."""
    p, y, g = registry.get(RunSpec.read(run_dir).model).load("probabilities")(cfg, Path(run_dir), split)
    if len(y) > MAX_PIXELS:
        idx = np.sort(np.random.default_rng(seed).choice(len(y), MAX_PIXELS, replace=False))
        p, y, g = p[idx], y[idx], g[idx]
    return p, y, g


@dataclass
class Calibrated:
    """What :func:`calibrate` measured: ECE and reliability before and after, on validation and test."""

    run: str
    method: str
    table: pd.DataFrame  # split × (before, after): ECE, mean confidence, accuracy, pixels
    reliability: dict  # (split, "before" | "after") -> reliability bins
    calibrator: object
    why: str = ""  # how the method was chosen

    def statement(self) -> str:
        """One sentence for 08: how far confidence and accuracy are apart on test, before and after."""
        t = self.table.set_index(["split", "calibration"])
        if self.calibrator is None:
            return (f"The map's confidence is off by {t.loc[('test', 'before'), 'ECE']:.3f} on average on the test split "
                    f"(ECE); no calibration could be fitted: {self.method}.")
        before, after = t.loc[("test", "before"), "ECE"], t.loc[("test", "after"), "ECE"]
        acc = t.loc[("test", "after"), "accuracy"]
        how = (f"with no calibration ({self.why})" if isinstance(self.calibrator, calibration.Identity)
               else f"with {self.method} fitted on the validation split ({self.why})")
        verdict = ("Read the confidence map as a probability of being right." if after <= 0.05 else
                   "The confidence map is still not a probability of being right: read it as a ranking only.")
        return (f"On the test split the map's confidence was off by {before:.3f} on average (ECE, equal-mass bins) and is "
                f"off by {after:.3f} {how}; its pixels are right {acc:.0%} of the time. {verdict}")


TITLES = {"none": "no calibration", "temperature": "temperature scaling"}


def calibrate(cfg: AreaConfig, variant: str, model: str, protocol: str = "spatial") -> Calibrated:
    """Choose, fit and store the run's calibrator on its validation split and measure ECE before and after.

    The method (none or temperature scaling) is the one whose ECE is lowest on validation blocks held out from its
    fitting (:func:`rocksoil_nb.learn.calibration.cross_validated`); with fewer than two validation blocks, temperature
    scaling. The chosen method is then fitted on the whole validation split and stored beside the run."""
    run_dir = cfg.layout.run_dir(variant, model, protocol)
    p_test, y_test, _ = split_probabilities(cfg, run_dir, "test")
    try:
        p_val, y_val, g_val = split_probabilities(cfg, run_dir, "val")
    except ValueError:  # no validation ground (a tiny area): measured, not calibrated, and no calibrator left behind
        (run_dir / CALIBRATION).unlink(missing_ok=True)
        row = {"split": "test", "calibration": "before", "ECE": calibration.ece(p_test, y_test),
               "mean confidence": float(p_test.max(1).mean()), "accuracy": float((p_test.argmax(1) == y_test).mean()),
               "pixels": len(y_test)}
        return Calibrated(run_dir.name, "none (no labelled validation pixel to fit it on)", pd.DataFrame([row]).round(3),
                          {("test", "before"): calibration.reliability(p_test, y_test)}, None)
    scores = calibration.cross_validated(p_val, y_val, g_val)
    name = calibration.choose(scores, "temperature")
    cal = calibration.METHODS[name]().fit(p_val, y_val)
    method = f"temperature scaling (T = {cal.t:.2f})" if name == "temperature" else TITLES[name]
    why = (f"chosen by its ECE on validation blocks held out from the fit ({', '.join(f'{TITLES[k]} {v:.3f}' for k, v in scores.items())})"
           if scores else "the default: fewer than two validation blocks to choose on")
    calibration.save(cal, run_dir / CALIBRATION)
    rows, rel = [], {}
    for split, p, y in (("validation", p_val, y_val), ("test", p_test, y_test)):
        for when, q in (("before", p), ("after", cal.apply(p))):
            r = calibration.reliability(q, y)
            rel[(split, when)] = r
            rows.append({"split": split, "calibration": when, "ECE": calibration.ece(q, y),
                         "mean confidence": float(q.max(1).mean()), "accuracy": float((q.argmax(1) == y).mean()), "pixels": len(y)})
    return Calibrated(run_dir.name, method, pd.DataFrame(rows).round(3), rel, cal, why)


def calibrate_all(cfg: AreaConfig, variant: str, protocol: str = "spatial", done: Calibrated | None = None) -> pd.DataFrame:
    """:func:`calibrate` every finished run of ``variant`` under ``protocol``: one row per model with its method and the
    test and validation ECE before and after (also ``tables/calibration_<variant>_<protocol>.csv``). ``done``: a run
    calibrated already (08's mapped run), whose result is used as it is."""
    rows = []
    for model in registry.names():
        entry = registry.get(model)
        run_dir = cfg.layout.run_dir(variant, model, protocol)
        if not (run_dir / METRICS).exists():
            continue
        c = done if done is not None and done.run == run_dir.name else calibrate(cfg, variant, model, protocol)
        if c.calibrator is None:
            continue
        t = c.table.set_index(["split", "calibration"])["ECE"]
        rows.append({"model": entry.title, "calibration": c.method, "chosen": "by held-out validation blocks" if "held out" in c.why
                     else "default", "validation ECE before": t[("validation", "before")],
                     "validation ECE after": t[("validation", "after")], "test ECE before": t[("test", "before")],
                     "test ECE after": t[("test", "after")], "run": run_dir.name})
    table = pd.DataFrame(rows).round(3)
    io.write_csv(cfg.layout.tables_dir / f"calibration_{variant}_{protocol}.csv", table)
    return table.drop(columns="run", errors="ignore")
