"""A stream token works once and a call has one live stream: in one process and across two.

Found in a probe: two WebSockets with one call's token were both accepted, both got the
agent's audio, and the recorder then failed on a duplicate turn. Now the second is closed
with 1008 before anything is written, and the first call goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from callcenter.simulator import wire
from callcenter.store import calls as call_store
from callcenter.store.models import CallEvent, StreamClaim
from callcenter.testing.handlers import RecordingHandlerFactory
from tests.support.live_app import ACCOUNT_SID, LiveApp, wait_for
from tests.telephony.stream_client import answer_call, open_ws, start_stream


def _close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:  # skip anything sent before the close
            ws.recv(timeout=10)
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


def _events(factory: sessionmaker[Session], call_sid: str, kind: str) -> int:
    with factory() as session:
        call = call_store.get_call_by_sid(session, call_sid)
        assert call is not None
        query = select(func.count()).where(CallEvent.call_id == call.id, CallEvent.kind == kind)
        return int(session.scalar(query) or 0)


def _hang_up(ws: ClientConnection, stream_sid: str, call_sid: str) -> None:
    ws.send(wire.stop(stream_sid, 99, call_sid, ACCOUNT_SID))
    _close_code(ws)


def test_a_replayed_token_is_refused_while_the_first_stream_goes_on(
    live_app: Callable[..., LiveApp],
    live_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="callcenter")
    handlers = RecordingHandlerFactory()
    app = live_app(handler_factory=handlers)
    call_sid, params = answer_call(app)
    with open_ws(app) as first:
        stream_sid = start_stream(first, call_sid, params)
        wait_for(lambda: handlers.handlers)
        with open_ws(app) as second:
            start_stream(second, call_sid, params)
            assert _close_code(second) == 1008
        # The first stream is untouched: its media still reaches its handler.
        first.send(wire.media(stream_sid, 2, 1, 20, b"\x7f" * 160))
        assert wait_for(lambda: handlers.handlers[0].media)
        _hang_up(first, stream_sid, call_sid)
    assert len(handlers.handlers) == 1
    assert app.runtime.metrics.value("rejected_streams_total", reason="token_reused") == 1
    assert any("token_reused" in record.getMessage() for record in caplog.records)
    assert wait_for(lambda: _events(live_factory, call_sid, "stream_stopped")) == 1
    assert _events(live_factory, call_sid, "stream_started") == 1

    # After the call, the token is still spent.
    with open_ws(app) as late:
        start_stream(late, call_sid, params)
        assert _close_code(late) == 1008
    assert len(handlers.handlers) == 1


def test_a_second_stream_for_a_live_call_is_refused_even_with_a_fresh_token(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session]
) -> None:
    handlers = RecordingHandlerFactory()
    app = live_app(handler_factory=handlers)
    call_sid, params = answer_call(app)
    _, fresh = answer_call(app, call_sid)  # the webhook again: same call, a new token
    assert fresh["token"] != params["token"] and fresh["call_id"] == params["call_id"]
    with open_ws(app) as first:
        stream_sid = start_stream(first, call_sid, params)
        wait_for(lambda: handlers.handlers)
        with open_ws(app) as second:
            start_stream(second, call_sid, fresh)
            assert _close_code(second) == 1008
        _hang_up(first, stream_sid, call_sid)
    assert app.runtime.metrics.value("rejected_streams_total", reason="stream_live") == 1
    assert len(handlers.handlers) == 1

    # Once the first stream has ended, the unused fresh token may connect (a reconnect).
    wait_for(lambda: _events(live_factory, call_sid, "stream_stopped"))
    with open_ws(app) as again:
        again_sid = start_stream(again, call_sid, fresh)
        assert wait_for(lambda: len(handlers.handlers) == 2)
        _hang_up(again, again_sid, call_sid)


def test_the_rules_hold_across_two_server_processes(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session]
) -> None:
    """Two apps on one database: the second knows nothing in memory; the store refuses."""
    first_handlers, second_handlers = RecordingHandlerFactory(), RecordingHandlerFactory()
    first_app = live_app(handler_factory=first_handlers)
    second_app = live_app(handler_factory=second_handlers)
    call_sid, params = answer_call(first_app)
    with open_ws(first_app) as first:
        stream_sid = start_stream(first, call_sid, params)
        wait_for(lambda: first_handlers.handlers)
        with open_ws(second_app) as replay:
            start_stream(replay, call_sid, params)
            assert _close_code(replay) == 1008
        _hang_up(first, stream_sid, call_sid)
    assert not second_handlers.handlers
    assert second_app.runtime.metrics.value("rejected_streams_total", reason="token_reused") == 1
    with live_factory() as session:
        claims = session.scalars(
            select(StreamClaim).where(StreamClaim.call_id == params["call_id"])
        ).all()
    assert len(claims) == 1 and claims[0].stream_sid == stream_sid
    assert wait_for(lambda: _events(live_factory, call_sid, "stream_stopped")) == 1
    assert _events(live_factory, call_sid, "stream_started") == 1
