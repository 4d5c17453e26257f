"""Bounded prediction work: at most N predictions at once, each answered within a deadline.

A prediction runs in a thread of the server's own pool (``model.predict`` is blocking
code). A request waits for a free slot until its deadline; one that gets none is told the
server is busy (503), and one whose prediction outlives the deadline is told it timed out
(504). A thread cannot be interrupted, so a timed-out prediction keeps its slot until it
ends: the number of predictions running never exceeds the limit, whatever the callers do.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

DEFAULT_MAX_CONCURRENCY = 4
DEFAULT_TIMEOUT_SECONDS = 60.0
WAIT_STEP_SECONDS = 0.005  # how often a request waiting for a slot looks again


class ServerBusy(Exception):
    """No prediction slot came free before the request's deadline (or, with a reason, the
    request could not even wait for one)."""


class PredictionTimeout(Exception):
    """A prediction ran past the request's deadline."""


class PredictionSlots:
    def __init__(
        self,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if max_concurrency < 1 or timeout_seconds <= 0:
            raise ValueError("serving needs at least one prediction slot and a positive timeout")
        self.max_concurrency, self.timeout_seconds = max_concurrency, timeout_seconds
        self._executor = ThreadPoolExecutor(max_concurrency, thread_name_prefix="predict")
        # A thread's semaphore, not an event loop's: the thread that ends a prediction frees
        # its slot, whichever loop (or none) is still waiting for it.
        self._free = threading.BoundedSemaphore(max_concurrency)

    async def run(self, work: Callable[[], T]) -> T:
        """``work()``'s result, or ServerBusy / PredictionTimeout at the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_seconds
        while not self._free.acquire(blocking=False):
            if loop.time() >= deadline:
                raise ServerBusy
            await asyncio.sleep(WAIT_STEP_SECONDS)

        def in_slot() -> T:
            try:
                return work()
            finally:
                self._free.release()

        running = loop.run_in_executor(self._executor, in_slot)
        try:
            # Shielded: a caller that stops waiting leaves the thread to finish (and free
            # its slot) rather than marking the work cancelled while it still runs.
            return await asyncio.wait_for(asyncio.shield(running), deadline - loop.time())
        except TimeoutError:
            raise PredictionTimeout from None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
