"""Interactive explorers for JupyterLab (ipywidgets), one call each:

    from rocksoil_nb.viz import widgets
    widgets.explorer("demo")             # scene, geology, prediction and confidence; a pixel's time series
    widgets.signature_explorer("demo")   # compare classes' thermal signatures by day/night and season

Both work with whatever exists (cube, trained runs) and say what is missing instead of failing.
The figures are drawn by plain methods (``Explorer.maps_figure``, ``Explorer.pixel_figure``) that
tests call without a browser.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from rocksoil_nb import config
from rocksoil_nb.analyse import signatures
from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import classes
from rocksoil_nb.infer import maps, reconstruct
from rocksoil_nb.infer.maps import read_map
from rocksoil_nb.infer.predict import WEIGHTS, load_run
from rocksoil_nb.learn import calibration, registry
from rocksoil_nb.learn.runs import INPUTS
from rocksoil_nb.prepare import patches
from rocksoil_nb.prepare.cube import flags_known, open_cube, temperature_band
from rocksoil_nb.prepare.steps import load_labels
from rocksoil_nb.viz import in_batch, plots, webmap
from rocksoil_nb.viz.signatures import plot_signatures


def _areas(cfg: AreaConfig) -> list[str]:
    """Areas with a finished cube under the working folder (this area first)."""
    base = cfg.layout.data_dir.parent
    found = sorted(p.parent.parent.name for p in base.glob("*/interim/cube.zarr")) if base.exists() else []
    return sorted(set(found) | {cfg.name}, key=lambda a: (a != cfg.name, a))


def _runs(cfg: AreaConfig) -> list[str]:
    """Trained runs of an area and profile (folders with inputs.json and weights)."""
    d = cfg.layout.models_dir
    if not d.exists():
        return []
    return sorted(p.parent.name for p in d.glob(f"*-*-*/{INPUTS}") if any((p.parent / f).exists() for f in WEIGHTS))


class Explorer:
    """State and figures of the map explorer for one area (change ``area``, ``run``, ``t``, ``row``, ``col``)."""

    def __init__(self, aoi: str = "demo", profile: str | None = None):
        self.profile = profile
        self._models: dict[tuple, tuple] = {}
        self._maps: dict[tuple, object] = {}
        self.set_area(aoi)

    # ------------------------------------------------------------------ state
    def set_area(self, aoi: str) -> None:
        self.cfg = config.load(aoi, self.profile)
        self.missing: list[str] = []
        self.ds = None
        self.labels = None
        try:
            self.ds = open_cube(self.cfg.layout.cube)
            self.times = pd.DatetimeIndex(self.ds["time"].values)
            self.temperature = temperature_band(self.ds)  # LST, or LST_err in a thesis import
            self.lst = self.ds["data"].sel(band=self.temperature)
        except (FileNotFoundError, ValueError) as e:
            self.missing.append(f"no scenes: {e}")
            self.times = pd.DatetimeIndex([])
        if self.cfg.layout.labels.exists():
            import rasterio

            with rasterio.open(self.cfg.layout.labels) as s:
                self.labels = s.read(1)
        else:
            self.missing.append(f"no geology labels: {self.cfg.layout.labels} (run 02_labels)")
        self.runs = _runs(self.cfg)
        if not self.runs:
            self.missing.append(f"no trained model for {aoi} (run 07_train): predictions are not shown")
        self.run = self.runs[0] if self.runs else None
        self.t = len(self.times) - 1
        shape = self.labels.shape if self.labels is not None else (0, 0)
        self.row, self.col = shape[0] // 2, shape[1] // 2

    @property
    def dated(self) -> bool:
        """Whether the cube's passes have dates (a thesis import has only their order)."""
        return len(self.times) > 0 and not self.times.isna().all()

    @property
    def x(self):
        """The time axis of the pixel figure: UTC times, or the date index where dates are unknown."""
        return self.times if self.dated else pd.Index(np.arange(len(self.times)))

    def date_label(self, t: int) -> str:
        if not self.dated:
            return f"date_idx {t} (dates not published)"
        dn = "day" if bool(self.ds["is_day"].values[t]) else "night"
        return f"{self.times[t]:%Y-%m-%d %H:%M} UTC ({dn})"

    def _run(self, run: str):
        """(model, spec, cube reader, window positions, variant dates, calibrator) of a run of the current area, loaded once."""
        key = (self.cfg.name, run)  # runs of different areas may share a name
        if key not in self._models:
            net, spec = load_run(self.cfg.layout.models_dir / run)
            reader = reconstruct.CubeReader(self.cfg.layout.cube_for(spec.variant), spec)
            pos = patches.positions(reader.grid.shape, int(spec.patch_size), float(spec.overlap))
            self._models[key] = (net, spec, reader, pos, patches.variant_times(reader.flags, spec.variant),
                                 calibration.stored(self.cfg.layout.models_dir / run))
        return self._models[key]

    def prediction(self):
        """The (calibrated, where 08 stored a calibrator) class probabilities of the chosen run at the chosen date — for a
        whole-series model, of the whole series whatever the date — or a reason why not."""
        if self.run is None or self.ds is None:
            return None, "no trained model" if self.run is None else "no scenes"
        net, spec, reader, pos, vt, cal = self._run(self.run)
        series = registry.maps_of(spec.model) == "series"
        key = (self.cfg.name, self.run, "series" if series else self.t)
        if key not in self._maps:
            if series:
                probs, valid = net.scene_probabilities(self.cfg.layout.cube_for(spec.variant), vt, spec.bands, progress=False)
                last = int(np.max(vt))
                dm = reconstruct.DateMap(last, reader.times[last], probs, valid, valid.astype(np.int32), bool(spec.include_nodata))
            else:
                if self.t not in set(int(v) for v in vt):
                    return None, f"this date is not in the {spec.variant} variant the model was trained on"
                frames = (reconstruct.year_frames(reader, vt, self.t, spec.frames) if spec.is_year
                          else reconstruct.sequence_frames(vt, self.t, spec.frames) if spec.is_sequence else [self.t])
                if frames is None:
                    return None, (f"{patches.MIN_YEAR_FRAMES} passes of this year are needed for a year model" if spec.is_year
                                  else f"{spec.sequence_length} earlier dates of the variant are needed for a sequence model")
                dm = reconstruct.predict_date(net, reader, frames, pos, int(spec.patch_size), spec.is_sequence,
                                              include_nodata=bool(spec.include_nodata),
                                              year_length=spec.frames if spec.is_year else 0)
            if cal is not None:
                dm = dataclasses.replace(dm, probs=np.where(dm.valid[..., None], cal.apply(dm.probs), dm.probs))
            self._maps[key] = dm
        return self._maps[key], ""

    def maps_dir(self):
        """Where 08 writes the chosen run's maps (whether or not it has), or None without a run."""
        if self.run is None:
            return None
        spec = self._run(self.run)[1]
        return self.cfg.layout.maps_dir(spec.variant, spec.model, spec.protocol)

    def aoa(self) -> np.ndarray | None:
        """The chosen run's area of applicability (1 inside, 0 outside, 255 not mapped) from 08's files, or None."""
        d = self.maps_dir()
        return read_map(d / "consensus_aoa.tif")[0] if d is not None and (d / "consensus_aoa.tif").exists() else None

    def status(self) -> str:
        """What is shown and what is missing (HTML)."""
        items = [f"<b>{self.cfg.title}</b>"]
        if len(self.times):
            items.append(f"date {self.date_label(self.t)}; pixel row {self.row}, col {self.col}")
        items += [f"<span style='color:#b45309'>{m}</span>" for m in self.missing]
        dm, why = self.prediction() if self.run else (None, "")
        if self.run and dm is None:
            items.append(f"<span style='color:#b45309'>no prediction for {self.run}: {why}</span>")
        return "<br>".join(items)

    # ------------------------------------------------------------------ figures
    def maps_figure(self):
        """Top: LST of the date (K), geology labels, predicted classes and confidence. Bottom: the probability the model
        gives the geology map's class, the entropy of its probabilities (bits), the margin between its two best classes
        and the run's area of applicability (from 08). The chosen pixel is marked."""
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch

        fig, grid = plt.subplots(2, 4, figsize=(20, 9.4))
        axes = grid.ravel()
        px = self.cfg.area.pixel_size_m
        if self.ds is not None:
            plots.raster_map(self.lst[self.t].values, axes[0], f"LST {self.date_label(self.t)}", "K", pixel_m=px)
        else:
            axes[0].text(0.5, 0.5, "no scenes (run 01 and 03)", ha="center", transform=axes[0].transAxes)
        if self.labels is not None:
            plots.class_map(self.labels, axes[1], "geology map (labels)", px, legend=False)
        dm, why = self.prediction()
        if dm is not None:
            valid = dm.valid[..., None]
            probs = np.where(valid, dm.probs, np.nan)
            plots.class_map(dm.codes, axes[2], f"predicted: {self.run}", px, legend=False)
            plots.raster_map(dm.confidence, axes[3], "confidence", "probability of the chosen class", cmap="viridis", vmin=0, vmax=1,
                             pixel_m=px)
            if self.labels is not None:
                true = np.take_along_axis(probs, self.labels[..., None].astype(int), -1)[..., 0]
                plots.raster_map(np.where(self.labels > 0, true, np.nan), axes[4], "probability of the true class",
                                 "probability 0-1", cmap="viridis", vmin=0, vmax=1, pixel_m=px)
            plots.raster_map(maps.entropy(probs), axes[5], "entropy of the probabilities", "bits", cmap="magma_r", vmin=0,
                             vmax=float(np.log2(classes.N_CLASSES - 1)), pixel_m=px)
            plots.raster_map(maps.margin(probs), axes[6], "margin: best minus second-best", "probability 0-1", cmap="viridis",
                             vmin=0, vmax=1, pixel_m=px)
        else:
            for ax in axes[[2, 3, 4, 5, 6]]:
                ax.text(0.5, 0.5, f"no prediction:\n{why}", ha="center", va="center", wrap=True, transform=ax.transAxes)
                ax.set_axis_off()
        aoa = self.aoa()
        if aoa is not None:
            from matplotlib.colors import ListedColormap

            axes[7].imshow(np.where(aoa == 255, np.nan, aoa), cmap=ListedColormap(["#d7301f", "#1a9850"]), vmin=0, vmax=1,
                           interpolation="nearest")
            axes[7].set_title("area of applicability (08, whole series)")
            axes[7].set_xticks([])
            axes[7].set_yticks([])
            axes[7].legend(handles=[Patch(color="#1a9850", label="inside"), Patch(color="#d7301f", label="outside")],
                           loc="lower right", fontsize=8)
            plots.scale_bar(axes[7], px, aoa.shape[1])
        else:
            axes[7].text(0.5, 0.5, "no area of applicability for this run:\nrun 08_evaluate with it", ha="center", va="center",
                         transform=axes[7].transAxes)
            axes[7].set_axis_off()
        for ax in axes:
            if ax.images:
                ax.plot(self.col, self.row, marker="+", color="cyan", ms=16, mew=2.5)
                ax.plot(self.col, self.row, marker="+", color="k", ms=16, mew=1)
        present = np.unique(self.labels) if self.labels is not None else []
        if dm is not None:
            present = np.union1d(present, np.unique(dm.codes[dm.codes < classes.N_CLASSES]))
        fig.legend(handles=classes.legend_handles(present), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, title="class",
                   frameon=False)
        fig.tight_layout()
        return fig

    def pixel_series(self) -> pd.DataFrame:
        """The chosen pixel over every kept pass: UTC time, day/night, LST (K), EmisWB, VV, VH (dB), NDVI, valid."""
        if self.ds is None:
            return pd.DataFrame()
        v = self.ds["data"][:, :, self.row, self.col].values
        df = pd.DataFrame(v, columns=[str(b) for b in self.ds["band"].values])
        df.insert(0, "time_utc", self.times)
        df.insert(1, "x", self.x)
        day = np.where(self.ds["is_day"].values, "day", "night") if "is_day" in flags_known(self.ds) else "unknown"
        df.insert(2, "daynight", day)
        df["valid"] = self.ds["valid"][:, self.row, self.col].values.astype(bool)
        return df

    def pixel_figure(self):
        """Time series of the chosen pixel (LST, emissivity, VV/VH when present; ● day, ○ night) and the
        predicted class probabilities at the chosen date beside the true class."""
        import matplotlib.pyplot as plt

        df = self.pixel_series()
        sar = len(df) and df[["VV", "VH"]].notna().any().any()
        n = 3 if sar else 2
        fig = plt.figure(figsize=(20, 2.6 * n))
        gs = fig.add_gridspec(n, 3)
        axes = [fig.add_subplot(gs[i, :2]) for i in range(n)]
        bands = [(self.temperature, f"{self.temperature} (K)"), ("EmisWB", "emissivity")] + ([("VV", "backscatter (dB)")] if sar else [])
        for ax, (b, unit) in zip(axes, bands):
            if not len(df):
                break
            cols = ["VV", "VH"] if b == "VV" else [b]
            for c, colr in zip(cols, ("tab:red", "tab:purple") if b == "VV" else ("tab:orange",)):
                ax.plot(df["x"], df[c], color=colr, lw=0.7, alpha=0.6)
                for dn, face in (("day", colr), ("night", "white"), ("unknown", colr)):
                    g = df[df["daynight"] == dn]
                    if len(g):
                        ax.scatter(g["x"], g[c], s=18, facecolors=face, edgecolors=colr, label=f"{c} {dn}", zorder=3)
            ax.axvline(self.x[self.t], color="k", ls="--", lw=1, label="chosen date")
            ax.set_ylabel(unit)
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
        axes[-1].set_xlabel("date (UTC)" if self.dated else "date index (dates not published; chronological)")
        axp = fig.add_subplot(gs[:, 2])
        true = int(self.labels[self.row, self.col]) if self.labels is not None else None
        dm, why = self.prediction()
        if dm is not None:
            p = dm.probs[self.row, self.col]
            axp.barh(range(classes.N_CLASSES), p, color=[classes.NAMES_COLOR[k] for k in range(classes.N_CLASSES)], edgecolor="0.3")
            axp.set_yticks(range(classes.N_CLASSES), [f"{k} {classes.NAMES[k]}" + ("  ◀ true" if k == true else "")
                                                       for k in range(classes.N_CLASSES)], fontsize=8)
            axp.invert_yaxis()
            axp.set_xlim(0, 1)
            axp.set_xlabel("predicted probability")
            axp.set_title(f"{self.run}\ntrue class: {classes.NAMES.get(true, '?')}", fontsize=9)
        else:
            axp.text(0.5, 0.5, f"true class: {classes.NAMES.get(true, '?')}\nno prediction: {why}", ha="center", va="center",
                     transform=axp.transAxes, wrap=True)
            axp.set_axis_off()
        fig.suptitle(f"pixel row {self.row}, col {self.col} ({self.cfg.area.pixel_size_m:g} m pixels)")
        fig.tight_layout()
        return fig




