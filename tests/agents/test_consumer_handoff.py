"""The drain loop's hand-over of a record (app/consumer_handoff.py), on the consumer the
worker builds: at once when the callback does not wait, mode's ``wait_first`` otherwise."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.faust_app import create_app
from app.settings import Settings


@pytest.fixture()
async def consumer() -> AsyncIterator[Any]:
    """Built in the test's running loop, as the worker builds it."""
    settings = Settings.model_validate({"worker": {"app_id": "lw-test-handoff"}})
    consumer: Any = create_app(settings).consumer
    yield consumer
    consumer._thread.thread_loop.close()  # the consumer thread's own loop, never started


def tasks_now() -> int:
    return len(asyncio.all_tasks())


async def test_a_callback_that_does_not_wait_runs_without_a_task(consumer: Any) -> None:
    seen: list[int] = []

    async def callback(n: int) -> int:
        seen.append(n)
        return n * 2

    before = tasks_now()
    created: list[Any] = []

    def new_task(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> asyncio.Task[Any]:
        created.append(coro)
        return asyncio.Task(coro, loop=loop, **kw)

    loop = asyncio.get_running_loop()
    factory = loop.get_task_factory()
    loop.set_task_factory(new_task)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the unused suspend_flow.wait() is closed, not leaked
            result = await consumer.wait_first(callback(21), consumer.suspend_flow.wait())
    finally:
        loop.set_task_factory(factory)
    assert seen == [21]
    assert result.results == [42] and not result.stopped
    assert created == [] and tasks_now() == before


async def test_a_callback_that_waits_goes_on_in_a_task_until_it_finishes(consumer: Any) -> None:
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def callback() -> str:
        steps.append("first step")
        await asyncio.sleep(0)  # a bare yield
        steps.append("after a bare yield")
        value = await gate  # a future
        steps.append(f"got {value}")
        return value + "!"

    waiting = asyncio.ensure_future(
        consumer.wait_first(callback(), consumer.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    assert steps == ["first step", "after a bare yield"] and not waiting.done()
    gate.set_result("room")
    result = await asyncio.wait_for(waiting, 1)
    assert steps[-1] == "got room"
    assert result.results == ["room!"] and not result.stopped


async def test_a_waiting_callback_is_cut_short_when_the_flow_is_suspended(consumer: Any) -> None:
    cleaned: list[str] = []

    async def callback() -> None:
        try:
            await asyncio.get_running_loop().create_future()  # a full buffer, forever
        except asyncio.CancelledError:
            cleaned.append("cancelled")
            raise

    waiting = asyncio.ensure_future(
        consumer.wait_first(callback(), consumer.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    consumer.suspend_flow.set()  # a rebalance begins
    try:
        result = await asyncio.wait_for(waiting, 1)
        await asyncio.sleep(0)  # the cancelled callback runs its clean-up
    finally:
        consumer.suspend_flow.clear()
    # the winner is the suspended flow's wait (True), the callback was cancelled
    assert result.results == [True] and not result.stopped
    assert cleaned == ["cancelled"]


async def test_errors_come_out_before_and_after_the_first_wait(consumer: Any) -> None:
    async def fails_at_once() -> None:
        raise ValueError("undecodable")

    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise KeyError("gone")

    with pytest.raises(ValueError, match="undecodable"):
        await consumer.wait_first(fails_at_once(), consumer.suspend_flow.wait())
    with pytest.raises(KeyError, match="gone"):
        await consumer.wait_first(fails_later(), consumer.suspend_flow.wait())


async def test_a_suspended_flow_and_other_calls_take_modes_path(consumer: Any) -> None:
    ran: list[str] = []

    async def callback() -> None:
        ran.append("callback")

    consumer.suspend_flow.set()
    try:
        result = await consumer.wait_first(callback(), consumer.suspend_flow.wait())
    finally:
        consumer.suspend_flow.clear()
    # mode's path: both ran as tasks (the callback first) and both are reported
    assert ran == ["callback"] and result.results == [None, True] and not result.stopped
    other = asyncio.Event()
    other.set()
    result = await consumer.wait_first(other.wait(), timeout=1)  # not the drain loop's call
    assert result.results == [True]
