"""Vegetation and model confidence (09_ndvi_analysis, thesis §5.7.3).

Pairs, per mapped date, each pixel's confidence (max softmax probability, from 08's maps) with the
Sentinel-2 NDVI matched to that pass in the cube (the nearest within the area's NDVI window) and
whether the predicted class equals the map's. Pearson r comes with two 95 % intervals: Fisher's z
with n pixels (too narrow: neighbouring pixels are not independent) and a spatial block bootstrap
(blocks resampled whole), which is the one to quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb.analyse import evaluation
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes, io
from rocksoil_nb.infer import maps
from rocksoil_nb.learn import registry
from rocksoil_nb.prepare import patches, sources
from rocksoil_nb.prepare.cube import open_cube
from rocksoil_nb.prepare.steps import load_labels

#: NDVI classes of the thesis's legend (Figure 5.58): upper bounds and names
NDVI_BINS: tuple[tuple[float, str], ...] = (
    (-0.2, "water (< -0.2)"), (0.0, "bare soil/rock (-0.2-0)"), (0.1, "sparse vegetation (0-0.1)"), (0.2, "low vegetation (0.1-0.2)"),
    (0.3, "moderate (0.2-0.3)"), (0.4, "moderate-high (0.3-0.4)"), (0.5, "high (0.4-0.5)"), (0.6, "dense (0.5-0.6)"),
    (0.7, "very dense (0.6-0.7)"), (0.8, "lush (0.7-0.8)"), (np.inf, "peak crop health (> 0.8)"),
)


@dataclass
class Pairs:
    """Pixel samples pooled over dates: NDVI (-1-1), confidence (0-1), correct (bool, labelled pixels only
    else False with ``labelled`` False), spatial block id, and per-pixel means for the maps."""

    ndvi: np.ndarray
    confidence: np.ndarray
    correct: np.ndarray
    labelled: np.ndarray
    block: np.ndarray
    dates: int
    mean_ndvi: np.ndarray
    mean_confidence: np.ndarray


def pairs(cube_path: str | Path, maps_dir: str | Path, labels: np.ndarray, block_px: int = 16, include_nodata: bool = False) -> Pairs:
    """Pool (NDVI, confidence, correct) over the mapped dates that have NDVI in the cube."""
    maps_dir = Path(maps_dir)
    table = maps_dir / "dates.csv"
    if not table.exists():
        raise FileNotFoundError(f"{table}: no reconstructed maps; run 08_evaluate first")
    dates = pd.read_csv(table)
    if "confidence_file" not in dates:
        raise ValueError(f"{table}: the per-date maps were not written")
    ds = open_cube(cube_path)
    ndvi_band = ds["data"].sel(band="NDVI")
    h, w = labels.shape
    yy, xx = np.mgrid[0:h, 0:w]
    block = (yy // block_px) * (w // block_px + 1) + xx // block_px
    out = {k: [] for k in ("ndvi", "conf", "correct", "labelled", "block")}
    s_ndvi, s_conf, n = np.zeros((h, w)), np.zeros((h, w)), np.zeros((h, w))
    used = 0
    lab = (labels != classes.NODATA) | include_nodata
    for _, d in dates.iterrows():
        t = int(d["time_index"])
        if not bool(ds["has_ndvi"].values[t]):
            continue
        nd = np.asarray(ndvi_band[t].values, dtype=np.float32)
        conf, _ = maps.read_map(maps_dir / d["confidence_file"])
        codes, _ = maps.read_map(maps_dir / d["classes_file"])
        ok = np.isfinite(nd) & np.isfinite(conf)
        if not ok.any():
            continue
        used += 1
        out["ndvi"].append(nd[ok])
        out["conf"].append(conf[ok])
        out["correct"].append((codes == labels)[ok] & lab[ok])
        out["labelled"].append(lab[ok])
        out["block"].append(block[ok])
        s_ndvi[ok] += nd[ok]
        s_conf[ok] += conf[ok]
        n[ok] += 1
    if not used:
        raise ValueError(f"{maps_dir}: none of the {len(dates)} mapped dates has a matched NDVI image")
    cat = {k: np.concatenate(v) for k, v in out.items()}
    with np.errstate(invalid="ignore", divide="ignore"):
        return Pairs(cat["ndvi"], cat["conf"], cat["correct"], cat["labelled"], cat["block"], used,
                     np.where(n > 0, s_ndvi / n, np.nan), np.where(n > 0, s_conf / n, np.nan))


def pearson(x: np.ndarray, y: np.ndarray, block: np.ndarray | None = None, n_boot: int = 1000, seed: int = 0) -> dict:
    """Pearson r of x and y with Fisher-z and (when ``block`` ids are given) block-bootstrap 95 % intervals,
    and the least-squares trend line y = a + b x."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 3:
        raise ValueError(f"Pearson r needs at least 3 pairs, got {len(x)}")
    r = float(np.corrcoef(x, y)[0, 1])
    z, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1 / np.sqrt(len(x) - 3)
    b, a = np.polyfit(x, y, 1)
    out = {"n": len(x), "r": r, "fisher_lo": float(np.tanh(z - 1.96 * se)), "fisher_hi": float(np.tanh(z + 1.96 * se)),
           "slope": float(b), "intercept": float(a)}
    if block is not None:
        ids, inv = np.unique(block, return_inverse=True)
        sums = np.stack([np.bincount(inv, weights=v, minlength=len(ids)) for v in (np.ones_like(x), x, y, x * x, y * y, x * y)])
        rng = np.random.default_rng(seed)
        w = rng.multinomial(len(ids), np.full(len(ids), 1 / len(ids)), size=n_boot).astype(np.float64)  # (boot, blocks)
        s = w @ sums.T  # (boot, 6)
        nn, sx, sy, sxx, syy, sxy = s.T
        with np.errstate(invalid="ignore", divide="ignore"):
            rb = (nn * sxy - sx * sy) / np.sqrt((nn * sxx - sx**2) * (nn * syy - sy**2))
        rb = rb[np.isfinite(rb)]
        out.update(blocks=len(ids), block_lo=float(np.percentile(rb, 2.5)), block_hi=float(np.percentile(rb, 97.5)))
    return out


