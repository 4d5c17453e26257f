"""Data commands: the versions the checks set aside, and accepting one on purpose."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from pipelines.cli.shared import checked_family, console

data = typer.Typer(
    help="Data the suite or the drift check set aside, and accepting a real change.",
    no_args_is_help=True,
)

FamilyArgument = Annotated[str, typer.Argument(help="A family (seqpipe run --help lists them).")]
TaskOption = Annotated[
    str | None, typer.Option(help="The family's task; default its only (or first) task.")
]


@data.command("rejected")
def rejected(
    family: Annotated[str | None, typer.Argument(help="Only this family.")] = None,
) -> None:
    """List the data versions set aside, newest first, with why and where they are kept."""
    from components.core import intake
    from pipelines.common import workspace_dir

    records = intake.rejected_versions(workspace_dir())
    if family:
        records = [
            item for item in records if item["table"].startswith(f"{checked_family(family)}-")
        ]
    if not records:
        console.print("no data version was set aside")
        return
    table = Table(title="data set aside (the current data was kept)")
    for column in ("table", "md5", "rejected at", "reason", "folder"):
        table.add_column(column, overflow="fold")
    for item in records:
        table.add_row(
            item["table"], item["md5"], item["rejected_at"], item["reason"], item["folder"]
        )
    console.print(table)


@data.command("accept")
def accept(
    family: FamilyArgument,
    task: TaskOption = None,
    version: Annotated[
        str | None, typer.Option(help="The md5 (or its start) of the version; default the newest.")
    ] = None,
    profile: Annotated[str, typer.Option(help="Config profile naming the tasks.")] = "quick",
    config: Annotated[
        str | None, typer.Option(help="A family config YAML instead of the default.")
    ] = None,
) -> None:
    """Accept a drifted version set aside: the change is real.

    Its next run passes the drift check, and it is the reference of the checks after it.
    """
    from pathlib import Path

    from components.core import intake
    from components.families import get_family
    from pipelines.common import workspace_dir

    chosen = get_family(checked_family(family))
    loaded = chosen.load_config(Path(config) if config else None, profile)
    bound = chosen.select_tasks(loaded, task)[0]
    record = intake.accept_on_purpose(workspace_dir(), f"{chosen.name}-{bound.name}", version)
    console.print(
        f"{record['table']} {record['md5']} accepted on {record['accepted_at']}: the next "
        f"`seqpipe run {family}` trains on it"
    )
