"""Bounded prediction work: a busy server says so, a slow prediction times out, and the
number of predictions running never exceeds the limit."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pipelines.prediction_slots import PredictionSlots, PredictionTimeout, ServerBusy


def test_a_request_without_a_free_slot_is_told_the_server_is_busy() -> None:
    slots = PredictionSlots(max_concurrency=1, timeout_seconds=0.2)
    release = threading.Event()

    async def two_at_once() -> list:
        first = asyncio.create_task(slots.run(lambda: release.wait(5) and "first"))
        await asyncio.sleep(0.05)  # the first holds the only slot
        second = await asyncio.gather(slots.run(lambda: "second"), return_exceptions=True)
        release.set()
        return [await asyncio.gather(first, return_exceptions=True), second]

    (first,), (second,) = asyncio.run(two_at_once())
    # The first's deadline passed while it held the slot: released only after the second gave up.
    assert isinstance(first, PredictionTimeout)
    assert isinstance(second, ServerBusy)
    slots.close()


def test_a_timed_out_prediction_keeps_its_slot_until_it_ends() -> None:
    slots = PredictionSlots(max_concurrency=1, timeout_seconds=0.1)
    release, running = threading.Event(), []

    def slow() -> str:
        running.append(1)
        release.wait(5)
        return "late"

    async def scenario() -> tuple:
        with pytest.raises(PredictionTimeout):
            await slots.run(slow)
        # The slow thread still runs: the next request cannot start beside it.
        with pytest.raises(ServerBusy):
            await slots.run(lambda: "beside")
        release.set()
        await asyncio.sleep(0.05)
        return await slots.run(lambda: "after"), len(running)

    assert asyncio.run(scenario()) == ("after", 1)
    slots.close()


def test_waiting_requests_take_turns_and_never_exceed_the_limit() -> None:
    slots = PredictionSlots(max_concurrency=2, timeout_seconds=10)
    lock, now, peak = threading.Lock(), [0], [0]

    def work() -> int:
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        threading.Event().wait(0.02)
        with lock:
            now[0] -= 1
        return 1

    async def many() -> list:
        return await asyncio.gather(*(slots.run(work) for _ in range(12)))

    assert sum(asyncio.run(many())) == 12
    assert peak[0] == 2
    slots.close()


def test_limits_must_allow_work() -> None:
    with pytest.raises(ValueError, match="at least one prediction slot"):
        PredictionSlots(max_concurrency=0)
