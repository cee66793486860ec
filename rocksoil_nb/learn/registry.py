"""The registry of models: one entry per model name, telling every part of the workbook what that model is.

An entry says how tables name the model, which dataset samples it reads (``cnn``: one date, (H, W, C); ``seq``: the
thesis's T = 5 dates; ``year``: every kept pass of a calendar year), whether it is a deep network trained by epochs or
a per-pixel estimator fitted once, which learning rate of ``hyperparameters.learning_rate`` it takes, whether it
predicts a whole test period at once (its held-out units are then spatial blocks under every protocol), how it maps a
full scene, and where its code is. Code is named as ``"module:function"`` and imported only when used, so that reading
the registry (the CLI's ``--help``, the results tables) loads no Keras.

Adding a model is one entry here plus its module: a deep model needs a builder ``build(input_shape, base_filters,
dropout, l2, n_classes) -> keras.Model``; a per-pixel model its own ``fit(run)``, ``warmup(cfg, variant, protocol,
seed)``, ``cost(row, warm, cfg)`` and ``rescore(cfg, run_dir, result, folder)`` (see :mod:`rocksoil_nb.learn.baseline`).
The schema's choices (:data:`rocksoil_nb.config.schema.ModelName`) must list the same names (a test checks it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["cnn", "seq", "year"]


@dataclass(frozen=True)
class ModelEntry:
    """What the workbook knows of one model (see the module docstring)."""

    name: str
    title: str  # how tables, figures and sentences name it
    kind: Kind  # the dataset samples it reads
    deep: bool  # a Keras network trained by epochs (else a per-pixel estimator fitted once)
    rate: str  # key of hyperparameters.learning_rate it trains with (deep models)
    rank: int  # order in tables; ties between models go to the lower rank (the simpler)
    build: str = ""  # deep: "module:function" building the network
    fit: str = "rocksoil_nb.learn.train:fit_deep"  # trains one run folder and returns its RunResult
    warmup: str = "rocksoil_nb.learn.experiments:warmup_deep"  # timings for the run matrix's estimate
    cost: str = "rocksoil_nb.learn.experiments:cost_deep"  # estimated seconds of one planned run from its warm-up
    rescore: str = "rocksoil_nb.learn.train:rescore_saved"  # scores a finished run's test split again from its files
    whole_series: bool = False  # predicts the whole test period at once: held-out units are blocks under every protocol
    maps: Literal["windows", "series"] = "windows"  # full-scene maps: "windows" (overlapping patches, reconstructed) or
    # "series" (each pixel from its own whole series of passes, one map of the period: no dates, no windows)
    probabilities: str = "rocksoil_nb.analyse.confidence:window_probabilities"  # (cfg, run_dir, split) -> (p, y, block)
    settings: str = ""  # "module:name" of a dict of the model's own settings, part of every run's key (retrain on change)
    settings_key: str = ""  # the run key's entry holding them
    baseline: bool = False  # a per-pixel baseline every other model is measured against (08's paired intervals)
    estimator: str = ""  # per-pixel models fitted on patch arrays: "module:class" with fit(x, y, w) (``api.fit_arrays``)

    def load(self, what: str) -> Callable:
        """The function (or ``settings`` dict) named by field ``what`` (``build``, ``fit``, ``warmup``, ``cost``,
        ``rescore``, ``settings``, ``estimator``, ``probabilities``), imported now."""
        target = getattr(self, what)
        if not target:
            raise ValueError(f"model {self.name!r} has no {what} function")
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)


_ENTRIES = (
    ModelEntry("pixel_rf", "per-pixel RF", "cnn", deep=False, rate="cnn", rank=1, fit="rocksoil_nb.learn.train:fit_rf",
               warmup="rocksoil_nb.learn.baseline:warmup", cost="rocksoil_nb.learn.baseline:cost",
               estimator="rocksoil_nb.learn.baseline:PixelRF", baseline=True),
    ModelEntry("pixel_series", "per-pixel series", "cnn", deep=False, rate="cnn", rank=2,
               fit="rocksoil_nb.learn.series_baseline:fit", warmup="rocksoil_nb.learn.series_baseline:warmup",
               cost="rocksoil_nb.learn.series_baseline:cost", rescore="rocksoil_nb.learn.series_baseline:rescore",
               whole_series=True, maps="series", probabilities="rocksoil_nb.learn.series_baseline:split_probabilities",
               settings="rocksoil_nb.learn.series_baseline:SETTINGS", settings_key="series", baseline=True),
    ModelEntry("pixel_focal", "series + neighbourhood", "cnn", deep=False, rate="cnn", rank=3,
               fit="rocksoil_nb.learn.series_baseline:fit", warmup="rocksoil_nb.learn.series_baseline:warmup",
               cost="rocksoil_nb.learn.series_baseline:cost", rescore="rocksoil_nb.learn.series_baseline:rescore",
               whole_series=True, maps="series", probabilities="rocksoil_nb.learn.series_baseline:split_probabilities",
               settings="rocksoil_nb.learn.series_baseline:FOCAL_SETTINGS", settings_key="series"),
    ModelEntry("cnn", "CNN", "cnn", deep=True, rate="cnn", rank=4, build="rocksoil_nb.learn.models:build_cnn"),
    ModelEntry("convlstm", "ConvLSTM", "seq", deep=True, rate="convlstm", rank=5, build="rocksoil_nb.learn.models:build_convlstm"),
    ModelEntry("tae", "U-TAE", "year", deep=True, rate="convlstm", rank=6, build="rocksoil_nb.learn.models:build_tae",
               whole_series=True),
)
MODELS: dict[str, ModelEntry] = {e.name: e for e in _ENTRIES}


def get(name: str) -> ModelEntry:
    """The entry of model ``name``; an unknown name is an error listing the registry's keys."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; the registry has {list(MODELS)}") from None


def names(deep: bool | None = None) -> list[str]:
    """Model names in table order; only the deep (``True``) or per-pixel (``False``) ones when asked."""
    return [e.name for e in sorted(MODELS.values(), key=lambda e: e.rank) if deep is None or e.deep == deep]


def baselines() -> list[str]:
    """The per-pixel baselines (entries with ``baseline``), in table order."""
    return [n for n in names() if MODELS[n].baseline]


def title(name: str) -> str:
    """How tables and figures name a model (the name itself for one the registry lacks, e.g. ``majority``)."""
    return MODELS[name].title if name in MODELS else name


def is_deep(name: str) -> bool:
    """Whether ``name`` is a deep model (trained by epochs, with a history)."""
    return get(name).deep


def maps_of(name: str) -> str:
    """How model ``name`` maps a scene (its entry's ``maps``); a Keras model outside the registry maps through windows."""
    return MODELS[name].maps if name in MODELS else "windows"


def kind_of(name: str) -> Kind:
    """The dataset samples model ``name`` reads (``cnn``, ``seq`` or ``year``)."""
    return get(name).kind
