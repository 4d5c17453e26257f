"""Plots every family logs: learning curves, curves compared across runs; the figure helpers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend (flows run without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: Path, title: str | None = None) -> Path:
    """Title, lay out and write a figure as PNG, then free it; return ``path``."""
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot().close(figure)
    return path


def plot_learning_curves(history: dict[str, list[float]], title: str, path: Path) -> Path:
    """Training and validation curves of every metric Keras recorded."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    metrics = sorted({name.removeprefix("val_") for name in history})
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        epochs = np.arange(1, len(history.get(metric, history.get(f"val_{metric}", []))) + 1)
        for name, style in ((metric, "-"), (f"val_{metric}", "--")):
            if name in history:
                axis.plot(epochs, history[name], style, label=name)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.25
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.legend()
    return save_figure(figure, path, title)


def plot_compared_curves(
    histories: dict[str, dict[str, list[float]]], metrics: Sequence[str], title: str, path: Path
) -> Path:
    """One panel per metric, one line per history (e.g. per optimizer), against the epoch."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        for name, history in histories.items():
            values = history.get(metric, [])
            axis.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=name)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.legend()
    return save_figure(figure, path, title)
