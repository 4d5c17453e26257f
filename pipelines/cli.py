"""The ``seqpipe`` command: run families, read leaderboards, serve and roll back models."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Production pipelines for sequence and generative deep-learning models.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(width=max(Console().width, 120))

FAMILIES = ["forecasting", "textclf"]
TEXT_COLUMNS = {"run", "version", "aliases", "started"}
LEADERBOARD_METRICS = {
    "forecasting": ("test_mae", False, ["test_mae_vs_naive", "test_rmse"]),
    "textclf": ("test_macro_f1", True, ["test_accuracy", "test_macro_f1_baseline"]),
}
FAMILIES_WITH_TASKS = {"textclf"}  # their flows take ``task`` (default: every task of the config)


def _flows():
    from pipelines.forecasting import forecasting_flow
    from pipelines.textclf import textclf_flow

    return {"forecasting": forecasting_flow, "textclf": textclf_flow}


def _optimizer_studies():
    from pipelines.textclf import optimizer_study_flow

    return {"textclf": optimizer_study_flow}


def _quiet_libraries() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    # Pipelines run offline by default; the Prefect server must not try to phone home.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


ProfileOption = Annotated[str, typer.Option(help="Config profile: quick (minutes) or full.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(help="A family config YAML instead of the default.", exists=True, dir_okay=False),
]


@app.command()
def run(
    family: Annotated[str, typer.Argument(help=f"One of {FAMILIES}, or 'all'.")],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Train only these models (repeatable); default: all in the config.",
        ),
    ] = None,
    profile: ProfileOption = "quick",
    config: ConfigOption = None,
    task: Annotated[
        str | None,
        typer.Option(
            help=f"Only this task of the config (families {sorted(FAMILIES_WITH_TASKS)}); "
            "default: every task."
        ),
    ] = None,
) -> None:
    """Run a family's pipeline: ingest, validate, prepare, train, evaluate, register."""
    if family != "all" and family not in FAMILIES:
        raise typer.BadParameter(f"unknown family {family!r}; valid: {[*FAMILIES, 'all']}")
    if family == "all" and (model or config or task):
        raise typer.BadParameter("--model, --config and --task apply to a single family, not 'all'")
    if task and family not in FAMILIES_WITH_TASKS:
        raise typer.BadParameter(f"--task applies to {sorted(FAMILIES_WITH_TASKS)}, not {family!r}")
    _quiet_libraries()
    flows = _flows()
    started = time.perf_counter()
    for name in FAMILIES if family == "all" else [family]:
        console.rule(f"[bold]{name}[/bold] ({profile} profile)")
        flows[name](
            profile=profile,
            models=model or None,
            config_path=str(config) if config else None,
            **({"task": task} if task else {}),
        )
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
def optimizers(
    family: Annotated[str, typer.Argument(help="A family with an optimizer study: textclf.")],
    task: Annotated[str, typer.Option(help="The task of the family config, e.g. finefoods.")],
    model: Annotated[
        str, typer.Option("--model", "-m", help="The model every optimizer trains.")
    ] = "gru",
    profile: ProfileOption = "quick",
    config: ConfigOption = None,
) -> None:
    """Train one model with SGD, momentum, AdaGrad, RMSProp and Adam as child runs of one parent
    run, and plot their validation curves together."""
    studies = _optimizer_studies()
    if family not in studies:
        raise typer.BadParameter(f"no optimizer study for {family!r}; valid: {sorted(studies)}")
    _quiet_libraries()
    summary = studies[family](
        task=task, model=model, profile=profile, config_path=str(config) if config else None
    )
    table = Table(title=f"{family} {task}: {model} by optimizer (best validation loss first)")
    for column in summary.columns:
        table.add_column(column, justify="left" if column == "optimizer" else "right")
    for row in summary.itertuples(index=False):
        table.add_row(
            *(f"{value:.4f}" if isinstance(value, float) else str(value) for value in row)
        )
    console.print(table)
    _print_ui_hint()


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
    launch: Annotated[
        bool, typer.Option(help="Start the MLflow UI instead of printing how.")
    ] = False,
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

    console.print(
        f"Open the MLflow UI: [bold]{tracking.ui_command(workspace_dir())}[/bold]"
        " then browse http://127.0.0.1:5000"
    )


def _print_leaderboard(family: str, limit: int = 30) -> None:
    from components import tracking
    from components.leaderboard import leaderboard_rows
    from pipelines.common import workspace_dir

    tracking.configure(workspace_dir())
    metric, greater, extras = LEADERBOARD_METRICS[family]
    # One table per registered model: only its runs share test data (task, horizon).
    rows = leaderboard_rows(family, metric, greater, extras, limit=1000)
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["model"], []).append(row)
    if not groups:
        console.print(
            _leaderboard_table(f"{family} leaderboard (best {metric} first)", [], metric, extras)
        )
    for name in sorted(groups):
        console.print(
            _leaderboard_table(
                f"{name} leaderboard (best {metric} first)", groups[name][:limit], metric, extras
            )
        )


def _leaderboard_table(title: str, rows: list[dict], metric: str, extras: list[str]) -> Table:
    table = Table(title=title)
    for column in ["rank", "run", "version", "aliases", metric, *extras, "started"]:
        table.add_column(column, justify="left" if column in TEXT_COLUMNS else "right")
    for rank, row in enumerate(rows, start=1):
        table.add_row(
            str(rank),
            row["run"],
            row["version"],
            row["aliases"],
            *(f"{row[name]:.4f}" if row[name] is not None else "-" for name in [metric, *extras]),
            row["started"],
        )
    return table


if __name__ == "__main__":
    app()
