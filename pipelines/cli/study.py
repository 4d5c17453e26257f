"""``seqpipe study``: one model's variants, compared on one parent run, as the family declares."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from components.core.errors import UserError
from components.families import family_names
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


def study(
    family: Annotated[str, typer.Argument(help=f"One of {family_names()}.")],
    study: Annotated[str, typer.Argument(help="A study the family declares, e.g. optimizers.")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="The model every variant trains; default: the config's first model that is "
            "not a baseline.",
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(help="A task of the family config; default: its only task."),
    ] = None,
    profile: ProfileOption = "quick",
    config: ConfigOption = None,
) -> None:
    """Train variants of one model (e.g. one per optimizer) as child runs of one parent run,
    and compare them there (plots, a summary table)."""
    quiet_libraries()
    from components.families import get_family

    chosen = get_family(checked_family(family))
    if study not in chosen.studies:
        raise UserError(
            f"no {study.removesuffix('s')} study for {family!r}; its studies: "
            f"{list(chosen.studies) or 'none'}"
        )
    from pipelines.errors import located_at
    from pipelines.flow import load_checked, study_flow
    from pipelines.server import prefect_api

    tracked_workspace()  # the tracking store answers, or the study stops before any work
    with located_at(config or chosen.default_config):
        checked, runs = load_checked(chosen, profile, str(config) if config else None, None)
        tasks = [bound.name for bound in chosen.select_tasks(checked, task)]
    if len(tasks) > 1:
        raise UserError(f"{family} has {len(tasks)} tasks: name one with --task, of {tasks}")
    model = model or next((run.name for run in runs if not chosen.is_baseline(run)), None)
    if model is None:
        raise UserError("the config lists no model but baselines: name one with --model")
    quiet_flow_logs()
    with prefect_api():
        # pandas has no type information, so Prefect's overloads cannot see the flow's result.
        summary: Any = study_flow(
            family=family,
            study=study,
            task=tasks[0],
            model=model,
            profile=profile,
            config_path=str(config) if config else None,
        )
    table = Table(title=f"{family} {tasks[0]}: {model}, {study} study")
    for index, column in enumerate(summary.columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in summary.itertuples(index=False):
        table.add_row(
            *(f"{value:.4f}" if isinstance(value, float) else str(value) for value in row)
        )
    console.print(table)
    print_ui_hint([family])
