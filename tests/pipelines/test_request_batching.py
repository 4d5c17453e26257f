"""Concurrent requests to a batching model: gathered while a prediction runs, predicted in
one call per version and params, each answered with its own result or its own error."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.models import Model, infer_signature

from components.core.serving import FamilyModel, calls_within
from pipelines.alias_follower import ServedModel
from pipelines.prediction_slots import PredictionSlots, PredictionTimeout, ServerBusy
from pipelines.request_batching import BatchingPolicy, RequestBatcher

ONE_AT_A_TIME = BatchingPolicy(max_batch_size=32, max_running_batches=1)


class Doubler:
    """A pyfunc and its python model: answers each row's value doubled; refuses negatives.

    The first prediction waits for ``release``, so that requests queue behind it. Its
    signature reads one float column ``x`` and one param ``t`` (default 0).
    """

    loader_module = None
    metadata = Model(signature=infer_signature(pd.DataFrame({"x": [1.0]}), params={"t": 0}))

    def __init__(self) -> None:
        self.release, self.started = threading.Event(), threading.Event()
        self.calls: list[tuple[str, int, Any]] = []  # (how, requests, params)

    def unwrap_python_model(self) -> Doubler:
        return self

    def batches_requests(self) -> bool:
        return True

    def predict(self, data: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        if not self.started.is_set():
            self.started.set()
            self.release.wait(10)
        self.calls.append(("alone", 1, params))
        return self.double(data)

    def predict_batch(self, inputs: list[pd.DataFrame], params: dict | None) -> list:
        self.calls.append(("batch", len(inputs), params))
        return [self.double(data) for data in inputs]

    @staticmethod
    def double(data: pd.DataFrame) -> pd.DataFrame:
        if (data["x"] < 0).any():
            raise ValueError("negative x")
        return data * 2


def served(model: Doubler, version: str = "1") -> ServedModel:
    return ServedModel("m", "champion", version, "run", None, None, "doubler", "now", model)


def request(value: float) -> pd.DataFrame:
    return pd.DataFrame({"x": [float(value)]})


async def gather_behind_a_running_prediction(
    batcher: RequestBatcher, first: Any, later: list[Any]
) -> list[Any]:
    """Send ``first`` (held until the rest queue), then ``later``; every answer or error."""
    running = asyncio.create_task(batcher.predict(*first))
    while not first[0].model.started.is_set():  # the idle server takes the first at once
        await asyncio.sleep(0.001)
    tasks = [asyncio.create_task(batcher.predict(*arguments)) for arguments in later]
    await asyncio.sleep(0)  # each task's first step hands its request to the batcher
    first[0].model.release.set()
    return await asyncio.gather(running, *tasks, return_exceptions=True)


def test_requests_arriving_during_a_prediction_are_answered_in_one_call() -> None:
    model, slots = Doubler(), PredictionSlots(4, 30)
    sizes: list[int] = []
    batcher = RequestBatcher(slots, ONE_AT_A_TIME, sizes.append)
    version = served(model)
    later = [(version, request(value), None) for value in range(1, 8)]
    first = (version, request(0), None)
    answers = asyncio.run(gather_behind_a_running_prediction(batcher, first, later))
    assert [answer["x"].item() for answer in answers] == [2 * value for value in range(8)]
    # Batched requests get what PyFuncModel.predict would pass: params with their defaults.
    assert model.calls == [("alone", 1, None), ("batch", 7, {"t": 0})]
    assert sizes == [1, 7]
    slots.close()


def test_an_idle_server_predicts_a_request_alone_and_at_once() -> None:
    model, slots = Doubler(), PredictionSlots(4, 30)
    model.release.set()
    batcher = RequestBatcher(slots, ONE_AT_A_TIME)

    async def one_after_another() -> list:
        return [await batcher.predict(served(model), request(v), None) for v in (1, 2, 3)]

    answers = asyncio.run(one_after_another())
    assert [answer["x"].item() for answer in answers] == [2, 4, 6]
    assert [how for how, *_ in model.calls] == ["alone"] * 3
    slots.close()


def test_a_bad_input_fails_only_its_own_request() -> None:
    model, slots = Doubler(), PredictionSlots(4, 30)
    batcher = RequestBatcher(slots, ONE_AT_A_TIME)
    version = served(model)
    later = [(version, request(value), None) for value in (1, -1, 3)]
    _, *answers = asyncio.run(
        gather_behind_a_running_prediction(batcher, (version, request(0), None), later)
    )
    assert answers[0]["x"].item() == 2 and answers[2]["x"].item() == 6
    assert isinstance(answers[1], ValueError) and "negative x" in str(answers[1])
    slots.close()


def test_a_request_off_the_signature_gets_its_own_error_and_the_rest_are_batched() -> None:
    model, slots = Doubler(), PredictionSlots(4, 30)
    batcher = RequestBatcher(slots, ONE_AT_A_TIME)
    version = served(model)
    off_signature = pd.DataFrame({"y": [1.0]})
    later = [
        (version, request(1), None),
        (version, off_signature, None),
        (version, request(3), None),
    ]
    _, *answers = asyncio.run(
        gather_behind_a_running_prediction(batcher, (version, request(0), None), later)
    )
    assert isinstance(answers[1], MlflowException) and "missing inputs ['x']" in str(answers[1])
    assert answers[0]["x"].item() == 2 and answers[2]["x"].item() == 6
    assert model.calls[1:] == [("batch", 2, {"t": 0})]
    slots.close()


def test_waiting_counts_against_the_deadline() -> None:
    model, slots = Doubler(), PredictionSlots(4, 0.2)
    batcher = RequestBatcher(slots, ONE_AT_A_TIME)
    version = served(model)

    async def scenario() -> list:
        held = asyncio.create_task(batcher.predict(version, request(0), None))
        while not model.started.is_set():
            await asyncio.sleep(0.001)
        queued = asyncio.create_task(batcher.predict(version, request(1), None))
        # Released only after both deadlines passed, however slow the machine is.
        answers = await asyncio.gather(held, queued, return_exceptions=True)
        model.release.set()
        return answers

    held, queued = asyncio.run(scenario())
    assert isinstance(held, PredictionTimeout)  # its prediction ran past the deadline
    assert isinstance(queued, ServerBusy)  # it never left the queue
    slots.close()


def test_a_full_queue_refuses_the_next_request_at_once() -> None:
    model, slots = Doubler(), PredictionSlots(4, 30)
    batcher = RequestBatcher(slots, BatchingPolicy(max_waiting=2))
    version = served(model)
    later = [(version, request(value), None) for value in (1, 2, 3)]
    answers = asyncio.run(
        gather_behind_a_running_prediction(batcher, (version, request(0), None), later)
    )
    assert [answer["x"].item() for answer in answers[:3]] == [0, 2, 4]
    assert isinstance(answers[3], ServerBusy)
    slots.close()


def test_only_requests_of_the_same_version_and_params_share_a_call() -> None:
    model, slots = Doubler(), PredictionSlots(4, 30)
    batcher = RequestBatcher(slots, ONE_AT_A_TIME)
    old, new = served(model, "1"), served(model, "2")
    later = [
        (old, request(1), {"t": 1}),
        (old, request(2), {"t": 1}),
        (old, request(3), {"t": 2}),
        (new, request(4), {"t": 1}),
    ]
    asyncio.run(gather_behind_a_running_prediction(batcher, (old, request(0), None), later))
    batched = sorted((how, size, str(params)) for how, size, params in model.calls[1:])
    assert batched == [("alone", 1, "{'t': 1}"), ("alone", 1, "{'t': 2}"), ("batch", 2, "{'t': 1}")]
    slots.close()


def test_no_call_answers_more_than_the_batch_size() -> None:
    model, slots = Doubler(), PredictionSlots(4, 30)
    sizes: list[int] = []
    batcher = RequestBatcher(slots, BatchingPolicy(max_batch_size=3), sizes.append)
    version = served(model)
    later = [(version, request(value), None) for value in range(1, 9)]
    first = (version, request(0), None)
    answers = asyncio.run(gather_behind_a_running_prediction(batcher, first, later))
    assert all(isinstance(answer, pd.DataFrame) for answer in answers)
    assert sizes[0] == 1 and sorted(sizes[1:]) == [2, 3, 3]
    slots.close()


def test_with_two_batches_allowed_a_request_does_not_wait_for_the_running_one() -> None:
    model, slots = Doubler(), PredictionSlots(4, 30)
    batcher = RequestBatcher(slots, BatchingPolicy(max_batch_size=32, max_running_batches=2))
    version = served(model)

    async def scenario() -> pd.DataFrame:
        held = asyncio.create_task(batcher.predict(version, request(0), None))
        while not model.started.is_set():
            await asyncio.sleep(0.001)
        # The first is still held: the second is predicted beside it, not after it.
        second = await asyncio.wait_for(batcher.predict(version, request(5), None), 10)
        model.release.set()
        await held
        return second

    assert asyncio.run(scenario())["x"].item() == 10
    slots.close()


def test_a_batch_holds_at_least_one_request() -> None:
    for policy in ({"max_batch_size": 0}, {"max_running_batches": 0}, {"max_waiting": 0}):
        with pytest.raises(ValueError, match="at least one request"):
            BatchingPolicy(**policy)


class Counter(FamilyModel):
    """Answers each row's value plus one, and records each call's rows; at most 4 rows a call."""

    def __init__(self) -> None:
        super().__init__(model=None)
        self.call_rows: list[int] = []

    def max_rows_per_call(self, params: dict[str, Any] | None) -> int:
        return 4

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        self.call_rows.append(len(model_input))
        return model_input + 1


def test_a_family_bound_on_rows_holds_for_a_stacked_batch() -> None:
    counter = Counter()
    sizes = [1, 2, 1, 3, 6, 1]
    inputs = [pd.DataFrame({"x": [float(n)] * n}) for n in sizes]
    answers = counter.predict_batch(inputs)
    assert [answer["x"].tolist() for answer in answers] == [[n + 1.0] * n for n in sizes]
    # 1+2+1 rows, then 3, then the 6-row request alone (refused alone if the family
    # bounds requests too), then 1.
    assert counter.call_rows == [4, 3, 6, 1]
    assert calls_within(sizes, None) == [[0, 1, 2, 3, 4, 5]]