def _static(what: str, figures) -> None:
    """Batch runs: the explorer's first view as static figures, and where the interactive one lives."""
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    display(Markdown(f"*{what}: the first view, drawn as a static figure for this report. Open the notebook in "
                     "JupyterLab for the interactive explorer.*"))
    for make in figures:
        fig = make()
        display(fig)
        plt.close(fig)


def _show(out, make) -> None:
    import matplotlib.pyplot as plt
    from IPython.display import display

    with out:
        out.clear_output(wait=True)
        fig = make()
        display(fig)
        plt.close(fig)


def explorer(aoi: str = "demo", profile: str | None = None):
    """The map explorer as one widget: area, run (variant-model-protocol), date and pixel controls above
    the four maps and the pixel's time series with its predicted probabilities."""
    import ipywidgets as w

    ex = Explorer(aoi, profile)
    if in_batch():
        return _static("Map explorer", (ex.maps_figure, ex.pixel_figure))
    cfg0 = ex.cfg
    area = w.Dropdown(options=_areas(cfg0), value=cfg0.name, description="area")
    run = w.Dropdown(options=ex.runs or ["(none)"], description="model run", layout=w.Layout(width="380px"))
    date = w.SelectionSlider(options=[(ex.date_label(i), i) for i in range(len(ex.times))] or [("(no dates)", 0)],
                             value=ex.t if len(ex.times) else 0, description="date", layout=w.Layout(width="600px"),
                             continuous_update=False)
    shape = ex.labels.shape if ex.labels is not None else (1, 1)
    row = w.IntSlider(ex.row, 0, shape[0] - 1, description="pixel row", continuous_update=False)
    col = w.IntSlider(ex.col, 0, shape[1] - 1, description="pixel col", continuous_update=False)
    info = w.HTML(ex.status())
    out_maps, out_pixel, out_web = w.Output(), w.Output(), w.Output()
    busy = {"on": False, "web": None}

    def redraw_web():
        spec_dir = ex.maps_dir()
        if spec_dir == busy["web"]:
            return
        busy["web"] = spec_dir
        with out_web:
            out_web.clear_output(wait=True)
            webmap.show(ex.cfg, spec_dir)

    def redraw(*_):
        info.value = ex.status()
        _show(out_maps, ex.maps_figure)
        _show(out_pixel, ex.pixel_figure)
        redraw_web()

    def on_area(change):
        busy["on"] = True
        ex.set_area(change["new"])
        run.options = ex.runs or ["(none)"]
        date.options = [(ex.date_label(i), i) for i in range(len(ex.times))] or [("(no dates)", 0)]
        date.value = ex.t if len(ex.times) else 0
        shp = ex.labels.shape if ex.labels is not None else (1, 1)
        row.max, col.max = shp[0] - 1, shp[1] - 1
        row.value, col.value = ex.row, ex.col
        busy["on"] = False
        redraw()

    def on_change(change):
        if busy["on"]:
            return
        ex.run = None if run.value == "(none)" else run.value
        ex.t, ex.row, ex.col = int(date.value), int(row.value), int(col.value)
        redraw()

    area.observe(on_area, "value")
    for c in (run, date, row, col):
        c.observe(on_change, "value")
    web_title = w.HTML("<b>The run's maps from 08 on a basemap</b> (classes, confidence, entropy, area of applicability, "
                       "geology outlines)")
    box = w.VBox([w.HBox([area, run]), date, w.HBox([row, col]), info, out_maps, out_pixel, web_title, out_web])
    box.explorer = ex  # for scripting and tests
    redraw()
    return box


