"""What is in a raw folder: per-source file inventory and a per-scene ECOSTRESS table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import ecostress, sentinel


def _files(raw: Path) -> pd.DataFrame:
    rows = []
    for p in sorted(raw.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        rec = {"path": str(p.relative_to(raw)), "size_mb": p.stat().st_size / 1e6}
        if p.suffix == ".tif":
            try:
                n = ecostress.parse_name(p)
                rec.update(source="ECOSTRESS " + n.product, layer=n.layer, time_utc=n.time)
            except ValueError:
                s = sentinel.parse(p)
                if s:
                    rec.update(source=s["source"], layer=s["layer"], time_utc=pd.Timestamp(s["time"]))
                else:
                    rec.update(source="other raster", layer=p.stem)
        elif p.suffix in (".gpkg", ".shp"):
            rec.update(source="geology vector", layer=p.stem)
        else:
            rec.update(source="metadata", layer=p.name)
        rows.append(rec)
    return pd.DataFrame(rows)


def inventory(raw_dir: str | Path) -> pd.DataFrame:
    """Per source and layer: number of files and dates, first and last date (UTC), size (MB),
    and the longest gap between dates (days)."""
    raw = Path(raw_dir)
    if not raw.exists():
        raise FileNotFoundError(f"{raw}: raw folder does not exist; run 01_acquire first")
    df = _files(raw)
    if df.empty:
        raise FileNotFoundError(f"{raw}: raw folder is empty")
    out = []
    for (src, layer), g in df.groupby(["source", "layer"], sort=True):
        t = pd.to_datetime(g["time_utc"], utc=True).dropna().sort_values() if "time_utc" in g else pd.Series(dtype="datetime64[ns, UTC]")
        gaps = t.dt.normalize().drop_duplicates().diff().dt.days
        out.append({"source": src, "layer": layer, "files": len(g), "dates": int(t.dt.date.nunique()) if len(t) else 0,
                    "first": t.min().date() if len(t) else None, "last": t.max().date() if len(t) else None,
                    "longest_gap_days": int(gaps.max()) if len(gaps.dropna()) else None, "size_mb": round(g["size_mb"].sum(), 1)})
    return pd.DataFrame(out)


def scene_table(raw_dir: str | Path, max_cloud: float = 0.10, max_bad: float = 0.15) -> pd.DataFrame:
    """One row per ECOSTRESS pass: UTC time, layers present (and each layer's file name, column
    ``<layer>_file``), cloud / bad / valid fractions from the cloud layer and decoded QC bits, and
    whether the thesis filter would keep it."""
    import rasterio

    raw = Path(raw_dir) / "ecostress"
    files = sorted(raw.glob("*.tif"))
    by_time: dict = {}
    for p in files:
        try:
            n = ecostress.parse_name(p)
        except ValueError:
            continue
        by_time.setdefault(n.time, {})[n.layer] = p
    rows = []
    for t in sorted(by_time):
        lay = by_time[t]
        rec = {"time_utc": t, "layers": ",".join(sorted(lay))}
        rec.update({f"{name}_file": lay[name].name if name in lay else "" for name in ecostress.REQUESTED_LAYERS})
        if "QC" in lay:
            with rasterio.open(lay["QC"]) as s:
                qc = s.read(1)
                rec["shape"] = f"{s.height}x{s.width}"
            cloud = None
            if "cloud" in lay:
                with rasterio.open(lay["cloud"]) as s:
                    cloud = s.read(1)
            rec.update(ecostress.scene_fractions(qc, cloud))
            reasons = []
            if rec["cloud_fraction"] > max_cloud:
                reasons.append(f"cloud {rec['cloud_fraction']:.0%} > {max_cloud:.0%}")
            if rec["bad_fraction"] > max_bad:
                reasons.append(f"bad quality {rec['bad_fraction']:.0%} > {max_bad:.0%}")
            rec["kept"] = not reasons
            rec["reason"] = "; ".join(reasons)
        else:
            rec.update(cloud_fraction=np.nan, bad_fraction=np.nan, valid_fraction=np.nan, kept=False, reason="no QC layer")
        rows.append(rec)
    return pd.DataFrame(rows)
