"""Prefect deployments: the family flow on a schedule, one deployment per family."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from components.core.errors import UserError
from components.families import family_names

ENTRYPOINT = "pipelines/flow.py:pipeline_flow"
TIMEZONE = "UTC"  # cron times are UTC: daylight-saving changes never skip or repeat a run


def deployment_name(family: str) -> str:
    """The deployment that retrains ``family``."""
    return f"{family}-daily"


def deployment_parameters(
    family: str, profile: str, workspace: Path | None = None, config_path: Path | None = None
) -> dict[str, str]:
    """The flow parameters a family's deployment runs with; the workspace (and a config) are
    explicit, so a run does not depend on where its worker happens to start."""
    parameters = {"family": family, "profile": profile}
    if workspace is not None:
        parameters["workspace"] = str(Path(workspace).resolve())
    if config_path is not None:
        parameters["config_path"] = str(Path(config_path).resolve())
    return parameters


def deployment_for(
    family: str,
    cron: str = "0 3 * * *",
    profile: str = "full",
    workspace: Path | None = None,
    config_path: Path | None = None,
    interval_seconds: int | None = None,
) -> Any:
    """A deployment that retrains ``family`` on ``cron`` (UTC), or every ``interval_seconds``.

    Raises:
        UserError: if the family is not registered.
    """
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron, Interval

    from pipelines.flow import pipeline_flow

    if family not in family_names():
        raise UserError(f"unknown family {family!r}; valid families: {family_names()}")
    schedule = (
        Interval(dt.timedelta(seconds=interval_seconds))
        if interval_seconds
        else Cron(cron, timezone=TIMEZONE)
    )
    return pipeline_flow.to_deployment(
        name=deployment_name(family),
        schedules=[schedule],
        parameters=deployment_parameters(family, profile, workspace, config_path),
        tags=["seqpipe", family],
        concurrency_limit=1,  # overlapping runs of one family would race for the champion
        # The installed module, not a file path relative to wherever the scheduler started.
        entrypoint_type=EntrypointType.MODULE_PATH,
        description=f"Retrain, evaluate and gate the {family} models ({profile} profile).",
    )