BANDS = ("LST", "EmisWB")
PASSES = ("day and night", "day", "night")
SEASONS = ("all year", "summer", "winter")


class SignatureExplorer:
    """State and figure of the signature explorer for one area: per-class series of each band, computed once."""

    def __init__(self, aoi: str = "demo", profile: str | None = None):
        self.cfg = config.load(aoi, profile)
        self.ds = open_cube(self.cfg.layout.cube)
        self.labels = load_labels(self.cfg)
        self._series: dict[str, pd.DataFrame] = {}
        self.temperature = temperature_band(self.ds)  # LST, or LST_err in a thesis import
        self.present = [int(k) for k in sorted(self.series("LST")["code"].unique())]

    def series(self, band: str) -> pd.DataFrame:
        if band not in self._series:
            self._series[band] = signatures.class_series(self.ds, self.labels, band)
        return self._series[band]

    def figure(self, codes, band: str = "LST", passes: str = "day and night", season: str = "all year"):
        """Signatures of the chosen classes for one band, passes (day and night | day | night) and season
        (all year | summer | winter, the thesis's halves of the year)."""
        import matplotlib.pyplot as plt

        if band not in BANDS or passes not in PASSES or season not in SEASONS:
            raise ValueError(f"band must be one of {BANDS}, passes {PASSES}, season {SEASONS}")
        s = self.series(band)
        if passes != "day and night":
            s = s[s["daynight"] == passes]
        if season != "all year":
            s = s[s["season"] == season]
        fig, ax = plt.subplots(figsize=(13, 4.8))
        if s.empty or not set(codes) & set(s["code"]):
            ax.text(0.5, 0.5, f"no {passes} passes in {season} for the chosen classes", ha="center", va="center",
                    transform=ax.transAxes)
        shown = self.temperature if band == "LST" else band
        plot_signatures(s, codes=list(codes), ax=ax, title=f"{self.cfg.title}: {shown}, {passes}, {season}")
        if band != "LST":
            ax.set_ylabel("emissivity (broadband, 0-1)")
        return fig


