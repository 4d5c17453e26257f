"""Drift of a grown series against the champion's: the newest periods against the same
calendar span a year earlier, so a season is never mistaken for drift."""

from __future__ import annotations

import pandas as pd

from components.core.drift import (
    DriftStatistic,
    distribution_shift,
    level_shift,
    scale_shift,
)
from components.families.forecasting.config import ForecastingConfig
from components.families.forecasting.features import covariate_columns


def series_drift(
    reference: pd.DataFrame, current: pd.DataFrame, config: ForecastingConfig
) -> list[DriftStatistic]:
    """Target distribution, level and scale, and each numeric covariate's distribution, of
    the periods after the reference's end (the last ``drift.recent`` when none are new)
    against the same dates a year before (the reference's last ``drift.recent`` periods
    when it does not reach that far back)."""
    dataset = config.dataset
    date, target = dataset.date_column, dataset.target_column
    before = reference.dropna(subset=[date]).sort_values(date)
    after = current.dropna(subset=[date]).sort_values(date)
    if before.empty or after.empty:
        return []
    recent = config.drift.recent
    newest = after[after[date] > before[date].max()]
    window = newest.tail(recent) if not newest.empty else after.tail(recent)
    year_ago = before[
        before[date].between(
            window[date].min() - pd.DateOffset(years=1), window[date].max() - pd.DateOffset(years=1)
        )
    ]
    # A year back holds the same season; when the reference is shorter, its latest periods.
    compared = year_ago if len(year_ago) >= len(window) // 2 else before.tail(recent)
    span = _span(window, date)
    against = _span(compared, date)
    label = f"{target}, {span} vs {against}"
    statistics = [
        distribution_shift(label, compared[target], window[target]),
        level_shift(label, compared[target], window[target]),
        scale_shift(label, compared[target], window[target]),
    ]
    for column in covariate_columns(after, dataset):
        if column in compared and pd.api.types.is_numeric_dtype(after[column]):
            statistics.append(distribution_shift(column, compared[column], window[column]))
    return [item for item in statistics if item is not None]


def _span(frame: pd.DataFrame, date: str) -> str:
    first, last = frame[date].min(), frame[date].max()
    return f"{first:%Y-%m-%d}..{last:%Y-%m-%d}"
