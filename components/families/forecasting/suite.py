"""The series suite: Great Expectations checks of a raw time-series table, from its config."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from components.core.validation import (
    DATETIME_TYPES,
    NUMERIC_TYPES,
    ValidationReport,
    validate_table,
)
from components.families.forecasting.config import SeriesDataset
from components.families.forecasting.frequency import periods_between

GAP_COLUMN = "periods_since_previous_date"


def series_suite(dataset: SeriesDataset, covariates: list[str]) -> list[Any]:
    """Expectations for a time-series table, from its dataset config."""
    import great_expectations.expectations as gxe

    date, target = dataset.date_column, dataset.target_column
    expectations: list[Any] = [gxe.ExpectTableRowCountToBeBetween(min_value=1)]
    expectations += [gxe.ExpectColumnToExist(column=name) for name in [date, target, *covariates]]
    expectations += [
        gxe.ExpectColumnValuesToBeInTypeList(column=date, type_list=DATETIME_TYPES),
        gxe.ExpectColumnValuesToNotBeNull(column=date),
        gxe.ExpectColumnValuesToBeUnique(column=date),
        # Consecutive dates one period apart: no gap and no step backwards.
        gxe.ExpectColumnValuesToBeBetween(column=GAP_COLUMN, min_value=1, max_value=1),
        gxe.ExpectColumnValuesToBeInTypeList(column=target, type_list=NUMERIC_TYPES),
        gxe.ExpectColumnValuesToNotBeNull(column=target),
    ]
    if dataset.target_min is not None or dataset.target_max is not None:
        expectations.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=target,
                min_value=dataset.target_min,
                max_value=dataset.target_max,
                meta={"setting": "dataset.target_min / dataset.target_max"},
            )
        )
    for name in covariates:
        expectations += [
            gxe.ExpectColumnValuesToBeInTypeList(column=name, type_list=NUMERIC_TYPES),
            gxe.ExpectColumnValuesToNotBeNull(column=name),
        ]
    if dataset.start_date is not None:
        expectations.append(
            gxe.ExpectColumnMinToBeBetween(
                column=date,
                max_value=_timestamp(dataset.start_date),
                meta={"setting": "dataset.start_date"},
            )
        )
    if dataset.end_date is not None:
        expectations.append(
            gxe.ExpectColumnMaxToBeBetween(
                column=date,
                min_value=_timestamp(dataset.end_date),
                meta={"setting": "dataset.end_date"},
            )
        )
    return expectations


def _timestamp(day: dt.date) -> dt.datetime:
    # GX compares the column's Timestamps with this bound; a bare date does not compare.
    return dt.datetime.combine(day, dt.time())


def validate_series_table(
    frame: pd.DataFrame, dataset: SeriesDataset, covariates: list[str], frequency: str
) -> ValidationReport:
    """Validate a raw time-series table against the series suite."""
    checked = frame.copy()
    if dataset.date_column in checked:
        checked[GAP_COLUMN] = periods_between(checked[dataset.date_column], frequency)
    else:
        checked[GAP_COLUMN] = float("nan")
    suite = series_suite(dataset, covariates)
    return validate_table(checked, suite, f"series-{dataset.name}")
