"""Evaluation: metrics on the test split and the plots people look at."""

from __future__ import annotations

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


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE and RMSE over every origin and step, in the target's units."""
    if actual.shape != predicted.shape:
        raise ValueError(f"shape mismatch: actual {actual.shape} vs predicted {predicted.shape}")
    errors = predicted - actual
    return {"mae": float(np.mean(np.abs(errors))), "rmse": float(np.sqrt(np.mean(errors**2)))}


def plot_forecast(
    dates: np.ndarray,
    actual: np.ndarray,
    predicted: np.ndarray,
    baseline: np.ndarray,
    title: str,
    path: Path,
) -> Path:
    """Forecast vs actual (and the naive baseline) over the test period, one step ahead."""
    plt = pyplot()

    figure, axes = plt.subplots(
        2, 1, figsize=(12, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    axes[0].plot(dates, actual, color="black", linewidth=1, label="actual")
    axes[0].plot(
        dates, baseline, color="tab:gray", linewidth=0.8, alpha=0.7, label="naive seasonal"
    )
    axes[0].plot(dates, predicted, color="tab:red", linewidth=1, label="forecast")
    axes[0].set_ylabel("ridership")
    axes[0].set_title(title)
    axes[0].legend(loc="lower left")
    axes[1].plot(dates, np.abs(predicted - actual), color="tab:red", linewidth=0.8, label="model")
    axes[1].plot(
        dates, np.abs(baseline - actual), color="tab:gray", linewidth=0.8, alpha=0.7, label="naive"
    )
    axes[1].set_ylabel("|error|")
    axes[1].legend(loc="upper left")
    return save_figure(figure, path)


def plot_learning_curves(history: dict[str, list[float]], title: str, path: Path) -> Path:
    """Training and validation curves of every metric Keras recorded."""
    plt = pyplot()

    metrics = sorted({name.removeprefix("val_") for name in history})
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        epochs = np.arange(1, len(history.get(metric, history.get(f"val_{metric}", []))) + 1)
        for name, style in ((metric, "-"), (f"val_{metric}", "--")):
            if name in history:
                axis.plot(epochs, history[name], style, label=name)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.legend()
    return save_figure(figure, path, title)
