"""Data validation with Great Expectations 1.x: suites built from config, readable failures."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from components.configs.forecasting import SeriesDataset
from components.configs.textclf import TextTask
from components.preprocessing.text import SPLITS, TEXT_COLUMNS, normalized

GAP_COLUMN = "periods_since_previous_date"
NUMERIC_TYPES = ["float64", "float32", "int64", "int32", "int16", "int8", "Float64", "Int64"]
DATETIME_TYPES = ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"]


@dataclass(frozen=True)
class ExpectationFailure:
    """One expectation that did not hold, with what was seen."""

    expectation: str
    column: str | None
    observed: str

    def __str__(self) -> str:
        where = f" on column {self.column!r}" if self.column else ""
        return f"{self.expectation}{where}: {self.observed}"


@dataclass
class ValidationReport:
    """The outcome of running a suite on a table."""

    suite: str
    success: bool
    failures: list[ExpectationFailure] = field(default_factory=list)
    evaluated: int = 0
    result: dict[str, Any] = field(default_factory=dict)  # GX's own JSON result

    def to_json(self) -> str:
        return json.dumps(self.result, indent=2, default=str)


class DataValidationError(ValueError):
    """Raised when a suite fails: the message names each failed expectation and its values."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        lines = "\n".join(f"  - {failure}" for failure in report.failures)
        super().__init__(
            f"data validation failed: {len(report.failures)} of {report.evaluated} expectations "
            f"in suite {report.suite!r} did not hold:\n{lines}"
        )


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
        gxe.ExpectColumnValuesToBeBetween(
            column=target, min_value=dataset.target_min, max_value=dataset.target_max
        ),
    ]
    for name in covariates:
        expectations += [
            gxe.ExpectColumnValuesToBeInTypeList(column=name, type_list=NUMERIC_TYPES),
            gxe.ExpectColumnValuesToNotBeNull(column=name),
        ]
    if dataset.start_date is not None:
        expectations.append(
            gxe.ExpectColumnMinToBeBetween(column=date, max_value=_timestamp(dataset.start_date))
        )
    if dataset.end_date is not None:
        expectations.append(
            gxe.ExpectColumnMaxToBeBetween(column=date, min_value=_timestamp(dataset.end_date))
        )
    return expectations


def _timestamp(day: dt.date) -> dt.datetime:
    # GX compares the column's Timestamps with this bound; a bare date does not compare.
    return dt.datetime.combine(day, dt.time())


def periods_since_previous(dates: pd.Series, frequency: str) -> pd.Series:
    """Whole periods between each date and the one before it (NaN for the first)."""
    parsed = pd.to_datetime(dates, errors="coerce")
    if not pd.api.types.is_datetime64_any_dtype(dates):
        return pd.Series(float("nan"), index=dates.index)
    ordinals = pd.Series(pd.PeriodIndex(parsed, freq=frequency).asi8, index=dates.index)
    ordinals[parsed.isna()] = pd.NA
    return ordinals.astype("Float64").diff()


