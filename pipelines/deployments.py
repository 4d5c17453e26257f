"""Prefect deployments: the family flow on a cron schedule, one deployment per family."""

from __future__ import annotations

from typing import Any

from components.families import family_names

ENTRYPOINT = "pipelines/flow.py:pipeline_flow"


def deployment_name(family: str) -> str:
    """The deployment that retrains ``family``."""
    return f"{family}-daily"


def deployment_parameters(family: str, profile: str) -> dict[str, str]:
    """The flow parameters a family's deployment runs with."""
    return {"family": family, "profile": profile}


def deployment_for(family: str, cron: str = "0 3 * * *", profile: str = "full") -> Any:
    """A deployment that retrains ``family`` on ``cron`` (UTC) with ``profile``."""
    from pipelines.flow import pipeline_flow

    if family not in family_names():
        raise ValueError(f"unknown family {family!r}; valid families: {family_names()}")
    return pipeline_flow.to_deployment(
        name=deployment_name(family),
        cron=cron,
        parameters=deployment_parameters(family, profile),
        tags=["seqpipe", family],
        description=f"Retrain, evaluate and gate the {family} models ({profile} profile).",
    )
