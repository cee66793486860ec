"""What is in a raw folder (01_acquire): files per source and layer, dates, gaps and sizes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rocksoil_nb.core import ecostress, sentinel


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


def file_table(raw_dir: str | Path) -> pd.DataFrame:
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


