"""Gather concurrent requests to a model that answers many in about the time of one.

A network's call costs far more than each row it holds (graph dispatch, one pass per
decoder step), so a request that arrives while the model is busy waits for the batch being
predicted to end, and the requests waiting then, for the same version with the same params,
are predicted in one call of the family's ``predict_batch``, up to ``max_batch_size`` of
them. An idle model predicts a request at once, so batching costs no latency when there is
nothing to batch with, and batches grow with the load by themselves. A request waits at most
for the batches running when it came, each bounded by the server's prediction timeout.

At most ``max_running_batches`` batches run at once: on a CPU, one network call already uses
every core, and calls side by side only share them.

A batch that fails is predicted again one request at a time, so each request gets its own
answer or its own error: one bad input never fails the requests batched with it. A batch
takes one of the server's prediction slots, so the concurrency limit and the deadline hold
as for a single request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.alias_follower import ServedModel
from pipelines.prediction_slots import PredictionSlots

DEFAULT_MAX_BATCH_SIZE = 32
DEFAULT_MAX_RUNNING_BATCHES = 1


@dataclass(frozen=True)
class BatchingPolicy:
    """How many requests one call may answer, and how many calls may run at once."""

    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    max_running_batches: int = DEFAULT_MAX_RUNNING_BATCHES

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.max_running_batches < 1:
            raise ValueError("a batch holds at least one request, and at least one may run")


@dataclass
class _Waiting:
    served: ServedModel
    data: Any
    params: dict[str, Any] | None
    answer: asyncio.Future[Any] = field(repr=False)

    @property
    def group(self) -> tuple[int, str]:
        # Only requests to the same loaded version with the same params share a call.
        return id(self.served), json.dumps(self.params, sort_keys=True, default=str)


class RequestBatcher:
    """Predicts requests of a batching model together; one per server's event loop.

    Args:
        slots: the server's prediction slots, one taken per batch.
        policy: how large a batch may be and how many may run at once.
        observe: called with each batch's number of requests (the server's metrics).
    """

    def __init__(
        self,
        slots: PredictionSlots,
        policy: BatchingPolicy | None = None,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self.slots, self.policy = slots, policy or BatchingPolicy()
        self.observe = observe
        self._queue: list[_Waiting] = []
        self._running = 0  # batches being predicted
        self._wake: asyncio.Event | None = None
        self._collector: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()

    async def predict(self, served: ServedModel, data: Any, params: dict[str, Any] | None) -> Any:
        """The answer to one request, predicted alone or with others waiting beside it."""
        loop = asyncio.get_running_loop()
        if self._collector is None or self._collector.done():
            self._wake = asyncio.Event()
            self._collector = loop.create_task(self._collect())
        waiting = _Waiting(served, data, params, loop.create_future())
        self._queue.append(waiting)
        assert self._wake is not None
        self._wake.set()
        return await waiting.answer

    async def _collect(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue and self._running < self.policy.max_running_batches:
                self._dispatch(self._next_batch())

    def _next_batch(self) -> list[_Waiting]:
        """The oldest request and those of its group waiting after it, in arrival order."""
        group = self._queue[0].group
        batch = [waiting for waiting in self._queue if waiting.group == group]
        batch = batch[: self.policy.max_batch_size]
        taken = {id(waiting) for waiting in batch}
        self._queue = [waiting for waiting in self._queue if id(waiting) not in taken]
        return [waiting for waiting in batch if not waiting.answer.done()]  # callers gone

    def _dispatch(self, batch: list[_Waiting]) -> None:
        if not batch:
            return
        self._running += 1
        task = asyncio.get_running_loop().create_task(self._predict(batch))
        self._batches.add(task)
        task.add_done_callback(self._batches.discard)

    async def _predict(self, group: list[_Waiting]) -> None:
        try:
            if self.observe is not None:
                self.observe(len(group))
            try:
                answers = await self.slots.run(lambda: predict_group(group))
            except Exception as error:  # busy or timed out: every request of the batch
                answers = [error] * len(group)
            for waiting, answer in zip(group, answers, strict=True):
                if waiting.answer.done():
                    continue
                if isinstance(answer, Exception):
                    waiting.answer.set_exception(answer)
                else:
                    waiting.answer.set_result(answer)
        finally:
            for waiting in group:  # whatever went wrong, no caller waits for ever
                if not waiting.answer.done():
                    waiting.answer.set_exception(RuntimeError("the batch ended without an answer"))
            self._running -= 1
            assert self._wake is not None
            self._wake.set()


def predict_group(group: list[_Waiting]) -> list[Any]:
    """Each request's answer or its error; one call of ``predict_batch`` when it succeeds."""
    served, params = group[0].served, group[0].params
    if len(group) > 1:
        try:
            batched = served.python_model.predict_batch([w.data for w in group], params)
            if isinstance(batched, list) and len(batched) == len(group):
                return batched
        except Exception:
            pass  # some input is at fault: each request alone finds out which
    answers: list[Any] = []
    for waiting in group:
        try:
            answers.append(served.model.predict(waiting.data, params=params))
        except Exception as error:
            answers.append(error)
    return answers
