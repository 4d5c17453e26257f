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


ZOOM_PERIODS = 56  # the last periods drawn again, large: eight weeks of a daily series


def plot_forecast(
    dates: np.ndarray,
    actual: np.ndarray,
    predicted: np.ndarray,
    baseline: np.ndarray,
    title: str,
    path: Path,
    unit: str,
    step: int = 1,
    horizon: int = 1,
) -> Path:
    """Forecast vs actual (and the naive baseline) ``step`` periods ahead: the whole test
    period in thin lines, its last ``ZOOM_PERIODS`` periods large enough to read each one,
    and the absolute errors; the y axes say the series' ``unit``."""
    plt = pyplot()

    figure, (whole, zoom, errors) = plt.subplots(
        3, 1, figsize=(12, 9), gridspec_kw={"height_ratios": [2, 2, 1]}
    )
    series = (
        (actual, "actual", "black", 0.9),
        (baseline, "naive seasonal", "tab:gray", 0.7),
        (predicted, "forecast", "tab:red", 0.9),
    )
    for values, label, color, alpha in series:
        whole.plot(dates, values, color=color, linewidth=0.6, alpha=alpha, label=label)
    shown = slice(max(0, len(dates) - ZOOM_PERIODS), None)
    for values, label, color, alpha in series:
        zoom.plot(
            dates[shown],
            values[shown],
            color=color,
            linewidth=1.2,
            alpha=alpha,
            marker="o",
            markersize=2.5,
            label=label,
        )
    ahead = f"{step} period{'s' if step > 1 else ''} ahead" + (
        f" (step {step} of {horizon})" if horizon > 1 else ""
    )
    whole.set_title(f"{title}\nforecast made {ahead}, whole test period")
    zoom.set_title(f"last {len(dates[shown])} periods")
    for axis in (whole, zoom):
        axis.set_ylabel(unit)
    # Above the data, never over it.
    whole.legend(loc="lower left", bbox_to_anchor=(0, 1.12), ncol=3, frameon=False)
    errors.plot(dates, np.abs(predicted - actual), color="tab:red", linewidth=0.6, label="model")
    errors.plot(
        dates,
        np.abs(baseline - actual),
        color="tab:gray",
        linewidth=0.6,
        alpha=0.7,
        label="naive seasonal",
    )
    errors.set_ylabel(f"|error| ({unit})")
    errors.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    return save_figure(figure, path)
