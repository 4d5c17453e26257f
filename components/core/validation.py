"""Data validation with Great Expectations 1.x: run a family's suite, report failures readably."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from components.core.errors import UserError

NUMERIC_TYPES = ["float64", "float32", "int64", "int32", "int16", "int8", "Float64", "Int64"]
DATETIME_TYPES = ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"]


@dataclass(frozen=True)
class ExpectationFailure:
    """One expectation that did not hold, with what was seen."""

    expectation: str
    column: str | None
    observed: str
    # The config key that sets the expectation's bounds, when one does (its ``meta``).
    setting: str | None = None

    def __str__(self) -> str:
        where = f" on column {self.column!r}" if self.column else ""
        change = f"; to change the bounds, set {self.setting}" if self.setting else ""
        return f"{self.expectation}{where}: {self.observed}{change}"


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

    def to_markdown(self) -> str:
        """The result as people read it: one row per expectation, what held and what not."""
        results = self.result.get("results", [])
        held = sum(bool(item.get("success")) for item in results)
        lines = [
            f"# Validation of {self.suite}",
            "",
            f"**{'Passed' if self.success else 'Failed'}**: {held} of {len(results)} "
            "expectations held.",
            "",
            "| held | expectation | column | observed | expected |",
            "|---|---|---|---|---|",
        ]
        for item in sorted(results, key=lambda item: bool(item.get("success"))):  # failed first
            config = item.get("expectation_config") or {}
            kwargs = config.get("kwargs") or {}
            expected = {k: v for k, v in kwargs.items() if k not in ("batch_id", "column")}
            cells = [
                "yes" if item.get("success") else "**no**",
                config.get("type", "?"),
                kwargs.get("column") or "",
                _observed(item.get("result") or {}),
                ", ".join(f"{key}={value}" for key, value in expected.items()),
            ]
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        return "\n".join(lines) + "\n"


def _observed(details: dict[str, Any]) -> str:
    if "observed_value" in details:
        return str(details["observed_value"])
    if "unexpected_count" in details:
        sample = details.get("partial_unexpected_list") or []
        shown = f", e.g. {sample[:5]}" if sample else ""
        counted = f"{details['unexpected_count']} of {details.get('element_count', '?')}"
        return f"{counted} unexpected{shown}"
    return ""


def _cell(value: Any) -> str:
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 120 else text[:117] + "..."


class DataValidationError(UserError):
    """Raised when a suite fails: the message names each failed expectation and its values."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        lines = "\n".join(f"  - {failure}" for failure in report.failures)
        super().__init__(
            f"data validation failed: {len(report.failures)} of {report.evaluated} expectations "
            f"in suite {report.suite!r} did not hold:\n{lines}"
        )


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
        observed = f"{count} unexpected value(s), e.g. {sample}{where}{_bounds(kwargs)}"
    elif "observed_value" in details:
        expected = {k: v for k, v in kwargs.items() if k not in ("batch_id", "column")}
        observed = f"observed {details['observed_value']!r}, expected {expected}"
    else:
        observed = "failed"
    return ExpectationFailure(
        expectation=config.type,
        column=kwargs.get("column"),
        observed=observed,
        setting=(config.meta or {}).get("setting"),
    )


def _bounds(kwargs: dict[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is None and high is None:
        return ""
    if high is None:
        return f", expected at least {_plain(low)}"
    if low is None:
        return f", expected at most {_plain(high)}"
    return f", expected between {_plain(low)} and {_plain(high)}"


def _plain(value: Any) -> Any:
    # numpy scalars and Timestamps print as their reprs; people want the values.
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    return value.item() if hasattr(value, "item") else value


def _unexpected_rows(details: dict[str, Any]) -> str:
    rows = details.get("partial_unexpected_index_list")
    return f" at rows {rows[:10]}" if rows else ""
