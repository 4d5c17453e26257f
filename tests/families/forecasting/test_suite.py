"""The Great Expectations suite accepts the real table and names what is wrong with bad copies."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from components.core.validation import DataValidationError
from components.families.forecasting.family import ForecastingFamily
from components.families.forecasting.features import covariate_columns
from components.families.forecasting.suite import validate_series_table

DATASET = ForecastingFamily().load_config().dataset  # every column a covariate, dates bounded


def check(frame: pd.DataFrame):
    return validate_series_table(frame, DATASET, covariate_columns(frame, DATASET), "D")


def test_real_table_passes(chicago: pd.DataFrame) -> None:
    report = check(chicago)
    assert report.success, report.failures
    assert report.evaluated > 100
    assert report.result["success"] is True


def with_nan(frame):
    frame.loc[10, "ridership"] = np.nan
    return frame


def with_negative(frame):
    frame.loc[20, "ridership"] = -4.5
    return frame


def with_duplicated_date(frame):
    frame.loc[31, "date"] = frame.loc[30, "date"]
    return frame


def with_missing_day(frame):
    return frame.drop(index=40).reset_index(drop=True)


def with_wrong_dtype(frame):
    frame["temp"] = frame["temp"].astype(str)
    return frame


def with_text_target(frame):
    frame["ridership"] = frame["ridership"].map(lambda value: f"{value:.1f}k")
    return frame


def empty(frame):
    return frame.iloc[:0]


def with_short_range(frame):
    return frame[frame["date"] < "2010-01-01"]


CASES: list[tuple[Callable, str, str]] = [
    (with_nan, "expect_column_values_to_not_be_null on column 'ridership'", "[nan] at rows [10]"),
    (
        with_negative,
        "expect_column_values_to_be_between on column 'ridership'",
        "[-4.5] at rows [20]",
    ),
    (
        with_duplicated_date,
        "expect_column_values_to_be_unique on column 'date'",
        "['2001-02-21', '2001-02-21'] at rows [30, 31]",
    ),
    (with_missing_day, "periods_since_previous_date'", "[2.0] at rows [40]"),
    (
        with_wrong_dtype,
        "expect_column_values_to_be_in_type_list on column 'temp'",
        "observed 'str'",
    ),
    (with_text_target, "expect_column_values_to_be_in_type_list on column 'ridership'", "'str'"),
    (empty, "expect_table_row_count_to_be_between", "observed 0"),
    (with_short_range, "expect_column_max_to_be_between on column 'date'", "2009-12-31"),
]


@pytest.mark.parametrize(
    ("corrupt", "expectation", "evidence"), CASES, ids=[case[0].__name__ for case in CASES]
)
def test_corrupted_copies_fail_with_named_expectation_and_values(
    chicago: pd.DataFrame, corrupt: Callable, expectation: str, evidence: str
) -> None:
    report = check(corrupt(chicago.copy()))
    assert not report.success
    message = str(DataValidationError(report))
    assert expectation in message
    assert evidence in message
