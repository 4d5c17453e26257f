"""``seqpipe leaderboard``: a family's runs per registered model, or every model's champion."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from components.families import family_names
from pipelines.cli.shared import checked_family, console, tracked_workspace

TEXT_COLUMNS = {"run", "version", "aliases", "started"}


def leaderboard(
    family: Annotated[str | None, typer.Argument(help=f"One of {family_names()}.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 30,
    all_models: Annotated[
        bool, typer.Option("--all", help="Every registered model's champion, one row each.")
    ] = False,
) -> None:
    """Show a family's model runs from MLflow, best first, one table per registered model."""
    if all_models == (family is not None):
        raise typer.BadParameter("name a family, or --all for every registered model's champion")
    if family is None:
        print_champions()
    else:
        print_leaderboard(checked_family(family), limit)


def print_leaderboard(family: str, limit: int = 30) -> None:
    """One table per registered model of ``family``, ranked by the gate its runs logged."""
    from components.core.leaderboard import board_rows, family_model_runs, rank_by_gate
    from components.families import get_family

    tracked_workspace()
    chosen = get_family(family)
    extras = list(chosen.leaderboard_columns)
    unit_params = [chosen.unit_param] if chosen.unit_param else []
    boards = rank_by_gate(family_model_runs(family))
    if not boards:
        console.print(_table(f"{family} leaderboard (no model runs yet)", [], None, extras))
    for board in boards:
        rows = board_rows(board.runs, board.metric, extras, unit_params)
        units = {row.get(param) for row in rows for param in unit_params} - {None}
        unit = f", in {units.pop()}" if len(units) == 1 else ""  # as the runs logged it
        title = f"{board.registered_model} leaderboard (best {board.metric} first{unit})"
        console.print(_table(title, rows[:limit], board.metric, extras))


def print_champions() -> None:
    """One row per registered model: its champion's version, run, score and data version."""
    from components.core.leaderboard import champion_rows

    tracked_workspace()
    table = Table(title="champions of every registered model")
    for column in ("registered model", "version", "run", "metric", "score", "data version"):
        table.add_column(column, justify="right" if column == "score" else "left", no_wrap=True)
    table.add_column("other aliases")
    for row in champion_rows():
        table.add_row(
            row["registered_model"],
            row["version"],
            row["run"],
            row["metric"],
            "-" if row["score"] is None else f"{row['score']:.4f}",
            row["data_version"][:12],
            row["other_aliases"],
        )
    console.print(table)


def _table(title: str, rows: list[dict[str, Any]], metric: str | None, extras: list[str]) -> Table:
    metrics = [name for name in [metric, *extras] if name]
    table = Table(title=title)
    for column in ["rank", "run", "version", "aliases", *metrics, "started"]:
        table.add_column(column, justify="left" if column in TEXT_COLUMNS else "right")
    for rank, row in enumerate(rows, start=1):
        table.add_row(
            str(rank),
            row["run"],
            row["version"],
            row["aliases"],
            *(f"{row[name]:.4f}" if row[name] is not None else "-" for name in metrics),
            row["started"],
        )
    return table
