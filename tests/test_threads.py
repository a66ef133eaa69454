"""Engine threads run below the event loop's priority; threads they start inherit it."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from callcenter.settings import Settings
from callcenter.threads import (
    configure_engine_priority,
    lower_engine_thread_priority,
    run_in_engine_thread,
    thread_plan,
)


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.fixture(autouse=True)
def engine_nice() -> Iterator[None]:
    configure_engine_priority(7)
    yield
    configure_engine_priority(10)


def test_an_engine_executor_thread_is_lowered_and_the_caller_is_not() -> None:
    before = _nice()
    with ThreadPoolExecutor(1, initializer=lower_engine_thread_priority) as pool:
        assert pool.submit(_nice).result() == max(before, 7)
    assert _nice() == before


async def test_a_loader_thread_and_the_threads_it_starts_run_lowered() -> None:
    def load() -> tuple[int, int]:
        seen: list[int] = []
        child = threading.Thread(target=lambda: seen.append(_nice()))  # like an engine pool
        child.start()
        child.join()
        return _nice(), seen[0]

    loader, child = await run_in_engine_thread(load)
    # The loader threads live as long as the process (an earlier app may have lowered
    # them further); a priority is never raised back.
    assert loader == child and loader >= max(_nice(), 7)


async def test_a_loader_error_reaches_the_awaiting_coroutine() -> None:
    def broken() -> None:
        raise FileNotFoundError("no model here")

    with pytest.raises(FileNotFoundError, match="no model here"):
        await run_in_engine_thread(broken)


def test_zero_keeps_engine_threads_at_the_loop_priority() -> None:
    configure_engine_priority(0)
    with ThreadPoolExecutor(1, initializer=lower_engine_thread_priority) as pool:
        assert pool.submit(_nice).result() == _nice()


def test_the_thread_plan_never_oversubscribes_two_cores() -> None:
    plan = thread_plan(Settings(), cores=2)
    assert plan.llm == 1 and plan.asr == 1 and plan.tts == 1
