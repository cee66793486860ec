"""Figures of 06_tune and 07_train: training curves, the Optuna study and the thesis's one-at-a-time sweeps."""

from __future__ import annotations

import numpy as np
import pandas as pd


def history_figure(history: pd.DataFrame, title: str = ""):
    """Loss, OA and macro-F1 per epoch for training and validation."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for ax, (name, label) in zip(axes, (("loss", "loss"), ("oa", "overall accuracy"), ("macro_f1", "macro-F1"))):
        for prefix, style in (("", "-"), ("val_", "--")):
            col = prefix + name
            if col in history:
                ax.plot(history["epoch"] + 1, history[col], style, marker="o", ms=3, label="validation" if prefix else "train")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_study(study):
    """Optimisation history and parameter importances (matplotlib)."""
    import matplotlib.pyplot as plt
    import optuna

    fig, axes = plt.subplots(1, 2, figsize=(14, 4))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    vals = [t.value for t in done]
    axes[0].plot([t.number for t in done], vals, "o", label="trial")
    axes[0].plot([t.number for t in done], np.maximum.accumulate(vals) if vals else [], "-", label="best so far")
    axes[0].set_xlabel("trial")
    axes[0].set_ylabel("validation macro-F1")
    axes[0].set_title("optimisation history")
    axes[0].legend()
    try:
        imp = optuna.importance.get_param_importances(study)
        axes[1].barh(list(imp), list(imp.values()))
        axes[1].set_xlabel("importance (fANOVA)")
    except (RuntimeError, ValueError) as e:
        axes[1].text(0.5, 0.5, f"importances need more finished trials\n({e.__class__.__name__})", ha="center", va="center")
    axes[1].set_title("parameter importances")
    fig.tight_layout()
    return fig


def plot_sweeps(hist: dict):
    """Training and validation loss per epoch for each swept value (thesis Figures 4.2-4.6)."""
    import matplotlib.pyplot as plt

    params = list(dict.fromkeys(p for p, _ in hist))
    fig, axes = plt.subplots(1, len(params), figsize=(4.5 * len(params), 3.6), squeeze=False)
    for ax, param in zip(axes[0], params):
        for (p, v), h in hist.items():
            if p != param:
                continue
            line = ax.plot(h["epoch"] + 1, h["loss"], "-", marker="o", ms=3, label=f"{v:g} train")[0]
            if "val_loss" in h:
                ax.plot(h["epoch"] + 1, h["val_loss"], "--", color=line.get_color(), label=f"{v:g} val")
        ax.set_title(param)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
