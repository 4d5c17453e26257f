"""The ``seqpipe`` command: run families, read leaderboards, serve and roll back models."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Production pipelines for sequence and generative deep-learning models.",
                  no_args_is_help=True, add_completion=False)
console = Console(width=max(Console().width, 120))

FAMILIES = ["forecasting"]
TEXT_COLUMNS = {"run", "version", "aliases", "started"}
LEADERBOARD_METRICS = {"forecasting": ("test_mae", False, ["test_mae_vs_naive", "test_rmse"])}


def _flows():
    from pipelines.forecasting import forecasting_flow

    return {"forecasting": forecasting_flow}


def _quiet_libraries() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


@app.command()
def run(
    family: Annotated[str, typer.Argument(help=f"One of {FAMILIES}, or 'all'.")],
    model: Annotated[list[str] | None, typer.Option("--model", "-m",
                     help="Train only these models (repeatable); default: all in the config.")] = None,
    profile: Annotated[str, typer.Option(help="Config profile: quick (minutes) or full.")] = "quick",
    config: Annotated[Path | None, typer.Option(help="A family config YAML instead of the default.",
                                                exists=True, dir_okay=False)] = None,
) -> None:
    """Run a family's pipeline: ingest, validate, prepare, train, evaluate, register."""
    if family != "all" and family not in FAMILIES:
        raise typer.BadParameter(f"unknown family {family!r}; valid: {FAMILIES + ['all']}")
    if family == "all" and (model or config):
        raise typer.BadParameter("--model and --config apply to a single family, not 'all'")
    _quiet_libraries()
    flows = _flows()
    started = time.perf_counter()
    for name in FAMILIES if family == "all" else [family]:
        console.rule(f"[bold]{name}[/bold] ({profile} profile)")
        flows[name](profile=profile, models=model or None,
                    config_path=str(config) if config else None)
        _print_leaderboard(name)
    console.print(f"\nfinished in {time.perf_counter() - started:.0f} s")
    _print_ui_hint()


@app.command()
def leaderboard(
    family: Annotated[str, typer.Argument(help=f"One of {FAMILIES}.")],
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 30,
) -> None:
    """Show a family's model runs from MLflow, best first."""
    if family not in FAMILIES:
        raise typer.BadParameter(f"unknown family {family!r}; valid: {FAMILIES}")
    _print_leaderboard(family, limit)


@app.command()
def rollback(
    model_name: Annotated[str, typer.Argument(help="Registered model, e.g. forecasting-chicago.")],
) -> None:
    """Point the champion alias back at the previous champion."""
    from components import registry, tracking
    from pipelines.common import workspace_dir

    tracking.configure(workspace_dir())
    try:
        restored, demoted = registry.rollback(model_name)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    console.print(f"{model_name}: champion is v{restored} again (v{demoted} is previous-champion)")


@app.command()
def serve(
    family: Annotated[str, typer.Argument(help=f"One of {FAMILIES}.")],
    cron: Annotated[str, typer.Option(help="Cron schedule of the retrain.")] = "0 3 * * *",
    profile: Annotated[str, typer.Option(help="Config profile the schedule runs.")] = "full",
) -> None:
    """Serve the family flow as a Prefect deployment that retrains on a cron schedule.

    Needs a Prefect server: run `prefect server start` and set PREFECT_API_URL first.
    """
    from pipelines.deployments import deployment_for

    if family not in FAMILIES:
        raise typer.BadParameter(f"unknown family {family!r}; valid: {FAMILIES}")
    from prefect import serve as prefect_serve

    prefect_serve(deployment_for(family, cron=cron, profile=profile))


@app.command()
def ui(
    launch: Annotated[bool, typer.Option(help="Start the MLflow UI instead of printing how.")] = False,
) -> None:
    """Print (or run) the command that opens the MLflow UI on this workspace."""
    from components import tracking
    from pipelines.common import workspace_dir

    if not launch:
        _print_ui_hint()
        return
    command = tracking.ui_command(workspace_dir())
    if not command.startswith("mlflow "):
        raise typer.BadParameter(f"the tracking store is a server: {command}")
    os.execvp("mlflow", command.split())


def _print_ui_hint() -> None:
    from components import tracking
    from pipelines.common import workspace_dir

    console.print(f"Open the MLflow UI: [bold]{tracking.ui_command(workspace_dir())}[/bold]"
                  " then browse http://127.0.0.1:5000")


def _print_leaderboard(family: str, limit: int = 30) -> None:
    from components import tracking
    from components.leaderboard import leaderboard_rows
    from pipelines.common import workspace_dir

    tracking.configure(workspace_dir())
    metric, greater, extras = LEADERBOARD_METRICS[family]
    rows = leaderboard_rows(family, metric, greater, extras, limit)
    table = Table(title=f"{family} leaderboard (best {metric} first)")
    for column in ["rank", "run", "version", "aliases", metric, *extras, "started"]:
        table.add_column(column, justify="left" if column in TEXT_COLUMNS else "right")
    for rank, row in enumerate(rows, start=1):
        table.add_row(str(rank), row["run"], row["version"], row["aliases"],
                      *(f"{row[name]:.4f}" if row[name] is not None else "-" for name in [metric, *extras]),
                      row["started"])
    console.print(table)


if __name__ == "__main__":
    app()
