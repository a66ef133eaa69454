"""Drive a real CallSession on a scripted timeline: no network, no models, virtual time.

The stages the session wires are real (speculation, turn-taking, replying, voice,
playout); what is scripted are the edges a test cannot run quickly: the VAD (a
:class:`ScriptedListening` that hears the caller exactly when the script says), the ASR,
the LLM (a ``ChatModel`` streaming scripted text and tool calls), the TTS (silence of a
length proportional to the text) and Twilio's playout buffer (marks echo when the audio
before them has played, ``clear`` echoes the rest). The event loop runs on a virtual
clock, so an 8-second silence costs nothing and every run is the same.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from callcenter.asr.base import Transcript
from callcenter.dialogue.end_of_turn import EndOfTurnPolicy
from callcenter.dialogue.events import (
    AgentState,
    AgentStateChanged,
    CallerPaused,
    CallerSpeechStarted,
    CallerTurnEnded,
    CallEvent,
)
from callcenter.dialogue.listening import ListeningEvent
from callcenter.dialogue.ports import StreamContext
from callcenter.dialogue.prompts import default_prompt_set
from callcenter.dialogue.replying import ReplierFactory
from callcenter.dialogue.returning import CallerMemory
from callcenter.dialogue.services import SessionServices
from callcenter.dialogue.session import CallSession
from callcenter.dialogue.voice import PhraseCache
from callcenter.llm.base import (
    Message,
    StreamEnd,
    TextDelta,
    ToolCallRequest,
    ToolCallStarting,
    ToolSchema,
)
from callcenter.settings import Settings, load_settings
from callcenter.simulator.twilio_buffer import PlayoutBuffer
from callcenter.store.calls import TURN_READINGS
from callcenter.store.models import ToolStatus
from callcenter.tools.base import Action, ToolCall, ToolOutcome
from callcenter.tools.context import CallContext
from callcenter.tts.base import AudioChunk

FRAME_MS = 20
TTS_MS_PER_CHAR = 40  # scripted voice: about 2.5 words a second


# --- virtual time ---------------------------------------------------------------------------


class _InstantSelector(selectors.DefaultSelector):
    """Never waits: a timeout moves the loop's clock forward instead."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout is None:
            return ready or super().select(timeout)
        self._loop.now += max(timeout, 0.0)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.now = 1000.0
        super().__init__(_InstantSelector(self))

    def time(self) -> float:
        return self.now


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


# --- the caller -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Speech:
    """The caller speaks from ``start_ms`` to ``end_ms`` (stream time) and says ``text``."""

    start_ms: int
    end_ms: int
    text: str
    confidence: float = 0.9


