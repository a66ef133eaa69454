"""The call recorder commits writes in order, off the event loop, and reports failures."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from callcenter.store.calls import add_turn, get_or_create_call, list_turns
from callcenter.store.db import make_session_factory
from callcenter.store.models import Speaker
from callcenter.store.recorder import CallRecorder


async def test_writes_commit_in_order(pg_engine: Engine) -> None:
    factory = make_session_factory(pg_engine)
    recorder = CallRecorder(factory)
    try:
        call_id = await recorder.write(
            lambda s: get_or_create_call(s, call_sid="CArecorder-order").id
        )
        for seq in range(1, 21):
            recorder.submit(
                lambda s, seq=seq: add_turn(
                    s, call_id=call_id, seq=seq, speaker=Speaker.caller, text=f"turn {seq}"
                )
            )
        assert await recorder.drain(10)
        with factory() as session:
            turns = list_turns(session, call_id)
        assert [t.seq for t in turns] == list(range(1, 21))
    finally:
        with factory() as session, session.begin():
            session.execute(text("DELETE FROM calls WHERE call_sid = 'CArecorder-order'"))
        recorder.close()


async def test_a_failing_write_raises_to_its_caller_and_others_go_on(pg_engine: Engine) -> None:
    factory = make_session_factory(pg_engine)
    recorder = CallRecorder(factory)

    def broken(session: Session) -> None:
        session.execute(text("SELECT * FROM no_such_table"))

    try:
        with pytest.raises(Exception, match="no_such_table"):
            await recorder.write(broken)
        assert await recorder.write(lambda s: s.execute(text("SELECT 41 + 1")).scalar()) == 42
    finally:
        recorder.close()


async def test_writes_wait_while_the_database_is_unreachable() -> None:
    """Pointed at a closed port, a write stays queued (the call goes on) instead of failing."""
    from callcenter.store.db import make_engine

    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    recorder = CallRecorder(make_session_factory(engine), retry_initial_s=0.05, retry_max_s=0.1)
    future = recorder.submit(lambda s: s.execute(text("SELECT 1")))
    try:
        # Polled, not slept: a loaded machine may take longer over each refused connect.
        def retried_twice() -> bool:
            deadline = time.monotonic() + 10.0
            while recorder.failed_attempts < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            return recorder.failed_attempts >= 2

        assert await asyncio.to_thread(retried_twice)
        assert not future.done()
        assert recorder.pending == 0  # taken by the writer thread, retrying
        assert recorder.database_ok is False
    finally:
        # Always stop the writer: a thread left retrying outlives the test and logs into
        # the streams pytest has closed.
        future.cancel()
        recorder.close(timeout_s=1.0)
        engine.dispose()
    assert not recorder.running