def ndvi_class(ndvi: np.ndarray) -> np.ndarray:
    """Index into :data:`NDVI_BINS` of each NDVI value."""
    return np.searchsorted(np.array([b for b, _ in NDVI_BINS]), np.asarray(ndvi), side="left")


def by_ndvi_class(p: Pairs) -> pd.DataFrame:
    """Pixels, mean confidence and accuracy (labelled pixels) per NDVI class of the thesis's legend."""
    k = ndvi_class(p.ndvi)
    rows = []
    for i, (_, name) in enumerate(NDVI_BINS):
        m = k == i
        if not m.any():
            continue
        lab = m & p.labelled
        rows.append({"NDVI class": name, "pixels": int(m.sum()), "share": float(m.mean()), "mean confidence": float(p.confidence[m].mean()),
                     "accuracy": float(p.correct[lab].mean()) if lab.any() else np.nan})
    return pd.DataFrame(rows).round(3)


def findings(area: str, model: str, p: Pairs, stats: dict) -> pd.DataFrame:
    """One row summing up the analysis for an area (for the cross-area table)."""
    low = p.ndvi <= 0.3
    lab = p.labelled
    return pd.DataFrame([{
        "area": area, "model": model, "dates": p.dates, "pixels": stats["n"], "median NDVI": float(np.median(p.ndvi)),
        "r": stats["r"], "r 95% (block bootstrap)": f"{stats.get('block_lo', np.nan):.3f} … {stats.get('block_hi', np.nan):.3f}",
        "slope (confidence per NDVI unit)": stats["slope"],
        "confidence NDVI ≤ 0.3": float(p.confidence[low].mean()) if low.any() else np.nan,
        "confidence NDVI > 0.3": float(p.confidence[~low].mean()) if (~low).any() else np.nan,
        "accuracy NDVI ≤ 0.3": float(p.correct[low & lab].mean()) if (low & lab).any() else np.nan,
        "accuracy NDVI > 0.3": float(p.correct[~low & lab].mean()) if (~low & lab).any() else np.nan,
        "reading": ("more vegetation, lower confidence" if stats.get("block_hi", stats["fisher_hi"]) < 0 else
                    "more vegetation, higher confidence" if stats.get("block_lo", stats["fisher_lo"]) > 0 else
                    "no clear relation (interval spans 0)"),
    }]).round(3)


