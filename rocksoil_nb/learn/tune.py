"""Tuning (06_tune): an Optuna study over learning rate, L2, batch size, base filters and focal γ with
pruning, stored in SQLite under ``models/<aoi>/optuna.db`` (or any RDB URL, e.g. PostgreSQL, so several
machines share one study) and resumable; plus the thesis's own one-parameter-at-a-time sweeps
(Table 2, Figures 4.2-4.6) and loss comparison (Table 1). Objective: best validation macro-F1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rocksoil_nb.config.schema import AreaConfig
from rocksoil_nb.core import io
from rocksoil_nb.learn import losses, train
from rocksoil_nb.prepare import patches
from rocksoil_nb.prepare.manifest import DatasetManifest

# thesis Table 2: values tried one at a time around the base configuration
SWEEPS = {"learning_rate": [1e-1, 1e-2, 1e-3, 1e-4, 1e-5], "l2": [0.0, 0.001, 0.01, 0.05, 0.1],
          "batch_size": [2, 4, 8, 16, 32], "base_filters": [8, 16, 32, 64, 128]}


HEARTBEAT_S = 60  # seconds between a running trial's signs of life in the study's storage


def storage_url(cfg: AreaConfig, storage: str | None = None) -> str:
    """``storage`` if given, else ``$OPTUNA_STORAGE`` (e.g. postgresql://user:pw@host/db, kept out of notebooks),
    else SQLite in ``models/<aoi>/<profile>/optuna.db``."""
    import os

    storage = storage or os.environ.get("OPTUNA_STORAGE")
    if storage:
        return storage
    cfg.layout.models_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{cfg.layout.optuna_db}"


def _scale(cfg: AreaConfig, epochs: int | None) -> dict:
    """Epochs and samples of a tuning run: the profile's tuning settings unless ``epochs`` is given."""
    return {"epochs": epochs or cfg.profile.tuning_epochs or None,
            "max_samples": cfg.profile.tuning_max_patches or cfg.profile.max_patches}


def run_study(cfg: AreaConfig, model: str = "cnn", variant: str | None = None, protocol: str = "spatial", n_trials: int | None = None,
              storage: str | None = None, seed: int = 0, epochs: int | None = None):
    """Run (or continue) the study until it holds ``n_trials`` finished trials; returns the study."""
    variant = patches.primary_variant(cfg, variant)
    import warnings

    import keras
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = f"{cfg.name}-{variant}-{model}-{protocol}"
    # a heartbeat marks the running trials of a killed process failed, so they neither hold the study's target nor
    # stay 'running' for ever
    with warnings.catch_warnings():  # the heartbeat is marked experimental in Optuna; no warning in the notebooks
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        url = optuna.storages.RDBStorage(storage_url(cfg, storage), heartbeat_interval=HEARTBEAT_S, grace_period=3 * HEARTBEAT_S)
        study = optuna.create_study(study_name=name, storage=url, direction="maximize", load_if_exists=True)
        optuna.storages.fail_stale_trials(study)
    # processes sharing the study draw from different streams: the sampler's seed counts the trials already there,
    # running ones included (a single process replays the same trials from the same history)
    started = len(study.trials)
    study = optuna.load_study(study_name=name, storage=url, sampler=optuna.samplers.TPESampler(seed=seed + started),
                              pruner=optuna.pruners.MedianPruner(n_warmup_steps=1))
    n_trials = n_trials or cfg.profile.tuning_trials
    counted = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
    done = len(study.get_trials(deepcopy=False, states=counted))

    class Report(keras.callbacks.Callback):
        def __init__(self, trial):
            super().__init__()
            self.trial = trial

        def on_epoch_end(self, epoch, logs=None):
            v = (logs or {}).get("val_macro_f1")
            if v is not None:
                self.trial.report(float(v), epoch)
                if self.trial.should_prune():
                    raise optuna.TrialPruned()

    def objective(trial):
        hp = {"learning_rate": {"cnn": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True)},
              "l2": trial.suggest_float("l2", 1e-5, 1e-1, log=True),
              "batch_size": trial.suggest_categorical("batch_size", [4, 8, 16]),
              "base_filters": trial.suggest_categorical("base_filters", [8, 16, 32]),
              "focal_gamma": trial.suggest_float("focal_gamma", 0.0, 3.0)}
        hp["learning_rate"] = {"cnn": hp["learning_rate"]["cnn"], "convlstm": hp["learning_rate"]["cnn"]}
        out = cfg.layout.tune_dir(name) / f"trial-{trial.number:04d}"
        res = train.train(cfg, variant, model, protocol, **_scale(cfg, epochs), out_dir=out, hp_overrides=hp, seed=seed, verbose=0,
                          extra_callbacks=[Report(trial)], evaluate_test=False)
        return res.val_macro_f1_best or 0.0

    if done < n_trials:  # stop when the study holds the target, whichever process ran the trials
        study.optimize(objective, n_trials=n_trials - done, catch=(ValueError,),
                       callbacks=[optuna.study.MaxTrialsCallback(n_trials, states=counted)])
    return study