def signature_explorer(aoi: str = "demo", profile: str | None = None):
    """Compare classes' thermal signatures: pick classes, band, day/night and season."""
    import ipywidgets as w

    try:
        ex = SignatureExplorer(aoi, profile)
    except (FileNotFoundError, ValueError) as e:
        return w.HTML(f"<span style='color:#b45309'>Nothing to explore yet: {e}</span>")
    if in_batch():
        return _static("Signature explorer", (lambda: ex.figure(tuple(ex.present[:2])),))
    pick = w.SelectMultiple(options=[(f"{k} {classes.NAMES[k]}", k) for k in ex.present], value=tuple(ex.present[:2]),
                            description="classes", rows=min(8, len(ex.present)))
    band = w.ToggleButtons(options=list(BANDS), description="band")
    dn = w.ToggleButtons(options=list(PASSES), description="passes")
    season = w.ToggleButtons(options=list(SEASONS), description="season")
    out = w.Output()

    def redraw(*_):
        _show(out, lambda: ex.figure(pick.value, band.value, dn.value, season.value))

    for c in (pick, band, dn, season):
        c.observe(redraw, "value")
    redraw()
    box = w.VBox([w.HBox([pick, w.VBox([band, dn, season])]), out])
    box.explorer = ex  # for scripting and tests
    return box