class ScriptedListening:
    """A VAD that hears exactly the script: a pause event ``pause_ms`` after each stretch
    of speech, the end of the turn ``endpoint_ms`` after it (unless speech resumes), or
    later when ``end_policy`` is given and the speculative transcript's words say the
    caller is not done (the real :class:`EndOfTurnPolicy` decides how much later)."""

    def __init__(
        self,
        script: Sequence[Speech],
        pause_ms: int = 200,
        endpoint_ms: int = 600,
        end_policy: EndOfTurnPolicy | None = None,
    ):
        self.script = list(script)
        self.pause_ms, self.endpoint_ms = pause_ms, endpoint_ms
        self.end_policy = end_policy
        self.position_ms = 0
        self._onset: int | None = None
        self._hold: dict[int, int] = {}  # speech end_ms -> silence that ends its pause
        self._unfinished: set[int] = set()  # speech end_ms whose words stopped mid-sentence

    def heard_so_far(self, text: str, end_ms: float, *, answered: bool = False) -> None:
        # The turn model (not scripted) would call every pause finished: the words decide.
        policy = self.end_policy
        if policy is not None:
            self._hold[int(end_ms)] = policy.silence_ms(1.0, text, answered=answered)
            if policy.prompt_after_ms and policy.verdict(1.0, text) == "unfinished":
                self._unfinished.add(int(end_ms))

    def _current(self) -> Speech | None:
        return next((s for s in self.script if s.start_ms <= self.position_ms < s.end_ms), None)

    @property
    def in_speech(self) -> bool:
        return self._current() is not None

    @property
    def hearing_speech(self) -> bool:
        return self.in_speech

    @property
    def in_turn(self) -> bool:
        return self._onset is not None

    @property
    def speech_ms(self) -> float:
        return float(self.position_ms - self._onset) if self._onset is not None else 0.0

    def feed(self, ulaw: bytes) -> list[ListeningEvent]:
        self.position_ms += len(ulaw) // 8
        now = asyncio.get_running_loop().time()
        out: list[ListeningEvent] = []
        current = self._current()
        if current is not None and self._onset is None:
            self._onset = current.start_ms
            out.append(CallerSpeechStarted(at_ms=current.start_ms))
        for index, speech in enumerate(self.script):
            silent_for = self.position_ms - speech.end_ms
            if self._onset is None or current is not None or silent_for <= 0:
                continue
            audio = np.full(1, index, dtype=np.float32)  # the transcriber reads the index
            end_wall = now - silent_for / 1000.0
            if silent_for == self.pause_ms:
                out.append(CallerPaused(audio, end_ms=speech.end_ms, end_wall=end_wall))
            elif silent_for == self._hold.get(speech.end_ms, self.endpoint_ms):
                self._onset = None
                unfinished = speech.end_ms in self._unfinished
                out.append(
                    CallerTurnEnded(
                        audio,
                        speech.end_ms,
                        end_wall,
                        lag_s=silent_for / 1000.0,
                        unfinished=unfinished,
                    )
                )
        return out


class ScriptedTranscriber:
    """Transcribes the script's speech (the audio carries its index) after ``delay_s``."""

    def __init__(self, script: Sequence[Speech], delay_s: float = 0.1) -> None:
        self.script, self.delay_s = list(script), delay_s
        self.hints: list[str | None] = []
        self.languages: list[str | None] = []  # the language prior of each request

    async def transcribe(
        self, audio: np.ndarray, *, hint: str | None = None, language: str | None = None
    ) -> Transcript:
        self.hints.append(hint)
        self.languages.append(language)
        await asyncio.sleep(self.delay_s)
        speech = self.script[int(audio[0])]
        return Transcript(text=speech.text, confidence=speech.confidence, language=language or "en")

    async def close(self) -> None:
        return None


# --- the agent's engines ----------------------------------------------------------------------

Reply = str | ToolCallRequest | Sequence[str | ToolCallRequest]
Brain = Callable[[Sequence[Message]], Reply]


class ScriptedChat:
    """A ChatModel whose answers come from ``brain(messages)``: text (streamed word by word,
    ``token_s`` apart, after ``first_token_s``) and/or tool calls."""

    def __init__(self, brain: Brain, first_token_s: float = 0.3, token_s: float = 0.02) -> None:
        self.brain, self.first_token_s, self.token_s = brain, first_token_s, token_s
        self.requests: list[list[Message]] = []

    async def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        session_key: str | None = None,
    ) -> AsyncIterator[TextDelta | ToolCallStarting | ToolCallRequest | StreamEnd]:
        self.requests.append(list(messages))
        reply = self.brain(messages)
        parts = [reply] if isinstance(reply, str | ToolCallRequest) else list(reply)
        await asyncio.sleep(self.first_token_s)
        for part in parts:
            if isinstance(part, ToolCallRequest):
                yield ToolCallStarting()
                yield part
                continue
            for word in part.split(" "):
                yield TextDelta(word + " ")
                await asyncio.sleep(self.token_s)

    async def warm(
        self, messages: Sequence[Message], tools: Sequence[ToolSchema] = (), *, session_key: str
    ) -> None:
        return None

    def forget(self, session_key: str) -> None:
        return None

    async def close(self) -> None:
        return None


class ScriptedVoice:
    """A synthesizer speaking silence, ``TTS_MS_PER_CHAR`` per character, at 8 kHz."""

    sample_rate = 8000

    async def stream(self, text: str) -> AsyncIterator[AudioChunk]:
        async for chunk in self.stream_at_rate(text, 1.0):
            yield chunk

    async def stream_at_rate(self, text: str, rate: float) -> AsyncIterator[AudioChunk]:
        samples = int(len(text) * TTS_MS_PER_CHAR * 8 / rate)
        await asyncio.sleep(0.05)
        yield AudioChunk(np.zeros(samples, dtype=np.float32), 8000)

    async def close(self) -> None:
        return None


