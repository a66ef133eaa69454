"""The simulated call: Twilio's side of a phone call against a running server.

One clock drives everything: every tick (20 ms of call time; ``speed`` shrinks the real
interval) plays one frame of Twilio's playout buffer, echoes the marks that became due
and sends one caller frame (speech or silence, continuously, as Twilio does). Timeline
times are that clock's, so a fast run reports the same call-time numbers as a real-time
one would, while the server's own processing time is scaled along with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from callcenter.audio.g711 import FRAME_BYTES, FRAME_MS
from callcenter.simulator import script as sc
from callcenter.simulator import wire
from callcenter.simulator.result import SimulationResult, TimelineEvent, compute_metrics
from callcenter.simulator.twilio_buffer import PlayoutBuffer
from callcenter.simulator.twiml_reader import read_answer
from callcenter.telephony.media_protocol import Clear, SendMark, SendMedia
from callcenter.telephony.signatures import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)
SILENCE_FRAME = b"\xff" * FRAME_BYTES


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


@dataclass
class SimulationOptions:
    auth_token: str = "dev-auth-token"
    account_sid: str = "AC00000000000000000000000000000000"
    public_url: str | None = None  # the URL Twilio "knows" (signed); default: server URL
    webhook_path: str = "/twilio/voice"
    twiml: str | None = None  # skip the webhook and run this TwiML (a REST-created call)
    call_sid: str | None = None
    from_number: str = "+15550001111"
    to_number: str = "+15005550006"
    direction: str = "inbound"
    speed: float = 1.0  # >1 runs faster than real time (tests)
    synthesize: sc.Synthesize | None = None  # text -> μ-law; default Piper
    max_call_ms: int = 300_000
    end_hangup_delay_ms: int = 200  # silence after the last step before hanging up


class CallRemote:
    """Lets another thread (the REST stub) end a running simulated call, as Twilio
    would after a redirect (`transfer`) or a REST hang-up (`agent_hangup`)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._call: _Call | None = None
        self._pending: str | None = None
        self._lock = threading.Lock()

    def _attach(self, call: _Call) -> None:
        with self._lock:
            self._loop, self._call = asyncio.get_running_loop(), call
            pending = self._pending
        if pending:
            call.request_end(pending)

    def end(self, reason: str) -> None:
        with self._lock:
            loop, call = self._loop, self._call
            if call is None or loop is None:
                self._pending = reason
                return
        with contextlib.suppress(RuntimeError):  # that call's loop has finished: nothing to end
            loop.call_soon_threadsafe(call.request_end, reason)


@dataclass
class _Marker:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class _CallEnded(Exception):
    pass


