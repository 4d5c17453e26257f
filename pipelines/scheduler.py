"""Serving deployments on their schedules from one process that stops within seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from contextlib import suppress
from typing import Any

from prefect.runner import Runner

STOP_SECONDS = 5.0  # a stopped scheduler is gone by then, whatever Prefect waits on


def _leave_by_deadline() -> None:
    """Exit the process ``STOP_SECONDS`` from now unless it has exited by then: with its server
    gone, Prefect's shutdown (pausing the schedules) would retry for ever."""
    deadline = threading.Timer(STOP_SECONDS, os._exit, args=(1,))
    deadline.daemon = True
    deadline.start()


class BoundedShutdownRunner(Runner):
    """Prefect's runner, whose graceful stop on SIGTERM is bounded in time."""

    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        _leave_by_deadline()
        self._logger.info("SIGTERM received, stopping")
        # Prefect's own handler calls the sync ``stop`` from inside the runner's event loop,
        # where it only makes a coroutine nobody awaits, then exits. The signal handler runs
        # in the loop's thread: hand the loop the real stop, which ends ``start``.
        loop = asyncio.get_running_loop()
        loop.call_soon_threadsafe(lambda: loop.create_task(self.astop()))


def replaced_schedules(deployments: list[Any]) -> list[str]:
    """``flow/deployment`` of each deployment already on the server under another schedule."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    def schedules(items: list[Any]) -> list[str]:
        # An interval's anchor is the moment its deployment was made: not a change.
        return sorted(item.schedule.model_dump_json(exclude={"anchor_date"}) for item in items)

    replaced = []
    with get_client(sync_client=True) as client:
        for deployment in deployments:
            name = f"{deployment.flow_name}/{deployment.name}"
            try:
                current = client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            if schedules(current.schedules) != schedules(deployment.schedules):
                replaced.append(name)
    return replaced


def drop_runs_of_old_schedules(names: list[str]) -> int:
    """Delete the runs Prefect scheduled for these deployments under schedules they no longer
    have; return how many.

    Applying a deployment deletes its scheduled runs still in the future, but not those
    already due (scheduled while no scheduler served it): they would start at once under the
    new schedule. Prefect keys each run it schedules by deployment, schedule and time.
    """
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    dropped = 0
    with get_client(sync_client=True) as client:
        for name in names:
            deployment = client.read_deployment_by_name(name)
            kept = {str(schedule.id) for schedule in deployment.schedules}
            of_deployment = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
            scheduled = FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            )
            offset = 0
            while page := client.read_flow_runs(
                deployment_filter=of_deployment,
                flow_run_filter=scheduled,
                limit=200,
                offset=offset,
            ):
                offset += len(page)
                for run in page:
                    key = (run.idempotency_key or "").split()
                    scheduled_by = key[2] if len(key) > 2 and key[0] == "scheduled" else None
                    if run.auto_scheduled and run.run_count == 0 and scheduled_by not in kept:
                        client.delete_flow_run(run.id)
                        dropped += 1
                        offset -= 1
    return dropped


def serve_until_stopped(deployments: list[Any]) -> None:
    """Run the deployments on their schedules until Ctrl-C or SIGTERM (then within seconds);
    the runs due under a schedule they replace are dropped as they are applied."""
    replaced = replaced_schedules(deployments)

    def interrupted(signum: int, frame: object) -> None:
        _leave_by_deadline()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    runner = BoundedShutdownRunner(pause_on_shutdown=True)
    for deployment in deployments:
        runner.add_deployment(deployment)
    drop_runs_of_old_schedules(replaced)
    with suppress(KeyboardInterrupt):  # the way to stop it; nothing to report
        asyncio.run(runner.start())
