"""A shadow model: a second alias (the challenger) scores every answered request off the
request path, and its outputs go to the prediction log beside the served model's.

The caller's answer never waits for the shadow: each request's inputs are handed to one
background thread through a bounded queue, and when the shadow falls behind, requests are
dropped from shadowing (and counted) rather than queued without end. The shadow's records
carry the same request id as the served answer, ``source = "shadow"`` and the shadow's alias
and version, so ``seqpipe monitor`` can compare the two and score the shadow's live error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from components.core.prediction_log import PredictionLog
from pipelines.alias_follower import AliasFollower

logger = logging.getLogger("seqpipe.serve")

DEFAULT_QUEUE_SIZE = 64  # requests waiting to be shadowed before new ones are dropped


@dataclass(frozen=True)
class ShadowRequest:
    request_id: str
    data: Any
    params: dict[str, Any] | None


class ShadowScorer:
    """Scores requests with ``follower``'s version in a daemon thread, logging each answer."""

    def __init__(
        self, follower: AliasFollower, log: PredictionLog, queue_size: int = DEFAULT_QUEUE_SIZE
    ) -> None:
        self.follower, self.log = follower, log
        self.outcomes: Counter[str] = Counter()  # scored, failed, dropped, unloaded
        self._queue: queue.Queue[ShadowRequest | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._work, name="shadow", daemon=True)
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        # Stopping drops what is still waiting: shadowing is best effort by design.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            self._queue.task_done()
        self._queue.put(None)
        self._thread.join(timeout=30)

    def submit(self, request_id: str, data: Any, params: dict[str, Any] | None) -> None:
        """Hand a request to the shadow without waiting; dropped when the queue is full."""
        try:
            self._queue.put_nowait(ShadowRequest(request_id, data, params))
        except queue.Full:
            self._count("dropped")

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every submitted request has been shadowed (for tests and shutdown)."""
        waiter = threading.Thread(target=self._queue.join, daemon=True)
        waiter.start()
        waiter.join(timeout)

    def _work(self) -> None:
        lower_this_threads_priority()
        while (request := self._queue.get()) is not None:
            try:
                self._score(request)
            finally:
                self._queue.task_done()

    def _score(self, request: ShadowRequest) -> None:
        served = self.follower.served
        if served is None:
            self._count("unloaded")
            return
        try:
            outputs = served.model.predict(request.data, params=request.params)
        except Exception as error:  # the shadow's failure is its own: never the caller's
            first = self._count("failed") == 1
            if first:
                logger.warning(
                    "shadow %s@%s version %s failed on request %s: %s (further failures "
                    "are only counted)",
                    served.name,
                    served.alias,
                    served.version,
                    request.request_id,
                    error,
                )
            return
        self.log.write(served.prediction(request.request_id, request.data, outputs, "shadow"))
        self._count("scored")

    def _count(self, outcome: str) -> int:
        with self._lock:
            self.outcomes[outcome] += 1
            return self.outcomes[outcome]


SHADOW_NICENESS = 19  # the lowest priority: the shadow takes only the CPU nobody else wants


def lower_this_threads_priority() -> None:
    """Run the calling thread at the lowest CPU priority, where the system allows it.

    Linux gives each thread its own nice value, so the served model's requests keep the CPU
    when both want it and the shadow scores in the time left. Elsewhere, or without the
    right, the shadow runs at the server's priority.
    """
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SHADOW_NICENESS)
