"""CallSession: one per call. Wires the stages together and owns the conversation.

States: listening (waiting for the caller), thinking (ASR/LLM working, nothing audible
yet), speaking (agent audio is playing). Inbound frames run VAD synchronously (cheap);
everything slow runs in tasks so frames keep flowing and barge-in is immediate.

The history sent to the LLM holds only what the caller heard: agent text enters it after
playout is confirmed by mark echoes, or cut to the heard prefix on barge-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import numpy as np

from callcenter.asr.base import Transcript
from callcenter.audio.g711 import ulaw_to_float
from callcenter.dialogue import escalation
from callcenter.dialogue.escalation import EscalationReason
from callcenter.dialogue.heard import SpokenUtterance
from callcenter.dialogue.inbound import InboundSpeech, Pause, Utterance
from callcenter.dialogue.prompts import PromptSet
from callcenter.dialogue.reply import ReplyResult, ReplyRunner, Speak
from callcenter.dialogue.services import SessionServices
from callcenter.dialogue.timing import TurnTiming
from callcenter.dialogue.turns import DtmfCollector, TurnPolicy
from callcenter.dialogue.voice import AgentVoice
from callcenter.llm.base import Message, ToolCallRequest
from callcenter.store import calls as call_store
from callcenter.store.models import Speaker
from callcenter.telephony.playout import PlayoutTracker
from callcenter.telephony.ports import StopReason, StreamContext, StreamOutput
from callcenter.tools.base import ToolOutcome
from callcenter.tools.context import CallContext

log = logging.getLogger(__name__)


class CallSession:
    """Implements the telephony MediaStreamHandler protocol for one call."""

    def __init__(
        self,
        context: StreamContext,
        output: StreamOutput,
        services: SessionServices,
        prompts: PromptSet,
    ) -> None:
        self.context = context
        self.call_id = context.call_id
        self.services = services
        self.settings = services.settings
        self.prompts = prompts
        self.policy = TurnPolicy.from_settings(services.settings)
        self.tracker = PlayoutTracker(output)
        self.voice = AgentVoice(
            services.synthesizer, self.tracker, services.phrases, self._on_first_audio
        )
        self.inbound = InboundSpeech(services.settings)
        self.tools_ctx = CallContext(call_id=self.call_id)
        self.dtmf = DtmfCollector()
        self.history: list[Message] = []
        self.system_prompt = prompts.render("system")

        self.state = "listening"
        self.ended = False
        self._seq = 0
        self._stream_ms = 0
        self._reply_task: asyncio.Task[None] | None = None
        self._turn_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dtmf_timer: asyncio.TimerHandle | None = None
        self._last_activity = time.monotonic()
        self._reprompts = 0
        self._low_confidence_streak = 0
        self._speech_end_wall: float | None = None
        self._first_audio_wall: float | None = None
        self._audible = False  # the current reply has sent audio
        self._barged_in = False
        self._last_user_answered = True
        self._speculative: tuple[float, asyncio.Task[Transcript]] | None = None
        self._pending_timing: TurnTiming | None = None
        self._timing = TurnTiming()
        self._first_clause_at: float | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._spawn(self._greet())
        self._spawn(self._silence_watchdog())
        self._spawn(
            self.services.chat.warm(
                [{"role": "system", "content": self.system_prompt}],
                self.services.tools.schemas(),
                session_key=self.call_id,
            )
        )

    async def on_stop(self, reason: StopReason) -> None:
        self.ended = True
        await self._cancel_reply()
        for task in list(self._tasks):
            task.cancel()
        # The edge records the call's final status; the session records what it said.
        self._record_event("stop", {"reason": reason})
        self.services.on_call_ended(self.call_id)

    # --- inbound -------------------------------------------------------------------------

    async def on_media(self, ulaw: bytes, timestamp_ms: int) -> None:
        if self.ended:
            return
        self._stream_ms = timestamp_ms
        for event in self.inbound.feed(ulaw_to_float(ulaw)):
            if isinstance(event, Pause):
                # Transcribe speculatively while endpointing waits for more silence.
                self._speculative = (event.end_ms, self._spawn(self._transcribe(event.audio)))
            elif isinstance(event, Utterance):
                self._last_activity = time.monotonic()
                # When the caller stopped talking, in wall-clock time (latency baseline).
                lag_s = max(0.0, (self.inbound.position_ms - event.end_ms) / 1000.0)
                early = None
                if self._speculative is not None and self._speculative[0] == event.end_ms:
                    early = self._speculative[1]  # same speech: reuse that transcript
                self._speculative = None
                timing = TurnTiming(endpoint_ms=lag_s * 1000.0)
                self._spawn(
                    self._on_utterance(event.audio, time.monotonic() - lag_s, early, timing)
                )
        if self.inbound.in_speech:
            self._last_activity = time.monotonic()
            if self.inbound.speech_ms >= self.policy.barge_in_min_speech_ms:
                await self._caller_is_talking()

    async def on_dtmf(self, digit: str) -> None:
        self._last_activity = time.monotonic()
        self._record_event("dtmf", {"digit": digit})
        if self._audible:
            await self._barge_in("dtmf")
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
        run = self.dtmf.press(digit)
        if run is not None:
            self._spawn(self._on_keyed(run))
        elif self.dtmf.pending:
            loop = asyncio.get_running_loop()
            self._dtmf_timer = loop.call_later(
                self.policy.dtmf_pause_ms / 1000.0, self._dtmf_timeout
            )

    def _dtmf_timeout(self) -> None:
        run = self.dtmf.take()
        if run is not None and not self.ended:
            self._spawn(self._on_keyed(run))

    async def on_mark(self, name: str) -> None:
        self.tracker.on_mark(name)

    # --- barge-in ------------------------------------------------------------------------

    async def _caller_is_talking(self) -> None:
        """The caller has spoken long enough to take the floor."""
        if self._audible and not self._barged_in:
            await self._barge_in("speech")
        elif self._reply_task is not None and not self._audible and not self._barged_in:
            # Still thinking and the caller goes on: drop the reply, merge the turns.
            self._barged_in = True
            await self._cancel_reply()

    async def _barge_in(self, cause: str) -> None:
        self._barged_in = True
        onset_ms = self._stream_ms - self.inbound.speech_ms
        await self.tracker.clear()
        reaction_ms = self._stream_ms - onset_ms if cause == "speech" else 0.0
        self.services.observe_barge_in(reaction_ms / 1000.0)
        self._record_event(
            "barge_in", {"cause": cause, "onset_ms": onset_ms, "reaction_ms": reaction_ms}
        )
        await self._cancel_reply()

    async def _cancel_reply(self) -> None:
        task = self._reply_task
        if task is None or task.done() or task is asyncio.current_task():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    # --- caller turns --------------------------------------------------------------------

    async def _transcribe(self, audio: np.ndarray) -> Transcript:
        return await self.services.transcriber.transcribe(audio, hint=self._asr_hint())

    async def _on_utterance(
        self,
        audio: np.ndarray,
        speech_end_wall: float,
        early: asyncio.Task[Transcript] | None = None,
        timing: TurnTiming | None = None,
    ) -> None:
        timing = timing or TurnTiming()
        started = time.monotonic()
        transcript: Transcript | None = None
        if early is not None:
            with contextlib.suppress(Exception):
                transcript = await early
                timing.speculative_asr = True
        if transcript is None:
            transcript = await self._transcribe(audio)
        timing.asr_ms = (time.monotonic() - started) * 1000.0
        self._pending_timing = timing
        text = transcript.text.strip()
        if not text:
            return
        await self._caller_turn(
            text, source="speech", confidence=transcript.confidence, end_wall=speech_end_wall
        )

    async def _on_keyed(self, digits: str) -> None:
        if digits == "0":  # the universal "operator" key
            await self._escalate(EscalationReason.dtmf_zero)
            return
        await self._caller_turn(
            f"(keyed on the phone) {digits}", source="dtmf", end_wall=time.monotonic()
        )

    async def _caller_turn(
        self,
        text: str,
        *,
        source: str,
        end_wall: float,
        confidence: float | None = None,
    ) -> None:
        async with self._turn_lock:
            merged = await self._take_unanswered_turn()
            self._seq += 1
            seq = self._seq
            if source == "dtmf":
                self.tools_ctx.record_dtmf(text.rsplit(" ", 1)[-1], turn_seq=seq)
            else:
                self.tools_ctx.record_caller_utterance(text, confidence=confidence, turn_seq=seq)
            content = f"{merged} {text}".strip() if merged else text
            self.history.append({"role": "user", "content": content})
            self._last_user_answered = False
            # Durability: the caller turn is committed before the LLM request answering it
            # (bounded wait: if the database is down the call goes on, the write waits).
            write = self.services.recorder.submit(
                lambda s: call_store.add_turn(
                    s,
                    call_id=self.call_id,
                    seq=seq,
                    speaker=Speaker.caller,
                    text=text,
                    source=source,
                    end_ms=self._stream_ms,
                    asr_confidence=confidence,
                ),
                "caller turn",
            )
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(write), timeout=1.0)

            reason = self._escalation_reason(text, source, confidence)
            if reason is not None:
                await self._escalate(reason)
                return
            self._speech_end_wall = end_wall
            self._start_reply()

    async def _take_unanswered_turn(self) -> str:
        """If the agent had not started answering the previous turn, merge it into this one
        (the caller paused mid-thought; one answer to both halves is what people expect)."""
        task = self._reply_task
        if task is not None and not task.done() and not self._audible:
            await self._cancel_reply()
        if not self._last_user_answered and self.history and self.history[-1]["role"] == "user":
            return str(self.history.pop()["content"])
        return ""

    def _escalation_reason(self, text: str, source: str, confidence: float | None) -> str | None:
        if source == "speech" and escalation.asks_for_human(text):
            return EscalationReason.caller_request
        if confidence is not None and confidence < self.policy.low_confidence:
            self._low_confidence_streak += 1
        else:
            self._low_confidence_streak = 0
        if self._low_confidence_streak >= self.policy.max_low_confidence_turns:
            return EscalationReason.misunderstanding
        return None

    def _asr_hint(self) -> str | None:
        last_agent = next(
            (m for m in reversed(self.history) if m["role"] == "assistant" and m.get("content")),
            None,
        )
        if last_agent is None:
            return None
        text = str(last_agent["content"]).lower()
        # Dates need month names, which digit mode does not decode.
        wants_number = ("account number", "pin", "digits")
        return "digits" if any(k in text for k in wants_number) else None

    # --- agent replies -------------------------------------------------------------------

    def _start_reply(self) -> None:
        self._barged_in = False
        self._audible = False
        self._first_audio_wall = None
        self._timing, self._pending_timing = self._pending_timing or TurnTiming(), None
        self._reply_task = asyncio.create_task(self._reply())

    async def _reply(self) -> None:
        self.state = "thinking"
        self._seq += 1
        agent_seq = self._seq
        utterance_id = f"a{agent_seq}"
        spoken = SpokenUtterance()
        result = ReplyResult()
        queue: asyncio.Queue[Speak | None] = asyncio.Queue()
        runner = ReplyRunner(
            self.services.chat,
            self.services.tools.schemas(),
            self._execute_tool,
            max_tool_rounds=self.policy.max_tool_rounds,
            tool_reply_mode=self.services.tool_reply_mode,
        )
        messages = [{"role": "system", "content": self.system_prompt}, *self.history]

        async def produce() -> None:
            try:
                await runner.run(messages, queue.put, session_key=self.call_id, result=result)
            finally:
                await queue.put(None)

        producer = asyncio.create_task(produce())
        started = False
        try:
            while (item := await queue.get()) is not None:
                if not started:
                    self.voice.begin(utterance_id)
                    started = True
                    self.state = "speaking"
                    self._timing.llm_ttft_ms = (result.first_token_s or 0.0) * 1000.0
                    self._first_clause_at = time.monotonic()
                if item.cached:
                    duration = await self.voice.say_cached(item.text)
                else:
                    duration = await self.voice.say_clause(item.text)
                spoken.add(item.text, duration)
                if spoken.clauses and len(spoken.clauses) == 1:
                    self._record_agent_turn_start(agent_seq, spoken)
            await producer  # surface LLM errors
            if started:
                await self.voice.end()
                await self.tracker.wait_played(utterance_id)
        except asyncio.CancelledError:
            producer.cancel()
            raise
        except Exception as error:
            log.exception("reply failed", extra={"call_id": self.call_id})
            producer.cancel()
            self._record_event("error", {"stage": "reply", "error": repr(error)[:300]})
            if not spoken.clauses:
                # The caller heard nothing and the model is not answering: a person will.
                result.action, result.reason = "transfer", EscalationReason.llm_unavailable
        finally:
            self._finish_agent_turn(agent_seq, utterance_id, spoken, result, started)
            self.state = "listening"
            self._last_activity = time.monotonic()
        await self._act_on(result)

    async def _act_on(self, result: ReplyResult) -> None:
        if result.action == "transfer":
            await self._escalate(result.reason or EscalationReason.model_transfer)
        elif result.action == "end_call":
            # In "say" mode the tool's own goodbye line was just spoken.
            await self._hang_up(say_goodbye=self.services.tool_reply_mode != "say")

    def _on_first_audio(self, wall: float) -> None:
        self._audible = True
        self._last_user_answered = True
        if self._first_audio_wall is None:
            self._first_audio_wall = wall
            if self._speech_end_wall is not None:
                latency_s = wall - self._speech_end_wall
                timing = self._timing
                timing.voice_to_voice_ms = latency_s * 1000.0
                if self._first_clause_at is not None:
                    timing.tts_first_audio_ms = (wall - self._first_clause_at) * 1000.0
                self.services.observe_timing(timing)
                self._record_event("turn_timing", timing.as_payload())

    def _record_agent_turn_start(self, seq: int, spoken: SpokenUtterance) -> None:
        latency_ms = (
            round((self._first_audio_wall - self._speech_end_wall) * 1000)
            if self._first_audio_wall is not None and self._speech_end_wall is not None
            else None
        )
        text = spoken.text
        self._record_nowait(
            lambda s: call_store.add_turn(
                s,
                call_id=self.call_id,
                seq=seq,
                speaker=Speaker.agent,
                text=text,
                heard_text="",
                source="tts",
                start_ms=self._stream_ms,
                latency_ms=latency_ms,
            ),
            "agent turn",
        )

    def _finish_agent_turn(
        self,
        seq: int,
        utterance_id: str,
        spoken: SpokenUtterance,
        result: ReplyResult,
        started: bool,
    ) -> None:
        # Tool calls and results are facts of the call: they stay in the history.
        self.history.extend(result.tool_messages)
        if not started:
            return
        cleared = self.tracker.was_cleared(utterance_id)
        full = spoken.text
        heard = spoken.heard_text(self.tracker.heard_ms(utterance_id)) if cleared else full
        if heard:
            self.history.append({"role": "assistant", "content": heard})
        end_ms = self._stream_ms
        self._record_nowait(
            lambda s: call_store.update_agent_turn(
                s,
                call_id=self.call_id,
                seq=seq,
                text=full,
                heard_text=heard,
                interrupted=cleared,
                end_ms=end_ms,
            ),
            "agent turn end",
        )

    async def _execute_tool(self, request: ToolCallRequest) -> ToolOutcome:
        return await self.services.tools.execute(self.tools_ctx, request, turn_seq=self._seq)

    # --- fixed lines: greeting, re-prompts, hand-off, goodbye -------------------------------

    async def _say_line(self, name: str, *, wait: bool = True) -> None:
        text = self.prompts.render(name)
        if not text:
            return
        self._first_clause_at = time.monotonic()
        self._seq += 1
        seq = self._seq
        utterance_id = f"a{seq}"
        spoken = SpokenUtterance()
        self._audible = False
        self.voice.begin(utterance_id)
        self.state = "speaking"
        try:
            duration = await self.voice.say_cached(text)
            spoken.add(text, duration)
            self._record_agent_turn_start(seq, spoken)
            await self.voice.end()
            if wait:
                await self.tracker.wait_played(utterance_id)
        finally:
            self._finish_agent_turn(seq, utterance_id, spoken, ReplyResult(), True)
            self.state = "listening"
            self._last_activity = time.monotonic()

    async def _greet(self) -> None:
        self._reply_task = asyncio.current_task()
        self._speech_end_wall = None
        await self._say_line("greeting")

    async def _silence_watchdog(self) -> None:
        while not self.ended:
            await asyncio.sleep(0.25)
            idle = time.monotonic() - self._last_activity
            busy = (
                self.state != "listening"
                or self.inbound.in_speech
                or (self._reply_task is not None and not self._reply_task.done())
                or self._turn_lock.locked()
            )
            if busy or idle < self.policy.silence_reprompt_s:
                continue
            if self._reprompts >= self.policy.silence_max_reprompts:
                await self._say_line("silence_goodbye")
                await self._hang_up(say_goodbye=False)
                return
            self._reprompts += 1
            self._record_event("reprompt", {"count": self._reprompts})
            await self._say_line("reprompt")

    # --- leaving the call ------------------------------------------------------------------

    async def _escalate(self, reason: str) -> None:
        if self.ended:
            return
        await self._cancel_reply()
        self._record_event("escalation", {"reason": reason})
        await self._say_line("handoff_line")
        await self.services.transfer(self.context, self.tools_ctx, reason)
        self.ended = True

    async def _hang_up(self, *, say_goodbye: bool) -> None:
        if self.ended:
            return
        if say_goodbye:
            await self._say_line("goodbye")
        self.ended = True
        await self.services.hang_up(self.context)

    # --- recording -------------------------------------------------------------------------

    def _record_event(self, kind: str, payload: dict[str, Any]) -> None:
        at_ms = self._stream_ms
        self._record_nowait(
            lambda s: call_store.add_event(
                s, call_id=self.call_id, kind=kind, payload=payload, at_ms=at_ms
            ),
            kind,
        )

    def _record_nowait(self, op: Any, label: str) -> None:
        try:
            self.services.recorder.submit(op, label)
        except Exception:
            log.exception("could not queue %s", label, extra={"call_id": self.call_id})

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task failed: %r", task.exception(), extra={"call_id": self.call_id})
