"""``seqpipe run``: a family's pipeline (or every family's), then its leaderboard."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from components.families import family_names
from pipelines.cli.leaderboard import print_champions, print_leaderboard
from pipelines.cli.shared import (
    ConfigOption,
    ProfileOption,
    checked_family,
    console,
    print_ui_hint,
    quiet_flow_logs,
    quiet_libraries,
    tracked_workspace,
)


def run(
    family: Annotated[str, typer.Argument(help=f"One of {family_names()}, or 'all'.")],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Train only these models (repeatable); default: all in the config. "
            "The family's baselines always train too.",
        ),
    ] = None,
    profile: ProfileOption = "quick",
    config: ConfigOption = None,
    task: Annotated[
        str | None, typer.Option(help="Only this task of the config; default: every task.")
    ] = None,
    until: Annotated[
        str,
        typer.Option(
            help="Stop after this stage: validate, evaluate (trained and scored, nothing "
            "registered) or register (the whole pipeline). For orchestrators that run the "
            "stages as separate steps; finished stages are cached."
        ),
    ] = "register",
    dask_address: Annotated[
        str | None,
        typer.Option(
            help="Train and score the models on the Dask cluster of this scheduler, e.g. "
            "tcp://10.0.0.5:8786 (config: runner)."
        ),
    ] = None,
) -> None:
    """Run a family's pipeline: ingest, validate, prepare, train, evaluate, register."""
    if family == "all" and (model or config or task):
        raise typer.BadParameter("--model, --config and --task apply to a single family, not 'all'")
    names = family_names() if family == "all" else [checked_family(family)]
    quiet_libraries()
    from components.families import get_family
    from pipelines.errors import located_at
    from pipelines.flow import STAGES, ModelsFailed, load_checked, pipeline_flow
    from pipelines.server import prefect_api

    if until not in STAGES:
        raise typer.BadParameter(f"unknown stage {until!r}; valid: {list(STAGES)}")
    tracked_workspace()  # the tracking store answers, or the run stops before any work
    # Every config is checked before any work: a typo costs seconds, not a training run.
    for name in names:
        chosen = get_family(name)
        with located_at(config or chosen.default_config):
            checked, _ = load_checked(chosen, profile, str(config) if config else None, model)
            chosen.select_tasks(checked, task)
    quiet_flow_logs()
    started = time.perf_counter()
    failed: dict[str, str] = {}
    with prefect_api():
        for name in names:
            console.rule(f"[bold]{name}[/bold] ({profile} profile)")
            try:
                with located_at(config):
                    pipeline_flow(
                        family=name,
                        profile=profile,
                        models=model or None,
                        config_path=str(config) if config else None,
                        task=task,
                        until=until,
                        dask_address=dask_address,
                    )
            except ModelsFailed as error:
                failed |= {f"{name} {key}": message for key, message in error.failures.items()}
            print_leaderboard(name)
    if len(names) > 1:
        print_champions()
    console.print(f"\nfinished in {time.perf_counter() - started:.0f} s")
    print_ui_hint(names)
    if failed:
        table = Table(title="models that failed (every other model was registered)")
        table.add_column("model")
        table.add_column("error")
        for key, message in failed.items():
            table.add_row(key, message.splitlines()[0][:200])
        console.print(table)
        raise typer.Exit(1)
