"""``seqpipe schedule``: every family's deployment on its schedule, from this process."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from components.core.errors import UserError
from components.families import family_names
from pipelines.cli.shared import ConfigOption, checked_family, console, quiet_libraries


def schedule(
    family: Annotated[
        list[str] | None,
        typer.Argument(help=f"Families to schedule (default: every one of {family_names()})."),
    ] = None,
    cron: Annotated[str, typer.Option(help="Cron schedule of the retrain, in UTC.")] = "0 3 * * *",
    interval: Annotated[
        int | None, typer.Option(help="Seconds between runs instead of the cron schedule.")
    ] = None,
    profile: Annotated[str, typer.Option(help="Config profile the schedule runs.")] = "full",
    config: ConfigOption = None,
    monitor: Annotated[
        list[str] | None,
        typer.Option(
            help="A registered model to monitor on --monitor-cron (repeatable); a degraded "
            "one triggers its family's retrain."
        ),
    ] = None,
    monitor_cron: Annotated[
        str, typer.Option(help="Cron schedule of the monitors, in UTC.")
    ] = "30 * * * *",
) -> None:
    """Run every family's deployment on its schedule from this process, until Ctrl-C.

    Needs a Prefect server: run `prefect server start` and set PREFECT_API_URL first. The
    deployments record this workspace, so their runs write here wherever they start. Each
    family's retrain also runs when a monitor reports one of its models degraded.
    """
    if not os.environ.get("PREFECT_API_URL"):
        raise UserError(
            "schedules need a Prefect server: run `prefect server start`, then "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    names = [checked_family(name) for name in family] if family else family_names()
    if config and len(names) != 1:
        raise typer.BadParameter("--config applies to a single family")
    quiet_libraries()
    from pipelines.common import workspace_dir
    from pipelines.deployments import deployment_for, monitor_deployment_for
    from pipelines.scheduler import serve_until_stopped

    deployments = [
        deployment_for(name, cron, profile, workspace_dir(), config, interval_seconds=interval)
        for name in names
    ] + [monitor_deployment_for(model, monitor_cron, workspace_dir()) for model in monitor or []]
    when = f"every {interval} s" if interval else f"cron {cron!r} (UTC)"
    console.print(f"serving {', '.join(item.name for item in deployments)} on {when}")
    serve_until_stopped(deployments)
