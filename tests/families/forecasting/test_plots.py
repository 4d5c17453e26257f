"""The forecast plot renders, labelled with the series' unit and the step it draws, the
last weeks drawn again large."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.families.forecasting.evaluation import plot_forecast


def test_forecast_plot_writes_a_png_in_the_series_unit(tmp_path: Path, monkeypatch) -> None:
    from components.core import plots

    labels, titles, zoomed = [], [], []
    original = plots.save_figure

    def keep_label(figure, path, title=None):
        labels.append(figure.axes[0].get_ylabel())
        titles.extend(axis.get_title() for axis in figure.axes)
        zoomed.extend(len(line.get_xdata()) for line in figure.axes[1].get_lines())
        return original(figure, path, title)

    monkeypatch.setattr("components.families.forecasting.evaluation.save_figure", keep_label)
    days = np.arange("2020-01-01", "2020-04-10", dtype="datetime64[D]")
    actual = np.linspace(1, 2, len(days))
    path = plot_forecast(
        days,
        actual,
        actual + 0.1,
        actual - 0.1,
        "f",
        tmp_path / "f.png",
        unit="units sold",
        step=1,
        horizon=14,
    )
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 5_000
    assert labels == ["units sold"]
    assert "1 period ahead (step 1 of 14)" in titles[0]
    assert zoomed == [56, 56, 56]  # actual, naive and forecast over the last eight weeks