def gather_findings(reports_root: Path) -> pd.DataFrame:
    """The findings rows saved by 09 for every area and profile (``reports/<aoi>/<profile>/tables/ndvi_findings.csv``)."""
    parts = []
    for f in sorted(Path(reports_root).glob("*/*/tables/ndvi_findings.csv")):
        part = pd.read_csv(f)
        part.insert(1, "profile", f.parent.parent.name)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


@dataclass
class NdviResult:
    """The NDVI analysis of one run of an area: the pooled pixel pairs, Pearson r with its intervals
    (``stats``: n, r, fisher_lo/hi, block_lo/hi, blocks, slope, intercept), the per-NDVI-class table, the
    findings row, and the maps folder the pairs came from."""

    pairs: Pairs
    stats: dict
    by_class: pd.DataFrame
    findings: pd.DataFrame
    maps_dir: Path
    note: str = ""  # why there is nothing to analyse (no NDVI in the area's data), else empty

    @property
    def available(self) -> bool:
        return not self.note

    def first_pair(self) -> str:
        """The first pooled pixel pair in words (or why there is none)."""
        p = self.pairs
        if not self.available:
            return self.note
        return (f"first pair: NDVI {p.ndvi[0]:.3f}, confidence {p.confidence[0]:.3f}, correct {bool(p.correct[0])}, block {p.block[0]}; "
                f"{len(p.ndvi):,} pairs over {p.dates} dates")

    def to_json(self) -> dict:
        """The figures worth keeping (JSON-friendly): statistics, the findings row and the per-class table."""
        return {"stats": self.stats, "findings": self.findings.to_dict(orient="records"),
                "by_class": self.by_class.to_dict(orient="records"), "maps_dir": str(self.maps_dir)}

    def summary(self) -> str:
        """One line: r with its Fisher and block-bootstrap intervals (or why there is no analysis)."""
        if not self.available:
            return self.note
        s = self.stats
        return (f"r = {s['r']:.3f}; Fisher 95 % {s['fisher_lo']:.3f} … {s['fisher_hi']:.3f} (n = {s['n']:,} pixels); "
                f"block bootstrap 95 % {s['block_lo']:.3f} … {s['block_hi']:.3f} ({s['blocks']} blocks)")


def analyse(cfg: AreaConfig, variant: str | None = None, model: str = "convlstm", protocol: str = "spatial", progress: bool = True
            ) -> NdviResult:
    """The whole analysis for one run of an area: maps (08's, or made now), pairs, r with intervals, the
    per-NDVI-class table and the findings row (saved under ``reports/<aoi>/<profile>/tables/``)."""
    variant = patches.primary_variant(cfg, variant)
    maps_dir = cfg.layout.maps_dir(variant, model, protocol)
    if not bool(open_cube(cfg.layout.cube_for(variant))["has_ndvi"].values.any()):
        note = (f"No Sentinel-2 NDVI in {cfg.name}'s data (source {cfg.source!r}"
                + ("; the thesis's published thermal sets carry no optical bands" if sources.imported(cfg) else "")
                + "): the confidence-against-vegetation analysis needs NDVI matched to the thermal passes.")
        empty = np.array([])
        nan = np.full(load_labels(cfg).shape, np.nan)
        return NdviResult(Pairs(empty, empty, empty.astype(bool), empty.astype(bool), empty.astype(int), 0, nan, nan),
                          {"n": 0}, pd.DataFrame(), pd.DataFrame(), maps_dir, note)
    if not (maps_dir / "dates.csv").exists():
        evaluation.reconstruct_run(cfg, variant, model, protocol, progress=progress)
    p = pairs(cfg.layout.cube_for(variant), maps_dir, load_labels(cfg), block_px=cfg.hyperparameters.patch_size,
              include_nodata=cfg.classes.include_nodata)
    stats = pearson(p.ndvi, p.confidence, p.block, seed=0)
    table = by_ndvi_class(p)
    row = findings(cfg.name, registry.title(model), p, stats)
    io.write_csv(cfg.layout.tables_dir / "ndvi_findings.csv", row)
    io.write_csv(cfg.layout.tables_dir / "ndvi_by_class.csv", table)
    return NdviResult(p, stats, table, row, maps_dir)
