"""``seqpipe monitor``: a served model's live error against its test error."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

from pipelines.cli.shared import (
    REGISTERED_MODEL_HELP,
    PredictionLogOption,
    console,
    prediction_log_dir,
    quiet_libraries,
    tracked_workspace,
)


def monitor(
    model_name: Annotated[str, typer.Argument(help=REGISTERED_MODEL_HELP)],
    alias: Annotated[str, typer.Option(help="The alias whose version is judged.")] = "champion",
    feedback: Annotated[
        Path | None,
        typer.Option(
            help="Actual labels of a classifier's predictions: a CSV of request_id, row (the "
            "text's position in its request, 0 first) and label.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    period: Annotated[
        str, typer.Option(help="Period of the live error: day, week or month (UTC).")
    ] = "day",
    max_ratio: Annotated[
        float,
        typer.Option(
            help="Live error / test error beyond which the alias' version is degraded (exit 3)."
        ),
    ] = 1.5,
    days: Annotated[
        int | None,
        typer.Option(help="Read only the log's last DAYS days (default: all of it).", min=1),
    ] = None,
    prediction_log: PredictionLogOption = None,
) -> None:
    """Join MODEL_NAME's prediction log with the actuals and report the live error per version
    and period, logged as an MLflow run (experiment `monitoring`) with a plot.

    Forecasts are joined with the series' later values in the task's current data; a
    classifier's labels with --feedback. Exit codes: 0 within --max-ratio (or no actuals yet),
    3 when the alias' version's live error in its latest period exceeds --max-ratio times its
    test error, 2 for bad input.
    """
    quiet_libraries()
    from pipelines.monitor import DEGRADED_EXIT_CODE, PERIOD_CODES
    from pipelines.monitor import monitor as monitor_model

    if period not in PERIOD_CODES:
        raise typer.BadParameter(f"--period must be one of {list(PERIOD_CODES)}, not {period!r}")
    since = (
        (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days - 1)).isoformat() if days else None
    )
    workspace = tracked_workspace()
    report = monitor_model(
        model_name,
        workspace,
        prediction_log_dir(prediction_log),
        alias=alias,
        feedback=feedback,
        period=period,  # type: ignore[arg-type]  # checked against PERIOD_CODES above
        max_ratio=max_ratio,
        since=since,
    )
    console.print(
        _table(
            f"{model_name}@{alias} (v{report.version}): live {report.metric}",
            report.table,
            ("version", "period"),
        )
    )
    if not report.agreement.empty:
        console.print(
            _table(
                f"{model_name}: shadow answers beside the served ones",
                report.agreement,
                ("shadow_version", "served_version"),
            )
        )
    if report.unreadable_lines:
        console.print(f"[yellow]{report.unreadable_lines} unreadable line(s) skipped[/yellow]")
    console.print(f"{report.records} logged prediction(s); monitoring run {report.run_id}")
    if report.ratio is None:
        console.print(f"v{report.version}: no predictions with actuals yet")
    elif report.degraded:
        console.print(
            f"[red]v{report.version} degraded: live {report.metric} error is "
            f"{report.ratio:.2f}x its test error (limit {max_ratio}x)[/red]"
        )
        raise typer.Exit(DEGRADED_EXIT_CODE)
    else:
        console.print(
            f"v{report.version}: live error {report.ratio:.2f}x its test error (limit {max_ratio}x)"
        )


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _table(title: str, frame: pd.DataFrame, left: tuple[str, ...]) -> Table:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(column, justify="left" if column in left else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(value) for value in row))
    return table
