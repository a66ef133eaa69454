"""The live /twilio/media endpoint: who gets in, and that bad frames never end a call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed

from callcenter.dialogue.ports import MediaStreamHandler, StreamContext, StreamOutput
from callcenter.logs import CallIdFilter
from callcenter.simulator import wire
from callcenter.store import calls as call_store
from callcenter.store.models import CallStatus
from callcenter.telephony.media_stream import MAX_PENDING_MEDIA
from callcenter.telephony.rest import CallControl
from callcenter.telephony.signatures import sign
from callcenter.testing.handlers import (
    EchoAgentFactory,
    RecordingHandler,
    RecordingHandlerFactory,
)
from callcenter.testing.twilio_stub import TwilioStub
from tests.support.live_app import ACCOUNT_SID, AUTH_TOKEN, LiveApp, wait_for
from tests.telephony.malformed import malformed_messages
from tests.telephony.stream_client import (
    answer_call,
    open_ws,
    receive_json,
    start_stream,
    wait_for_mark,
)


def closed_code(app: LiveApp, signature: str | None) -> int | None:
    with open_ws(app, signature) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code


@pytest.mark.parametrize("signature", [None, "", "bm9wZQ==", "signed-for-https"])
def test_upgrade_without_valid_signature_is_closed_1008(
    live_app: Callable[..., LiveApp], signature: str | None
) -> None:
    app = live_app()
    if signature == "signed-for-https":  # right token, wrong URL (https:// instead of ws://)
        signature = sign(AUTH_TOKEN, app.settings.public_url + "/twilio/media")
    assert closed_code(app, signature) == 1008
    assert app.runtime.metrics.value("rejected_streams_total", reason="signature") == 1


@pytest.mark.parametrize("tamper", ["token", "call_id", "missing"])
def test_bad_stream_token_is_closed_1008(live_app: Callable[..., LiveApp], tamper: str) -> None:
    handlers = RecordingHandlerFactory()
    app = live_app(handler_factory=handlers)
    call_sid, params = answer_call(app)
    if tamper == "token":
        params["token"] = params["token"][:-3] + "AAA"
    elif tamper == "call_id":
        params["call_id"] = "00000000-0000-0000-0000-000000000000"
    else:
        params.pop("token")
    with open_ws(app) as ws:
        start_stream(ws, call_sid, params)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert not handlers.handlers


def test_media_reaches_the_handler_and_stop_completes_the_call(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session]
) -> None:
    handlers = RecordingHandlerFactory()
    app = live_app(handler_factory=handlers)
    call_sid, params = answer_call(app)
    with open_ws(app) as ws:
        stream_sid = start_stream(ws, call_sid, params)
        for chunk in range(1, 6):
            ws.send(wire.media(stream_sid, chunk + 1, chunk, chunk * 20, bytes([chunk]) * 160))
        ws.send(wire.dtmf(stream_sid, 8, "5"))
        ws.send(wire.stop(stream_sid, 9, call_sid, ACCOUNT_SID))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    handler = wait_for(
        lambda: handlers.handlers and handlers.handlers[0].stop_reason and handlers.handlers[0]
    )
    assert handler.context.call_sid == call_sid and handler.context.stream_sid == stream_sid
    assert [(t, p[0]) for t, p in handler.media] == [(c * 20, c) for c in range(1, 6)]
    assert handler.digits == ["5"] and handler.stop_reason == "hangup"

    def status() -> CallStatus | None:
        with live_factory() as session:
            call = call_store.get_call_by_sid(session, call_sid)
            return call.status if call and call.status != CallStatus.in_progress else None

    assert wait_for(status) == CallStatus.completed
    assert app.runtime.live_calls == 0


def test_redirect_by_us_makes_stop_a_transfer(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session]
) -> None:
    handlers = RecordingHandlerFactory()
    with TwilioStub(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as stub:
        app = live_app(
            handler_factory=handlers, twilio_api_base=stub.url, human_destination="queue:support"
        )
        app.runtime.call_control = CallControl(app.settings)
        call_sid, params = answer_call(app)
        stub.add_call(call_sid)
        with open_ws(app) as ws:
            stream_sid = start_stream(ws, call_sid, params)
            handler = wait_for(lambda: handlers.handlers and handlers.handlers[0])
            import anyio

            anyio.run(app.runtime.call_control.transfer, call_sid, handler.context.call_id)
            ws.send(wire.stop(stream_sid, 2, call_sid, ACCOUNT_SID))  # Twilio after a redirect
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=10)
        (update,) = [r for r in stub.requests if r.call_sid == call_sid]
        assert "<Enqueue" in update.form["Twiml"] and ">support</Enqueue>" in update.form["Twiml"]
    assert wait_for(lambda: handler.stop_reason) == "transfer"

    def status() -> CallStatus | None:
        with live_factory() as session:
            call = call_store.get_call_by_sid(session, call_sid)
            return call.status if call and call.status != CallStatus.in_progress else None

    assert wait_for(status) == CallStatus.transferred


def test_live_fuzz_10k_malformed_frames_and_the_call_goes_on(
    live_app: Callable[..., LiveApp],
) -> None:
    agents = EchoAgentFactory()
    app = live_app(handler_factory=agents)
    call_sid, params = answer_call(app)
    sent = 0
    with open_ws(app) as ws:
        stream_sid = start_stream(ws, call_sid, params)
        wait_for(lambda: agents.agents)
        seq = 100

        @settings(
            max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(
            st.lists(malformed_messages(), min_size=50, max_size=80),
            st.sampled_from("0123456789*#"),
        )
        def fuzz(batch: list[str | bytes], digit: str) -> None:
            nonlocal sent, seq
            for message in batch:
                ws.send(message)
            sent += len(batch)
            # The call still answers: a DTMF goes through the handler and comes back as a mark.
            seq += 1
            ws.send(wire.dtmf(stream_sid, seq, digit))
            wait_for_mark(ws, f"dtmf-{digit}")

        fuzz()
        # And still plays audio: a caller turn is echoed back.
        from callcenter.testing.handlers import tone_ulaw

        frames = [tone_ulaw(200)[i : i + 160] for i in range(0, 1600, 160)] + [b"\xff" * 160] * 20
        for chunk, frame in enumerate(frames, start=1):
            ws.send(wire.media(stream_sid, seq + chunk, chunk, chunk * 20, frame))
        assert receive_json(ws)["event"] == "media"
    assert sent >= 10_000
    malformed = sum(
        app.runtime.metrics.value("malformed_frames_total", reason=reason)
        for reason in (
            "malformed_json",
            "not_an_object",
            "unknown_event",
            "missing_field",
            "bad_field",
            "bad_base64",
            "oversize",
            "binary_frame",
            "wrong_stream",
            "duplicate_start",
        )
    )
    assert malformed == sent
    assert app.runtime.metrics.value("media_handler_errors_total") == 0


def test_log_lines_said_during_a_call_carry_its_id(
    live_app: Callable[..., LiveApp], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(CallIdFilter())
    caplog.set_level(logging.INFO, logger="callcenter")
    app = live_app(handler_factory=RecordingHandlerFactory())
    call_sid, params = answer_call(app)
    with open_ws(app) as ws:
        stream_sid = start_stream(ws, call_sid, params)
        ws.send("{not json")  # logged inside the call as a skipped frame
        ws.send(wire.stop(stream_sid, 3, call_sid, ACCOUNT_SID))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)

    def call_lines() -> list[logging.LogRecord]:
        ended = any("stream ended" in r.getMessage() for r in caplog.records)
        return ended and [r for r in caplog.records if r.name.startswith("callcenter.telephony")]

    records = wait_for(call_lines)
    skipped = [r for r in records if "skipped frame" in r.getMessage()]
    assert skipped and all(getattr(r, "call_id", None) == params["call_id"] for r in skipped)
    started = [r for r in records if "started" in r.getMessage()]
    assert started and getattr(started[0], "call_id", None) == params["call_id"]


class SlowHandlerFactory(RecordingHandlerFactory):
    """Handlers whose first media frame takes ``stall_s`` (a call that fell behind)."""

    def __init__(self, stall_s: float) -> None:
        super().__init__()
        self.stall_s = stall_s

    async def __call__(self, context: StreamContext, output: StreamOutput) -> MediaStreamHandler:
        handler = await super().__call__(context, output)
        assert isinstance(handler, RecordingHandler)
        record, stall_s = handler.on_media, self.stall_s

        async def on_media(ulaw: bytes, timestamp_ms: int) -> None:
            if not handler.media:
                await asyncio.sleep(stall_s)
            await record(ulaw, timestamp_ms)

        handler.on_media = on_media  # type: ignore[method-assign]
        return handler


def test_a_call_that_falls_behind_drops_caller_audio_and_says_how_much(
    live_app: Callable[..., LiveApp],
    live_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Media beyond MAX_PENDING_MEDIA is dropped, not queued without bound; the drop is
    logged once and stored on the call (a caller's words lost this way are otherwise
    invisible: the agent just never heard them)."""
    handlers = SlowHandlerFactory(stall_s=2.0)
    app = live_app(handler_factory=handlers)
    call_sid, params = answer_call(app)
    sent = MAX_PENDING_MEDIA + 150
    with caplog.at_level(logging.WARNING, logger="callcenter.telephony.media_stream"):
        with open_ws(app) as ws:
            stream_sid = start_stream(ws, call_sid, params)
            for chunk in range(sent):
                ws.send(wire.media(stream_sid, chunk + 2, chunk, chunk * 20, b"\xff" * 160))
            ws.send(wire.stop(stream_sid, sent + 2, call_sid, ACCOUNT_SID))
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=15)
        handler = wait_for(
            lambda: handlers.handlers and handlers.handlers[0].stop_reason and handlers.handlers[0]
        )
    delivered = len(handler.media)
    assert 0 < delivered <= MAX_PENDING_MEDIA + 1 < sent

    def stopped() -> dict[str, object] | None:
        with live_factory() as session:
            call = call_store.get_call_by_sid(session, call_sid)
            assert call is not None
            events = call_store.list_events(session, call.id, kind="stream_stopped")
            return events[0].payload if events else None

    payload = wait_for(stopped)
    assert payload is not None and payload["dropped_media_frames"] == sent - delivered
    drops = [r for r in caplog.records if "dropping caller audio" in r.getMessage()]
    assert len(drops) == 1
    assert app.runtime.metrics.value("dropped_media_frames_total") == sent - delivered