@dataclass
class ScriptedTools:
    """Tools that answer with fixed lines; what ran, and when, is kept."""

    lines: dict[str, str] = field(default_factory=dict)
    ran: list[tuple[str, float]] = field(default_factory=list)

    def schemas(self) -> Sequence[dict[str, Any]]:
        return [{"type": "function", "function": {"name": name}} for name in self.lines]

    async def refresh(self, max_age_s: float | None = None) -> None:
        return None

    async def execute(
        self, ctx: CallContext, request: ToolCall, *, turn_seq: int | None
    ) -> ToolOutcome:
        self.ran.append((request.name, asyncio.get_running_loop().time()))
        say = {"say": self.lines.get(request.name, "")}
        action: Action = "end_call" if request.name == "end_call" else "continue"
        return ToolOutcome(request.id, request.name, ToolStatus.ok, say, action=action)


# --- the call's record and Twilio -------------------------------------------------------------


@dataclass
class MemoryCallLog:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    caller_turns: dict[int, str] = field(default_factory=dict)
    dropped: list[int] = field(default_factory=list)
    agent_turns: dict[int, dict[str, Any]] = field(default_factory=dict)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    def event(self, kind: str, payload: dict[str, Any]) -> None:
        self.events.append((kind, payload))

    async def caller_turn(
        self, seq: int, text: str, *, source: str, confidence: float | None
    ) -> None:
        self.caller_turns[seq] = text

    def drop_turn(self, seq: int) -> None:
        # As the store does (calls.delete_turn): the turn and its readings go.
        self.dropped.append(seq)
        self.caller_turns.pop(seq, None)
        self.events = [
            (kind, payload)
            for kind, payload in self.events
            if not (kind in TURN_READINGS and payload.get("seq") == seq)
        ]

    def agent_turn_started(
        self, seq: int, text: str, *, latency_ms: int | None, played_ms: float = 0.0
    ) -> None:
        self.agent_turns[seq] = {"text": text, "latency_ms": latency_ms}

    def agent_turn_finished(
        self, seq: int, *, text: str, heard_text: str, interrupted: bool
    ) -> None:
        self.agent_turns.setdefault(seq, {}).update(
            text=text, heard_text=heard_text, interrupted=interrupted
        )


class TwilioPlayout:
    """Twilio's side of the stream: plays our audio in real (virtual) time, echoes marks."""

    def __init__(self) -> None:
        self.buffer = PlayoutBuffer()
        self.session: CallSession | None = None
        self.sent_audio_ms = 0.0
        self.played_ms = 0.0
        self.clears: list[float] = []
        self.first_audio_at: list[float] = []
        self.played_at: list[float] = []  # each 20 ms tick in which audio played

    async def send_audio(self, ulaw: bytes) -> None:
        if not self.buffer.is_playing:
            self.first_audio_at.append(asyncio.get_running_loop().time())
        self.buffer.add_audio(ulaw)
        self.sent_audio_ms += len(ulaw) / 8

    async def send_mark(self, name: str) -> None:
        self.buffer.add_mark(name)

    async def clear(self) -> None:
        self.clears.append(asyncio.get_running_loop().time())
        _dropped, marks = self.buffer.clear()
        await self._echo(marks)

    async def tick(self) -> None:
        played, marks = self.buffer.tick(FRAME_MS * 8)
        self.played_ms += len(played) / 8
        if played:
            self.played_at.append(asyncio.get_running_loop().time())
        await self._echo(marks)

    async def _echo(self, marks: list[str]) -> None:
        assert self.session is not None
        for name in marks:
            await self.session.on_mark(name)


# --- a call -------------------------------------------------------------------------------------