class _Call:
    def __init__(
        self,
        steps: Sequence[sc.Step],
        audio: dict[int, bytes],
        options: SimulationOptions,
        result: SimulationResult,
        driver: CallDriver | None = None,
    ) -> None:
        self.steps, self.audio, self.opt, self.result = steps, audio, options, result
        self.driver = driver
        self.buffer = PlayoutBuffer()
        self.caller: deque[bytes | _Marker] = deque()
        self.tick = 0
        self.seq = 0
        self.chunk = 0
        self.ws: ClientConnection | None = None
        self.stream_sid = _sid("MZ")
        self._send_lock = asyncio.Lock()
        self._tick_event = asyncio.Event()
        self._ended = asyncio.Event()
        self._end_reason = ""
        self._agent_audio = bytearray()
        self._playing = False
        self.last_played_ms: int | None = None  # call time of the last agent audio played
        self._due_marks: list[str] = []

    @property
    def now_ms(self) -> int:
        return self.tick * FRAME_MS

    def event(self, kind: str, **data: Any) -> None:
        self.result.events.append(TimelineEvent(self.now_ms, kind, data))

    def request_end(self, reason: str) -> None:
        if not self._end_reason:
            self._end_reason = reason
        self._ended.set()
        self._tick_event.set()

    async def send(self, text: str) -> None:
        assert self.ws is not None
        async with self._send_lock:
            await self.ws.send(text)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    # --- the clock ----------------------------------------------------------------------

    async def ticker(self) -> None:
        loop = asyncio.get_running_loop()
        interval = FRAME_MS / 1000 / self.opt.speed
        started = loop.time()
        while not self._ended.is_set():
            # Marks due after the last frame are echoed now, when that frame has played.
            for name in self._due_marks:
                self.event("mark_echoed", name=name, cleared=False)
                await self.send(wire.mark(self.stream_sid, self.next_seq(), name))
            played, self._due_marks = self.buffer.tick(FRAME_BYTES)
            self._agent_audio += played + SILENCE_FRAME[len(played) :]
            if played and not self._playing:
                self.event("agent_playout_start")
            elif self._playing and not played:
                self.event("agent_playout_end")
            self._playing = bool(played)
            if played:
                self.last_played_ms = self.now_ms
            await self._send_caller_frame()
            self.tick += 1
            if self.now_ms >= self.opt.max_call_ms:
                self.request_end("max_duration")
            current, self._tick_event = self._tick_event, asyncio.Event()
            current.set()
            await asyncio.sleep(max(0.0, started + self.tick * interval - loop.time()))

    async def _send_caller_frame(self) -> None:
        while self.caller and isinstance(self.caller[0], _Marker):
            marker = self.caller.popleft()
            assert isinstance(marker, _Marker)
            self.event(marker.kind, **marker.data)
            if marker.kind == "dtmf":
                await self.send(wire.dtmf(self.stream_sid, self.next_seq(), marker.data["digit"]))
        frame = self.caller.popleft() if self.caller else SILENCE_FRAME
        assert isinstance(frame, bytes)
        self.chunk += 1
        await self.send(
            wire.media(self.stream_sid, self.next_seq(), self.chunk, self.now_ms, frame)
        )

    async def next_tick(self) -> None:
        if self._ended.is_set():
            raise _CallEnded
        await self._tick_event.wait()
        if self._ended.is_set():
            raise _CallEnded

    # --- what Twilio receives -----------------------------------------------------------

    async def receiver(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                # `clear` echoes every pending mark at once (Twilio's docs).
                for name in self._receive(raw):
                    await self.send(wire.mark(self.stream_sid, self.next_seq(), name))
        except ConnectionClosed:
            pass
        self.result.close_code = self.ws.close_code
        self.request_end("server_closed")

    def _receive(self, raw: str | bytes) -> list[str]:
        try:
            command = wire.parse_outbound(raw)
        except wire.TwilioStreamError as error:
            self.result.twilio_errors.append(
                {"t_ms": self.now_ms, "code": error.code, "detail": error.detail}
            )
            self.event("twilio_error", code=error.code, detail=error.detail)
            return []
        if command.stream_sid != self.stream_sid:
            self.event("twilio_error", code=wire.BAD_MESSAGE, detail="unknown streamSid")
            return []
        if isinstance(command, SendMedia):
            self.event("agent_media", bytes=len(command.payload))
            self.buffer.add_audio(command.payload)
        elif isinstance(command, SendMark):
            self.event("mark_received", name=command.name)
            self.buffer.add_mark(command.name)
        elif isinstance(command, Clear):
            played, self._due_marks = self._due_marks, []
            for name in played:  # their audio had played before the clear arrived
                self.event("mark_echoed", name=name, cleared=False)
            dropped, marks = self.buffer.clear()
            self.event("clear_received", dropped_ms=dropped * 1000 // 8000, marks=marks)
            for name in marks:
                self.event("mark_echoed", name=name, cleared=True)
            return played + marks
        return []

    # --- what the caller does -----------------------------------------------------------

    async def drained(self) -> None:
        while self.caller:
            await self.next_tick()

    def speak(self, step: int, ulaw: bytes, start_kind: str, label: str) -> None:
        self.caller.append(_Marker(start_kind, {"step": step, "label": label}))
        padded = ulaw + b"\xff" * (-len(ulaw) % FRAME_BYTES)
        for offset in range(0, len(padded), FRAME_BYTES):
            self.caller.append(padded[offset : offset + FRAME_BYTES])
        self.caller.append(_Marker("caller_speech_end", {"step": step}))

    def silence(self, ms: int) -> None:
        self.caller.extend([SILENCE_FRAME] * max(0, ms // FRAME_MS))

    async def wait_ms(self, ms: int) -> None:
        target = self.tick + ms // FRAME_MS
        while self.tick < target:
            await self.next_tick()

    async def wait_agent(
        self, step: int, quiet_ms: int, timeout_ms: int, min_speech_ms: int = 0
    ) -> None:
        deadline = self.tick + timeout_ms // FRAME_MS
        heard, quiet, spoken = False, 0, 0
        while self.tick < deadline:
            await self.next_tick()
            if self.buffer.is_playing:
                heard, quiet = True, 0
                spoken += FRAME_MS
            elif heard and spoken >= min_speech_ms:
                quiet += FRAME_MS
                if quiet >= quiet_ms:
                    return
        self.event("wait_timeout", step=step, heard_agent=heard)

    async def wait_agent_speaking(self, step: int, timeout_ms: int) -> bool:
        deadline = self.tick + timeout_ms // FRAME_MS
        while not self.buffer.is_playing:
            if self.tick >= deadline:
                self.event("wait_timeout", step=step, heard_agent=False)
                return False
            await self.next_tick()
        return True

    async def run_script(self) -> None:
        for index, step in enumerate(self.steps):
            if isinstance(step, sc.Say):
                self.speak(index, self.audio[index], "caller_speech_start", step.label)
                await self.drained()
            elif isinstance(step, sc.Silence):
                self.silence(step.ms)
                await self.drained()
            elif isinstance(step, sc.Dtmf):
                for digit in step.digits:
                    self.caller.append(_Marker("dtmf", {"step": index, "digit": digit}))
                    self.silence(step.gap_ms)
                await self.drained()
            elif isinstance(step, sc.WaitAgent):
                await self.wait_agent(index, step.quiet_ms, step.timeout_ms, step.min_speech_ms)
            elif isinstance(step, sc.Interrupt):
                if await self.wait_agent_speaking(index, step.timeout_ms):
                    await self.wait_ms(step.after_ms)
                    self.speak(index, self.audio[index], "interruption_onset", step.say.label)
                    await self.drained()
            elif isinstance(step, sc.Hangup):
                break
        await self.wait_ms(self.opt.end_hangup_delay_ms)
        self.request_end("caller_hangup")

    # --- the whole call -----------------------------------------------------------------

    async def run(self, stream_url: str, parameters: dict[str, str], signed_url: str) -> None:
        headers = {SIGNATURE_HEADER: sign(self.opt.auth_token, signed_url, {})}
        self.event("ws_connecting", url=stream_url)
        async with connect(stream_url, additional_headers=headers, max_size=2**22) as ws:
            self.ws = ws
            await self.send(wire.connected())
            self.event("connected_sent")
            await self.send(
                wire.start(
                    self.stream_sid,
                    self.result.call_sid,
                    self.opt.account_sid,
                    parameters,
                    self.next_seq(),
                )
            )
            self.event("start_sent", parameters=sorted(parameters))
            tasks = [
                asyncio.create_task(coro)
                for coro in (self.ticker(), self.receiver(), self._script_task())
            ]
            await self._ended.wait()
            for task in tasks[::2]:  # ticker and script; the receiver sees the close
                task.cancel()
            await asyncio.gather(*tasks[::2], return_exceptions=True)
            if self._end_reason != "server_closed":
                try:
                    await self.send(
                        wire.stop(
                            self.stream_sid,
                            self.next_seq(),
                            self.result.call_sid,
                            self.opt.account_sid,
                        )
                    )
                    self.event("stop_sent", reason=self._end_reason)
                    await ws.close(1000)
                except ConnectionClosed:
                    pass
            await asyncio.wait([tasks[1]], timeout=5)
            tasks[1].cancel()
            self.result.close_code = ws.close_code
        self.result.end_reason = self._end_reason
        self.result.duration_ms = self.now_ms
        self.result.agent_audio = bytes(self._agent_audio)
        self.event("call_ended", reason=self._end_reason, close_code=self.result.close_code)

    async def _script_task(self) -> None:
        with contextlib.suppress(_CallEnded):
            if self.driver is None:
                await self.run_script()
                return
            await self.driver(CallerLine(self))
            await self.wait_ms(self.opt.end_hangup_delay_ms)
            self.request_end("caller_hangup")


class CallerLine:
    """The caller's side of a running call, for a driver that decides what to say as the
    call goes (a reactive caller) instead of following a fixed script. Every wait raises
    when the call has ended (the server hung up or transferred), which ends the driver."""

    def __init__(self, call: _Call) -> None:
        self._call = call
        self._utterances = 0

    @property
    def now_ms(self) -> int:
        return self._call.now_ms

    def agent_audio(self, since_ms: int) -> bytes:
        """What the caller heard from ``since_ms`` (call time) until now, silence included."""
        return bytes(self._call._agent_audio[since_ms * 8 :])

    @property
    def agent_speaking(self) -> bool:
        return self._call.buffer.is_playing

    @property
    def agent_last_played_ms(self) -> int | None:
        """Call time of the last agent audio the caller heard (None: none yet)."""
        return self._call.last_played_ms

    async def tick(self) -> None:
        await self._call.next_tick()

    async def say(self, ulaw: bytes, label: str) -> None:
        """Speak (timeline events as for a scripted ``Say``) and return once it is sent."""
        self._utterances += 1
        self._call.speak(1000 + self._utterances, ulaw, "caller_speech_start", label)
        await self._call.drained()

    async def press(self, digits: str, gap_ms: int = 200) -> None:
        for digit in digits:
            self._call.caller.append(_Marker("dtmf", {"step": -1, "digit": digit}))
            self._call.silence(gap_ms)
        await self._call.drained()

    async def wait_ms(self, ms: int) -> None:
        await self._call.wait_ms(ms)

    def note(self, kind: str, **data: Any) -> None:
        self._call.event(kind, **data)


# A reactive caller: gets the line when the stream starts; the call ends when it returns.
CallDriver = Callable[[CallerLine], Awaitable[None]]


def _ws_base(http_base: str) -> str:
    scheme, rest = http_base.split("://", 1)
    return ("wss://" if scheme == "https" else "ws://") + rest


async def answer_webhook(
    server_url: str, options: SimulationOptions, call_sid: str, client: httpx.AsyncClient
) -> tuple[int, str]:
    """POST the voice webhook signed exactly as Twilio signs it."""
    public = (options.public_url or server_url).rstrip("/")
    params = {
        "AccountSid": options.account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "ringing" if options.direction == "inbound" else "in-progress",
        "Called": options.to_number,
        "Caller": options.from_number,
        "Direction": options.direction,
        "From": options.from_number,
        "To": options.to_number,
    }
    signature = sign(options.auth_token, public + options.webhook_path, params)
    response = await client.post(
        server_url.rstrip("/") + options.webhook_path,
        data=params,
        headers={"X-Twilio-Signature": signature},
    )
    return response.status_code, response.text


async def run_call(
    server_url: str,
    steps: Sequence[sc.Step],
    options: SimulationOptions | None = None,
    remote: CallRemote | None = None,
    driver: CallDriver | None = None,
) -> SimulationResult:
    """Play one call against ``server_url`` (http://host:port of the app): ``steps``, or
    with ``driver`` whatever that reactive caller decides (``steps`` then unused)."""
    opt = options or SimulationOptions()
    if opt.speed <= 0:
        raise ValueError("speed must be positive")
    result = SimulationResult(call_sid=opt.call_sid or _sid("CA"))
    audio = await sc.render_all(steps, opt.synthesize)
    if opt.twiml is None:
        async with httpx.AsyncClient(timeout=30) as client:
            status, body = await answer_webhook(server_url, opt, result.call_sid, client)
        if status != 200:
            result.answer = f"http_{status}"
            result.end_reason = "webhook_rejected"
            return result
        result.twiml = body
    else:
        result.twiml = opt.twiml
    answer = read_answer(result.twiml)
    result.answer = answer.kind
    if answer.kind != "stream":
        result.end_reason = answer.kind
        return result
    public = (opt.public_url or server_url).rstrip("/")
    connect_url = answer.stream_url
    if public != server_url.rstrip("/"):  # reach a local server behind a public URL
        connect_url = connect_url.replace(_ws_base(public), _ws_base(server_url.rstrip("/")), 1)
    call = _Call(steps, audio, opt, result, driver)
    result.stream_sid = call.stream_sid
    if remote is not None:
        remote._attach(call)
    await call.run(connect_url, answer.parameters, answer.stream_url)
    compute_metrics(result)
    return result
