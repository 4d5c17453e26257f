"""Forecast scores and the forecast-vs-actual plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.core.plots import pyplot, save_figure


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
    unit: str,
) -> Path:
    """Forecast vs actual (and the naive baseline) over the test period, one step ahead;
    the y axis says the series' ``unit``."""
    plt = pyplot()

    figure, axes = plt.subplots(
        2, 1, figsize=(12, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    axes[0].plot(dates, actual, color="black", linewidth=1, label="actual")
    axes[0].plot(
        dates, baseline, color="tab:gray", linewidth=0.8, alpha=0.7, label="naive seasonal"
    )
    axes[0].plot(dates, predicted, color="tab:red", linewidth=1, label="forecast")
    axes[0].set_ylabel(unit)
    axes[0].set_title(title)
    axes[0].legend(loc="lower left")
    axes[1].plot(dates, np.abs(predicted - actual), color="tab:red", linewidth=0.8, label="model")
    axes[1].plot(
        dates, np.abs(baseline - actual), color="tab:gray", linewidth=0.8, alpha=0.7, label="naive"
    )
    axes[1].set_ylabel("|error|")
    axes[1].legend(loc="upper left")
    return save_figure(figure, path)
