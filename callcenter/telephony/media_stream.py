"""``/twilio/media``: the Twilio Media Stream WebSocket, from upgrade to ``stop``.

Order of business:

1. The upgrade must carry a valid ``x-twilio-signature`` over ``settings.public_ws_url``.
   We accept first and then close with 1008: a close before accept makes uvicorn answer
   the handshake with a bare HTTP 403, which tells the peer less. (Tested both ways.)
2. ``start`` must carry our stream token in ``customParameters`` (else 1008). The token
   works once and a call has one live stream (callcenter.telephony.stream_guard): a
   replay or a second socket for a live call is closed with 1008 and logged, before
   anything is written. Then the edge's ``handler_factory`` builds the handler.
3. Frames are dispatched in order through an inbox drained by one worker task, so a
   slow handler never stops us reading the socket. Media beyond ``MAX_PENDING_MEDIA``
   is dropped (counted) instead of backing the socket up.
4. Anything malformed is logged with the call id, counted and skipped; the call goes on.
5. At the end the handler gets ``on_stop`` and ``call_records`` the call's end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from starlette.websockets import WebSocket, WebSocketState

from callcenter.audio.call_recording import CallRecording
from callcenter.dialogue.ports import MediaStreamHandler, StopReason, StreamContext
from callcenter.keys import stream_token_keys
from callcenter.logs import current_call_id
from callcenter.store.stream_claims import ClaimRefused
from callcenter.telephony.edge import TelephonyEdge
from callcenter.telephony.media_protocol import (
    Connected,
    Dtmf,
    InboundEvent,
    Mark,
    Media,
    ProtocolError,
    ProtocolErrorReason,
    Start,
    Stop,
    parse_inbound,
)
from callcenter.telephony.signatures import (
    SIGNATURE_HEADER,
    StreamTokenError,
    validate_stream_upgrade,
    verify_stream_token,
)
from callcenter.telephony.stream_guard import StreamGuard, claim_in_store, release_in_store
from callcenter.telephony.stream_output import StreamSender

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
MAX_PENDING_MEDIA = 250  # 5 s of 20 ms frames waiting for a slow handler
STOP_TIMEOUT_S = 10.0  # how long a handler may take to wind down after stop
_LOG_FIRST_N, _LOG_EVERY = 20, 500  # malformed-frame log rate limit per stream


@dataclass(frozen=True)
class _StopItem:
    reason: StopReason


_Item = Media | Dtmf | Mark | _StopItem


async def media_stream_endpoint(websocket: WebSocket) -> None:
    runtime: TelephonyEdge = websocket.app.state.runtime
    await websocket.accept()
    if not validate_stream_upgrade(runtime.settings, websocket.headers.get(SIGNATURE_HEADER)):
        runtime.metrics.rejected_streams.labels("signature").inc()
        log.warning("media stream rejected: bad or missing %s", SIGNATURE_HEADER)
        await websocket.close(code=POLICY_VIOLATION, reason="invalid signature")
        return
    await MediaStreamConnection(websocket, runtime).run()


class MediaStreamConnection:
    def __init__(self, websocket: WebSocket, runtime: TelephonyEdge) -> None:
        self.ws = websocket
        self.runtime = runtime
        self.context: StreamContext | None = None
        self.handler: MediaStreamHandler | None = None
        self.sender: StreamSender | None = None
        self.recording: CallRecording | None = None
        self._inbox: asyncio.Queue[_Item] = asyncio.Queue()
        self._media_pending = 0
        self._dropped_media = 0  # caller frames dropped while the handler was behind
        self._tasks: list[asyncio.Task[None]] = []
        self._malformed = 0
        self._got_stop = False
        self._rejected = False
        self._guard: StreamGuard = websocket.app.state.stream_guard
        self._claimed_token: str | None = None

    # --- reading ------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while not self._got_stop and not self._rejected:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    self._skip(ProtocolErrorReason.binary_frame, "binary frame")
                    continue
                try:
                    event = parse_inbound(text)
                except ProtocolError as error:
                    self._skip(error.reason, error.detail)
                    continue
                await self._dispatch(event)
        finally:
            await self._finish()

    def _skip(self, reason: ProtocolErrorReason, detail: str) -> None:
        self._malformed += 1
        self.runtime.metrics.malformed_frames.labels(reason.value).inc()
        if self._malformed <= _LOG_FIRST_N or self._malformed % _LOG_EVERY == 0:
            log.warning(
                "skipped frame #%d (%s: %s)",
                self._malformed,
                reason.value,
                detail[:200],
            )

    async def _dispatch(self, event: InboundEvent) -> None:
        if isinstance(event, Connected):
            return
        if isinstance(event, Start):
            if self.context is not None:
                self._skip(ProtocolErrorReason.duplicate_start, event.stream_sid)
            else:
                await self._start(event)
            return
        if self.context is None:
            self._skip(ProtocolErrorReason.before_start, type(event).__name__)
            return
        if event.stream_sid != self.context.stream_sid:
            self._skip(ProtocolErrorReason.wrong_stream, event.stream_sid[:64])
            return
        if isinstance(event, Stop):
            self._got_stop = True
        elif isinstance(event, Media):
            if event.track not in ("inbound", "inbound_track"):
                return  # both_tracks streams also echo our own audio; the session wants the caller
            if self.recording is not None:  # before any drop: the recording has it all
                self.recording.caller(event.payload, event.timestamp_ms)
            if self._media_pending >= MAX_PENDING_MEDIA:
                self.runtime.metrics.dropped_media_frames.inc()
                self._dropped_media += 1
                if self._dropped_media == 1:  # words the caller said are lost: say so once
                    log.warning(
                        "call %s is %d frames behind; dropping caller audio",
                        self.context.call_id,
                        MAX_PENDING_MEDIA,
                    )
                return
            self._media_pending += 1
            self._inbox.put_nowait(event)
        else:
            self._inbox.put_nowait(event)

    # --- start --------------------------------------------------------------------------

    async def _start(self, start: Start) -> None:
        settings = self.runtime.settings
        call_id = start.custom_parameters.get("call_id", "")
        token = start.custom_parameters.get("token", "")
        try:
            verify_stream_token(stream_token_keys(settings), token, call_id, start.call_sid)
        except StreamTokenError as error:
            await self._reject(f"token_{error.reason}", f"stream token {error.reason}")
            return
        refused = await self._claim(token, call_id, start.stream_sid)
        if refused is not None:
            await self._reject(refused.value, f"{refused.value} (call {call_id})")
            return
        self._claimed_token = token
        # From here on every log line of this call (and of the tasks it starts) has its id.
        current_call_id.set(call_id)
        self.context = StreamContext(
            call_id=call_id,
            call_sid=start.call_sid,
            stream_sid=start.stream_sid,
            account_sid=start.account_sid,
            custom_parameters=dict(start.custom_parameters),
        )
        self.runtime.live_calls += 1
        self.runtime.metrics.live_calls.inc()
        context = self.context
        await self._store(lambda: self.runtime.call_records.stream_started(context))
        self.recording = self._open_recording(call_id)
        self.sender = StreamSender(
            start.stream_sid, self.ws.send_text, self._dropped_marks, tap=self.recording
        )
        self._tasks.append(asyncio.create_task(self.sender.run(), name=f"ws-writer-{call_id}"))
        try:
            factory = self.runtime.handler_factory
            if factory is None:
                raise RuntimeError("no call handler in this process")
            self.handler = await factory(self.context, self.sender)
        except Exception:
            # No session means no agent: close so Twilio runs <Connect action> (a human).
            log.exception("handler factory failed")
            self._rejected = True
            await self._close(INTERNAL_ERROR, "session unavailable")
            return
        self.runtime.live_handlers[call_id] = self.handler
        self._tasks.append(asyncio.create_task(self._work(), name=f"ws-handler-{call_id}"))
        log.info("stream %s started", start.stream_sid)

    def _open_recording(self, call_id: str) -> CallRecording | None:
        settings = self.runtime.settings
        if not settings.recording_enabled:
            return None
        try:
            return CallRecording(self.runtime.recordings.writing_path(call_id))
        except (OSError, ValueError):
            log.exception("cannot record this call; it goes on unrecorded")
            return None

    async def _reject(self, label: str, detail: str) -> None:
        self._rejected = True
        self.runtime.metrics.rejected_streams.labels(label).inc()
        log.warning("media stream rejected: %s", detail)
        await self._close(POLICY_VIOLATION, "invalid stream token")

    async def _claim(self, token: str, call_id: str, stream_sid: str) -> ClaimRefused | None:
        """Single-use token, one live stream per call: this process, then the store."""
        refused = self._guard.claim_here(token, call_id)
        if refused is None:
            refused = await anyio.to_thread.run_sync(
                lambda: claim_in_store(
                    self.runtime.session_factory,
                    token=token,
                    call_id=call_id,
                    stream_sid=stream_sid,
                    server_id=self.runtime.server_id,
                )
            )
            if refused is not None:
                self._guard.undo_claim(token, call_id, refused)
        return refused

    def _dropped_marks(self, names: list[str]) -> None:
        # Marks still in our queue at `clear` never reached Twilio; echo them like it would.
        for name in names:
            if self.context is not None:
                self._inbox.put_nowait(Mark(self.context.stream_sid, name))

    # --- the handler's worker -----------------------------------------------------------

    async def _work(self) -> None:
        handler = self.handler
        assert handler is not None
        while True:
            item = await self._inbox.get()
            try:
                if isinstance(item, Media):
                    self._media_pending -= 1
                    await handler.on_media(item.payload, item.timestamp_ms)
                elif isinstance(item, Dtmf):
                    await handler.on_dtmf(item.digit)
                elif isinstance(item, Mark):
                    await handler.on_mark(item.name)
                else:
                    await handler.on_stop(item.reason)
                    return
            except Exception:
                self.runtime.metrics.handler_errors.inc()
                log.exception("handler failed on %s", type(item).__name__)
                if isinstance(item, _StopItem):
                    return

    # --- the end ------------------------------------------------------------------------

    def _stop_reason(self) -> StopReason:
        assert self.context is not None
        control = self.runtime.call_control_if_created
        if control is not None and control.was_redirected(self.context.call_sid):
            return "transfer"
        return "hangup" if self._got_stop else "disconnected"

    async def _finish(self) -> None:
        if self.context is None:
            await self._close(1000, "")
            return
        reason = self._stop_reason()
        self._inbox.put_nowait(_StopItem(reason))
        worker = self._tasks[1] if len(self._tasks) > 1 else None
        if worker is not None:
            try:
                await asyncio.wait_for(asyncio.shield(worker), STOP_TIMEOUT_S)
            except TimeoutError:
                log.warning("handler still busy %ss after stop", STOP_TIMEOUT_S)
                worker.cancel()
        if self.sender is not None:
            self.sender.close(drain=not self._got_stop)
            await asyncio.wait([self._tasks[0]], timeout=2.0)
        for task in self._tasks:
            task.cancel()
        if self.recording is not None:
            self.recording.close()
        await self._close(1000, "")
        self.runtime.live_handlers.pop(self.context.call_id, None)
        if self._claimed_token is not None:
            token = self._claimed_token
            self._guard.release_here(self.context.call_id)
            await anyio.to_thread.run_sync(
                lambda: release_in_store(self.runtime.session_factory, token)
            )
        self.runtime.live_calls -= 1
        self.runtime.metrics.live_calls.dec()
        context, malformed, dropped = self.context, self._malformed, self._dropped_media
        await self._store(
            lambda: self.runtime.call_records.stream_stopped(context, reason, malformed, dropped)
        )
        log.info("stream ended (%s)", reason)
        if self.recording is not None:
            await self._keep_recording(context.call_id)

    async def _keep_recording(self, call_id: str) -> None:
        """Move the finished file to where recordings are kept (S3: an upload). A failure
        leaves the local file, which is still served and purged by retention."""
        try:
            await anyio.to_thread.run_sync(lambda: self.runtime.recordings.finish(call_id))
        except Exception:
            log.exception("could not store the recording; it stays on local disk")

    async def _close(self, code: int, reason: str) -> None:
        if self.ws.application_state == WebSocketState.CONNECTED:
            try:
                await self.ws.close(code=code, reason=reason)
            except Exception:  # already gone; nothing to tell the peer
                log.debug("close after disconnect", exc_info=True)

    # --- the store (best effort: a database outage must not drop the caller) -----------

    async def _store(self, fn: Callable[[], None]) -> None:
        try:
            await anyio.to_thread.run_sync(fn)
        except Exception:
            log.exception("could not record stream state")
