"""Prefect deployments: the family flow on a schedule, one deployment per family, retrained
also when a monitor finds one of its served models degraded; monitors of served models."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from components.core.errors import UserError
from components.families import family_names

ENTRYPOINT = "pipelines/flow.py:pipeline_flow"
MONITOR_ENTRYPOINT = "pipelines/monitor.py:monitor_flow"
TIMEZONE = "UTC"  # cron times are UTC: daylight-saving changes never skip or repeat a run


def deployment_name(family: str) -> str:
    """The deployment that retrains ``family``."""
    return f"{family}-daily"


def monitor_deployment_name(model_name: str) -> str:
    """The deployment that monitors a registered model."""
    return f"{model_name}-monitor"


def retrain_trigger(family: str) -> Any:
    """Run the family's retrain when a monitor reports one of its registered models degraded
    (the monitor flow's own event, so a monitor that merely crashed retrains nothing)."""
    from prefect.events import DeploymentEventTrigger

    from pipelines.monitor import DEGRADED_EVENT, FAMILY_LABEL

    return DeploymentEventTrigger(
        name=f"retrain {family} on a degraded model",
        description=f"A seqpipe monitor found a served {family} model's live error too high.",
        expect={DEGRADED_EVENT},
        match={FAMILY_LABEL: family},
    )


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
        triggers=[retrain_trigger(family)],
        parameters=deployment_parameters(family, profile, workspace, config_path),
        tags=["seqpipe", family],
        concurrency_limit=1,  # overlapping runs of one family would race for the champion
        # The installed module, not a file path relative to wherever the scheduler started.
        entrypoint_type=EntrypointType.MODULE_PATH,
        description=f"Retrain, evaluate and gate the {family} models ({profile} profile).",
    )


def monitor_deployment_for(
    model_name: str,
    cron: str = "30 * * * *",
    workspace: Path | None = None,
    max_ratio: float = 1.5,
    feedback: Path | None = None,
) -> Any:
    """A deployment that monitors ``model_name@champion`` on ``cron`` (UTC); a degraded model
    triggers its family's retrain deployment."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from pipelines.monitor import monitor_flow

    parameters: dict[str, Any] = {"model_name": model_name, "max_ratio": max_ratio}
    if workspace is not None:
        parameters["workspace"] = str(Path(workspace).resolve())
    if feedback is not None:
        parameters["feedback"] = str(Path(feedback).resolve())
    return monitor_flow.to_deployment(
        name=monitor_deployment_name(model_name),
        schedules=[Cron(cron, timezone=TIMEZONE)],
        parameters=parameters,
        tags=["seqpipe", "monitor"],
        concurrency_limit=1,
        entrypoint_type=EntrypointType.MODULE_PATH,
        description=f"Live error of {model_name}@champion against its test error.",
    )