def validate_table(
    frame: pd.DataFrame, expectations: list[Any], suite_name: str
) -> ValidationReport:
    """Run expectations on an in-memory table with an ephemeral GX context."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX logs every expectation it builds at INFO; the report says what matters.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    for expectation in expectations:
        suite.add_expectation(expectation)
    batch_definition = (
        context.data_sources.add_pandas(f"{suite_name}-source")
        .add_dataframe_asset(f"{suite_name}-table")
        .add_batch_definition_whole_dataframe(f"{suite_name}-batch")
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite)
    failures = [_describe(item) for item in result.results if not item.success]
    return ValidationReport(
        suite=suite_name,
        success=bool(result.success),
        failures=failures,
        evaluated=len(result.results),
        result=result.to_json_dict(),
    )


def validate_series_table(
    frame: pd.DataFrame, dataset: SeriesDataset, covariates: list[str], frequency: str
) -> ValidationReport:
    """Validate a raw time-series table against the series suite."""
    checked = frame.copy()
    if dataset.date_column in checked:
        checked[GAP_COLUMN] = periods_since_previous(checked[dataset.date_column], frequency)
    else:
        checked[GAP_COLUMN] = float("nan")
    suite = series_suite(dataset, covariates)
    return validate_table(checked, suite, f"series-{dataset.name}")


def _describe(item: Any) -> ExpectationFailure:
    config = item.expectation_config
    kwargs = config.kwargs
    details = item.result or {}
    if item.exception_info and item.exception_info.get("raised_exception"):
        observed = f"could not be evaluated: {item.exception_info.get('exception_message')}"
    elif "partial_unexpected_list" in details:
        sample = [_plain(value) for value in details.get("partial_unexpected_list", [])[:10]]
        where = _unexpected_rows(details)
        count = details.get("unexpected_count", len(sample))
        observed = f"{count} unexpected value(s), e.g. {sample}{where}"
    elif "observed_value" in details:
        expected = {k: v for k, v in kwargs.items() if k not in ("batch_id", "column")}
        observed = f"observed {details['observed_value']!r}, expected {expected}"
    else:
        observed = "failed"
    return ExpectationFailure(
        expectation=config.type, column=kwargs.get("column"), observed=observed
    )


def _plain(value: Any) -> Any:
    # numpy scalars and Timestamps print as their reprs; people want the values.
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    return value.item() if hasattr(value, "item") else value


def _unexpected_rows(details: dict[str, Any]) -> str:
    rows = details.get("partial_unexpected_index_list")
    return f" at rows {rows[:10]}" if rows else ""


DOCUMENT_SPLITS_COLUMN = "splits_of_document"
TEXT_SPLITS_COLUMN = "splits_of_text"
WORDS_COLUMN = "words_in_text"  # 0 for a missing or non-text value


def share_column(label: str, split: str) -> str:
    """Derived column whose mean is the share of ``label`` among the ``split`` rows."""
    return f"share_of_{label}_in_{split}"


def text_suite(task: TextTask) -> list[Any]:
    """Expectations for a labelled text table (``document, text, label, split``)."""
    import great_expectations.expectations as gxe

    expectations: list[Any] = [gxe.ExpectTableRowCountToBeBetween(min_value=1)]
    expectations += [gxe.ExpectColumnToExist(column=name) for name in TEXT_COLUMNS]
    expectations += [
        gxe.ExpectColumnValuesToNotBeNull(column="text"),
        gxe.ExpectColumnValuesToBeBetween(column=WORDS_COLUMN, min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="document"),
        gxe.ExpectColumnValuesToBeInSet(column="label", value_set=list(task.labels)),
        gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        gxe.ExpectColumnDistinctValuesToContainSet(column="split", value_set=list(SPLITS)),
        # A document (product, play, review file) or an identical text in two splits leaks.
        gxe.ExpectColumnValuesToBeBetween(column=DOCUMENT_SPLITS_COLUMN, min_value=1, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column=TEXT_SPLITS_COLUMN, min_value=1, max_value=1),
    ]
    expectations += [
        gxe.ExpectColumnMeanToBeBetween(
            column=share_column(label, split),
            min_value=task.min_class_share,
            max_value=task.max_class_share,
        )
        for split in SPLITS
        for label in task.labels
    ]
    return expectations


def validate_text_table(frame: pd.DataFrame, task: TextTask, name: str) -> ValidationReport:
    """Validate a raw text table against the text suite of ``task`` (suite ``text-<name>``)."""
    checked = frame.copy()
    missing = pd.Series(pd.NA, index=checked.index, dtype="object")  # reported by the suite
    document, text, label, split = (checked.get(name, missing) for name in TEXT_COLUMNS)
    checked[WORDS_COLUMN] = text.map(
        lambda value: len(value.split()) if isinstance(value, str) else 0
    )
    checked[DOCUMENT_SPLITS_COLUMN] = split.groupby(document).transform("nunique")
    same_text = normalized(text).where(text.notna())  # missing texts are reported, not grouped
    checked[TEXT_SPLITS_COLUMN] = split.groupby(same_text).transform("nunique")
    for part in SPLITS:
        for known in task.labels:
            # 1 or 0 on the rows of this split, NaN elsewhere: the column mean is the share.
            share = (label == known).astype("float64").where(split == part)
            checked[share_column(known, part)] = share
    return validate_table(checked, text_suite(task), f"text-{name}")
