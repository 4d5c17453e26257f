"""Gather concurrent requests to a model that answers many in about the time of one.

A network's call costs far more than each row it holds (graph dispatch, one pass per
decoder step), so a request that arrives while the model is busy waits for the batch being
predicted to end, and the requests waiting then, for the same version with the same params,
are predicted in one call of the family's ``predict_batch``, up to ``max_batch_size`` of
them. An idle model predicts a request at once, so batching costs no latency when there is
nothing to batch with, and batches grow with the load by themselves.

At most ``max_running_batches`` batches run at once: on a CPU, one network call already uses
every core, and calls side by side only share them. A batch takes one of the server's
prediction slots, and counts as running until its thread ends, even past its deadline. A
request's deadline (the server's timeout) counts from its arrival, so time spent waiting
counts: one still waiting at its deadline is told the server is busy (503), one whose batch
outlives it that it timed out (504). At most ``max_waiting`` requests wait; the next is told
the server is busy at once.

Each request is checked against the signature (MLflow's schema and params enforcement) on
its own, as ``PyFuncModel.predict`` would check it, and only those that pass are batched: a
bad input gets its own 400. A batch that fails anyway is predicted again one request at a
time, each in its own slot, so one request the family refuses never fails its neighbours.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mlflow.pyfunc import _validate_prediction_input

from pipelines.alias_follower import ServedModel
from pipelines.prediction_slots import PredictionSlots, PredictionTimeout, ServerBusy

DEFAULT_MAX_BATCH_SIZE = 32
DEFAULT_MAX_RUNNING_BATCHES = 1
DEFAULT_MAX_WAITING = 256


@dataclass(frozen=True)
class BatchingPolicy:
    """How many requests one call may answer, how many calls may run at once, and how many
    requests may wait for them."""

    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    max_running_batches: int = DEFAULT_MAX_RUNNING_BATCHES
    max_waiting: int = DEFAULT_MAX_WAITING

    def __post_init__(self) -> None:
        if min(self.max_batch_size, self.max_running_batches, self.max_waiting) < 1:
            raise ValueError(
                "a batch holds at least one request, at least one may run and one may wait"
            )


@dataclass
class _Waiting:
    served: ServedModel
    data: Any
    params: dict[str, Any] | None
    answer: asyncio.Future[Any] = field(repr=False)
    dispatched: bool = False  # taken into a batch (no longer waiting in the queue)

    @property
    def group(self) -> tuple[int, str]:
        # Only requests to the same loaded version with the same params share a call.
        return id(self.served), json.dumps(self.params, sort_keys=True, default=str)


class RequestBatcher:
    """Predicts requests of a batching model together; one per server's event loop.

    Args:
        slots: the server's prediction slots, one taken per batch; their timeout is each
            request's deadline.
        policy: how large a batch may be, how many may run at once and how many may wait.
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
        """The answer to one request, predicted alone or with others waiting beside it.

        Raises:
            ServerBusy: if ``max_waiting`` requests already wait, or this one is still
                waiting at its deadline.
            PredictionTimeout: if its batch is still running at its deadline.
        """
        if len(self._queue) >= self.policy.max_waiting:
            raise ServerBusy(
                f"{self.policy.max_waiting} requests already wait for the running batch; "
                "retry, or raise --max-waiting"
            )
        loop = asyncio.get_running_loop()
        if self._collector is None or self._collector.done():
            self._wake = asyncio.Event()
            self._collector = loop.create_task(self._collect())
        waiting = _Waiting(served, data, params, loop.create_future())
        self._queue.append(waiting)
        assert self._wake is not None
        self._wake.set()
        try:
            # Shielded: at the deadline the answer is dropped, not cancelled under a batch.
            return await asyncio.wait_for(
                asyncio.shield(waiting.answer), self.slots.timeout_seconds
            )
        except TimeoutError:
            if waiting.dispatched:
                raise PredictionTimeout from None
            waiting.answer.cancel()  # the collector skips it
            raise ServerBusy from None

    async def _collect(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue and self._running < self.policy.max_running_batches:
                self._dispatch(self._next_batch())

    def _next_batch(self) -> list[_Waiting]:
        """The oldest request and those of its group waiting after it, in arrival order."""
        self._queue = [waiting for waiting in self._queue if not waiting.answer.done()]
        if not self._queue:
            return []
        group = self._queue[0].group
        batch = [waiting for waiting in self._queue if waiting.group == group]
        batch = batch[: self.policy.max_batch_size]
        taken = {id(waiting) for waiting in batch}
        self._queue = [waiting for waiting in self._queue if id(waiting) not in taken]
        for waiting in batch:
            waiting.dispatched = True
        return batch

    def _dispatch(self, batch: list[_Waiting]) -> None:
        if not batch:
            return
        self._running += 1
        task = asyncio.get_running_loop().create_task(self._predict(batch))
        self._batches.add(task)
        task.add_done_callback(self._batches.discard)

    async def _predict(self, group: list[_Waiting]) -> None:
        loop = asyncio.get_running_loop()
        started = threading.Event()

        def in_thread() -> tuple[list[Any], list[int]]:
            # The batch runs until its thread ends, deadline or not: a thread cannot be
            # stopped, and a batch beside it would only share its cores.
            started.set()
            try:
                return predict_group(group)
            finally:
                loop.call_soon_threadsafe(self._batch_ended)

        try:
            if self.observe is not None:
                self.observe(len(group))
            try:
                answers, alone = await self.slots.run(in_thread)
            except Exception as error:  # busy or timed out: every request of the batch
                answers, alone = [error] * len(group), []
            for index in alone:  # the batch failed: each request in a slot of its own
                waiting = group[index]
                if waiting.answer.done():
                    continue  # its caller stopped waiting
                try:
                    answers[index] = await self.slots.run(partial(predict_alone, waiting))
                except Exception as error:
                    answers[index] = error
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
            if not started.is_set():  # it never got a slot
                self._batch_ended()

    def _batch_ended(self) -> None:
        self._running -= 1
        assert self._wake is not None
        self._wake.set()


def predict_group(group: list[_Waiting]) -> tuple[list[Any], list[int]]:
    """Each request's answer or its error, and the requests (indices) left to predict alone
    because the call of ``predict_batch`` holding them failed.

    Every request is checked against the signature on its own first; those that pass and
    hold rows go in one call of ``predict_batch``, a request alone (or with no rows) through
    ``PyFuncModel.predict`` as when nothing is batched.
    """
    served = group[0].served
    answers: list[Any] = [None] * len(group)
    batched: list[int] = []
    inputs: list[Any] = []
    params: dict[str, Any] | None = None
    for index, waiting in enumerate(group):
        try:
            data, params = enforce_signature(served, waiting.data, waiting.params)
        except Exception as error:
            answers[index] = error
            continue
        if has_rows(data):
            batched.append(index)
            inputs.append(data)
        else:
            answers[index] = attempt(partial(predict_alone, waiting))
    if len(batched) == 1:
        answers[batched[0]] = attempt(lambda: predict_alone(group[batched[0]]))
        return answers, []
    if not batched:
        return answers, []
    try:
        predictions = served.python_model.predict_batch(inputs, params)
    except Exception:
        return answers, batched  # some input is at fault: each request alone finds out which
    if not isinstance(predictions, list) or len(predictions) != len(batched):
        return answers, batched
    for index, prediction in zip(batched, predictions, strict=True):
        answers[index] = prediction
    return answers, []


def enforce_signature(
    served: ServedModel, data: Any, params: dict[str, Any] | None
) -> tuple[Any, dict[str, Any] | None]:
    """The request as ``PyFuncModel.predict`` hands it to the family: cast to the input
    schema, params checked against the params schema with their defaults filled in."""
    metadata = served.model.metadata
    return _validate_prediction_input(
        data,
        params,
        metadata.get_input_schema(),
        metadata.get_params_schema(),
        served.model.loader_module,
    )


def predict_alone(waiting: _Waiting) -> Any:
    return waiting.served.model.predict(waiting.data, params=waiting.params)


def attempt(work: Callable[[], Any]) -> Any:
    """``work()``'s result, or the error it raised (the request's own answer)."""
    try:
        return work()
    except Exception as error:
        return error


def has_rows(data: Any) -> bool:
    try:
        return len(data) > 0
    except TypeError:
        return False