@dataclass
class Call:
    session: CallSession
    twilio: TwilioPlayout
    chat: ScriptedChat
    transcriber: ScriptedTranscriber
    tools: ScriptedTools
    log: MemoryCallLog
    transfers: list[str]
    hangups: list[float]
    events: list[tuple[float, CallEvent]]
    keys: dict[int, str]
    start: float = 0.0

    def state_at(self, ms: int) -> AgentState:
        """The agent's state ``ms`` after the call started."""
        state = AgentState.listening
        for at, event in self.events:
            if isinstance(event, AgentStateChanged) and at - self.start <= ms / 1000.0:
                state = event.new
        return state

    def at_ms(self, kind: type) -> list[float]:
        return [round((at - self.start) * 1000) for at, e in self.events if isinstance(e, kind)]

    def of(self, kind: type) -> list[Any]:
        return [e for _, e in self.events if isinstance(e, kind)]


def make_settings(**overrides: Any) -> Settings:
    return load_settings(**overrides)


async def place_call(
    script: Sequence[Speech],
    brain: Brain,
    *,
    until_ms: int,
    keys: dict[int, str] | None = None,
    tools: dict[str, str] | None = None,
    settings: Settings | None = None,
    asr_delay_s: float = 0.1,
    first_token_s: float = 0.3,
    greeting: str = "Hello.",
    make_replier: ReplierFactory | None = None,
    end_policy: EndOfTurnPolicy | None = None,
    outbound: bool = False,
    caller_memory: CallerMemory | None = None,
    caller_number: str = "",
) -> Call:
    """Run one call for ``until_ms`` of stream time; ``keys`` maps stream ms to a DTMF key.
    ``outbound``: a call we placed, screened for voicemail by our own check."""
    loop = asyncio.get_running_loop()
    settings = settings or make_settings()
    synthesizer = ScriptedVoice()
    chat = ScriptedChat(brain, first_token_s=first_token_s)
    transcriber = ScriptedTranscriber(script, delay_s=asr_delay_s)
    toolbox = ScriptedTools(dict(tools or {}))
    call_log = MemoryCallLog()
    transfers: list[str] = []
    hangups: list[float] = []

    class Line:
        async def transfer(self, _context: StreamContext, reason: str) -> None:
            transfers.append(reason)

        async def hang_up(self, _context: StreamContext) -> None:
            hangups.append(loop.time())

    services = SessionServices(
        settings=settings,
        transcriber=transcriber,
        chat=chat,
        synthesizer=synthesizer,
        phrases=PhraseCache(synthesizer),
        recorder=None,  # type: ignore[arg-type]  # the call log below replaces it
        tools=toolbox,  # type: ignore[arg-type]
        call_control=Line(),
        warm_llm_prefix=settings.dialogue_mode == "llm",
    )
    if make_replier is not None:
        services.make_replier = make_replier
    services.caller_memory = caller_memory
    defaults = default_prompt_set()
    prompts = replace(defaults, bodies={**defaults.bodies, "greeting": greeting})
    twilio = TwilioPlayout()
    context = StreamContext(call_id="call-1", call_sid="CA1", stream_sid="MZ1", account_sid="AC1")
    session = CallSession(
        context,
        twilio,
        services,
        prompts,
        toolbox,
        listening=ScriptedListening(script, end_policy=end_policy),
        call_log=call_log,
    )
    twilio.session = session
    events: list[tuple[float, CallEvent]] = []
    session.observers.append(lambda event: events.append((loop.time(), event)))
    call = Call(
        session,
        twilio,
        chat,
        transcriber,
        toolbox,
        call_log,
        transfers,
        hangups,
        events,
        dict(keys or {}),
    )
    await session.recall_caller(caller_number)
    call.start = loop.time()
    if outbound:
        session.screen_for_voicemail()
    await session.start()
    silence = b"\xff" * (FRAME_MS * 8)
    for ms in range(0, until_ms, FRAME_MS):
        # The frame that starts at ``ms`` has fully arrived 20 ms later, as on a line.
        await asyncio.sleep(FRAME_MS / 1000.0)
        if ms in call.keys:
            await session.on_dtmf(call.keys[ms])
        await session.on_media(silence, ms)
        await twilio.tick()
    await session.on_stop("hangup")
    await asyncio.sleep(0)
    return call
