"""Prefect deployments: each family's flow on a cron schedule."""

from __future__ import annotations

from typing import Any


def deployment_for(family: str, cron: str = "0 3 * * *", profile: str = "full") -> Any:
    """A deployment that retrains ``family`` on ``cron`` (UTC) with ``profile``."""
    from pipelines.cli import _flows

    flow = _flows()[family]
    return flow.to_deployment(
        name=f"{family}-daily",
        cron=cron,
        parameters={"profile": profile},
        tags=["seqpipe", family],
        description=f"Retrain, evaluate and gate the {family} models ({profile} profile).",
    )