def save_best(cfg: AreaConfig, study) -> Path:
    """Write the best parameters where 07_train picks them up (``models/<aoi>/best_params.json``)."""
    best = dict(study.best_params)
    lr = best.pop("learning_rate")
    hp = {**best, "learning_rate": {"cnn": lr, "convlstm": lr}}
    return io.write_json(cfg.layout.best_params, {"study": study.study_name, "value_val_macro_f1": study.best_value,
                                                  "hyperparameters": hp})


def load_best(cfg: AreaConfig) -> dict | None:
    """The tuned hyperparameters saved by 06, or None."""
    p = cfg.layout.best_params
    return io.read_json(p)["hyperparameters"] if p.exists() else None


def trials_table(study) -> pd.DataFrame:
    df = study.trials_dataframe(attrs=("number", "value", "params", "state", "duration"))
    return df.rename(columns=lambda c: c.replace("params_", ""))


def thesis_sweeps(cfg: AreaConfig, model: str = "cnn", variant: str | None = None, protocol: str = "thesis", points: int | None = None,
                  epochs: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Thesis Table 2: one parameter at a time around the configured values (validation scores only; the
    test split stays unseen). The profile names the parameters and the number of values. Returns (table, histories)."""
    variant = patches.primary_variant(cfg, variant)
    points = points or cfg.profile.sweep_points
    rows, hist = [], {}
    for param in cfg.profile.sweep_params:
        values = SWEEPS[param]
        take = values if points >= len(values) else [values[i] for i in np.linspace(0, len(values) - 1, points).round().astype(int)]
        for v in take:
            hp = {"learning_rate": {"cnn": v, "convlstm": v}} if param == "learning_rate" else {param: v}
            out = cfg.layout.sweeps_dir / f"{model}-{param}-{v:g}"
            r = train.train(cfg, variant, model, protocol, **_scale(cfg, epochs), out_dir=out, hp_overrides=hp, seed=seed, verbose=0,
                            evaluate_test=False)
            h = pd.read_csv(out / "history.csv")
            hist[(param, v)] = h
            rows.append({"parameter": param, "value": v, "epochs": r.epochs_run, "final_loss": h["loss"].iloc[-1],
                         "final_val_loss": h.get("val_loss", pd.Series([np.nan])).iloc[-1],
                         "best_val_macro_f1": r.val_macro_f1_best})
    return pd.DataFrame(rows), hist


def loss_comparison(cfg: AreaConfig, model: str = "cnn", variant: str | None = None, protocol: str = "thesis", epochs: int | None = None,
                    seed: int = 0) -> pd.DataFrame:
    """Thesis Table 1: plain cross-entropy, equal weights, slightly and strongly boosted rare classes,
    and the final class-weighted focal loss."""
    variant = patches.primary_variant(cfg, variant)

    counts = np.array(DatasetManifest.read(cfg.layout.patches_dir(variant)).protocol("cnn", protocol).class_pixels["train"])
    setups = [("plain cross-entropy", "cross_entropy", "equal", 0.0),
              ("weighted CE, equal weights", "weighted_cross_entropy", "equal", 0.0),
              ("weighted CE, rare classes slightly boosted (√ inverse frequency)", "weighted_cross_entropy", "inverse_sqrt", 0.0),
              ("weighted CE, rare classes strongly boosted (inverse frequency)", "weighted_cross_entropy", "inverse", 0.0),
              ("class-weighted focal (area weights, γ = 2)", "weighted_focal", "area", 2.0)]
    rows = []
    for label, loss, weights, gamma in setups:
        out = cfg.layout.losses_dir / f"{model}-{loss}-{weights}"
        hp = {"loss": loss, "focal_gamma": gamma}
        r = train.train(cfg, variant, model, protocol, **_scale(cfg, epochs), out_dir=out, hp_overrides=hp, weights=weights, seed=seed,
                        verbose=0, evaluate_test=False)
        rows.append({"loss": label, "epochs": r.epochs_run, "best_val_macro_f1": r.val_macro_f1_best,
                     "largest class weight": float(np.max(losses.class_weights(weights, cfg.classes.weights, counts)))})
    return pd.DataFrame(rows)


