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


def serve_until_stopped(deployments: list[Any]) -> None:
    """Run the deployments on their schedules until Ctrl-C or SIGTERM (then within seconds)."""

    def interrupted(signum: int, frame: object) -> None:
        _leave_by_deadline()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    runner = BoundedShutdownRunner(pause_on_shutdown=True)
    for deployment in deployments:
        runner.add_deployment(deployment)
    with suppress(KeyboardInterrupt):  # the way to stop it; nothing to report
        asyncio.run(runner.start())
