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
from callcenter.dialogue.flows import FlowReplier, make_flow_replier
from callcenter.dialogue.guard import SAFE_LINE, mentions_internals, unverified_leak
from callcenter.dialogue.heard import SpokenClause, SpokenUtterance
from callcenter.dialogue.inbound import InboundSpeech, Pause, Utterance
from callcenter.dialogue.prompts import PromptSet, backchannel_lines, is_acknowledgement
from callcenter.dialogue.reply import ReplyResult, ReplyRunner, Speak
from callcenter.dialogue.services import SessionServices, ToolBox
from callcenter.dialogue.speculation import Speculation
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
        tools: ToolBox | None = None,
    ) -> None:
        self.context = context
        self.call_id = context.call_id
        self.services = services
        self.settings = services.settings
        self.prompts = prompts
        # The call keeps the prompt versions it started with, so these never change.
        self._backchannels = backchannel_lines(prompts)
        self.tools: ToolBox = tools or services.tools
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
        self._spec: Speculation | None = None
        self._reply_gate: asyncio.Event | None = None
        self._pending_timing: TurnTiming | None = None
        self._timing = TurnTiming()
        self._first_clause_at: float | None = None
        # Task flows run the conversation (CALLCENTER_DIALOGUE_MODE=flows); None = the LLM.
        self.flows: FlowReplier | None = None
        if self.settings.dialogue_mode == "flows":
            self.flows = make_flow_replier(
                settings=self.settings,
                prompts=prompts,
                chat=services.chat,
                ctx=self.tools_ctx,
                execute_tool=self._execute_tool,
                record_event=self._record_event,
            )

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._spawn(self._greet())
        self._spawn(self._silence_watchdog())
        if self.flows is None:  # flows never send the system prompt to the model
            self._spawn(
                self.services.chat.warm(
                    [{"role": "system", "content": self.system_prompt}],
                    self.tools.schemas(),
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
            # When the caller stopped talking, in wall-clock time (the latency baseline).
            lag_s = max(0.0, (self.inbound.position_ms - event.end_ms) / 1000.0)
            end_wall = time.monotonic() - lag_s
            if isinstance(event, Pause):
                self._speculate(event, end_wall)
            elif isinstance(event, Utterance):
                self._last_activity = time.monotonic()
                spec = self._spec
                if spec is not None and spec.end_ms == event.end_ms:
                    self._confirm_speculation(spec, lag_s)
                else:
                    self._abandon_speculation()
                    timing = TurnTiming(endpoint_ms=lag_s * 1000.0)
                    self._spawn(self._on_utterance(event.audio, end_wall, timing))
        if self.inbound.in_speech:
            self._last_activity = time.monotonic()
            if self._spec is not None:
                self._abandon_speculation()  # the caller only paused: start over
            if self.inbound.speech_ms >= self.policy.barge_in_min_speech_ms:
                await self._caller_is_talking()

    # --- speculation: answer during the endpointing silence ------------------------------

    def _speculate(self, pause: Pause, end_wall: float) -> None:
        """The caller went quiet. Transcribe now and start the reply, but hold everything
        with an effect (audio to Twilio, tool calls) behind a gate that opens only when
        the endpointer confirms the turn is over; if the caller goes on, drop it all."""
        self._abandon_speculation()
        spec = Speculation(end_ms=pause.end_ms, end_wall=end_wall)
        spec.task = self._spawn(self._run_speculation(spec, pause.audio))
        self._spec = spec

    async def _run_speculation(self, spec: Speculation, audio: np.ndarray) -> None:
        transcript = await self._transcribe(audio)
        spec.transcript_ready = time.monotonic()
        if spec.confirmed_at is not None:
            spec.timing.asr_ms = (spec.transcript_ready - spec.confirmed_at) * 1000.0
        text = transcript.text.strip()
        if not text:
            return
        self._pending_timing = spec.timing
        await self._caller_turn(
            text,
            source="speech",
            confidence=transcript.confidence,
            end_wall=spec.end_wall,
            speculation=spec,
        )

    def _confirm_speculation(self, spec: Speculation, lag_s: float) -> None:
        self._spec = None
        spec.confirmed_at = time.monotonic()
        spec.timing.endpoint_ms = lag_s * 1000.0
        spec.timing.speculative_asr = True
        if spec.transcript_ready is not None:
            spec.timing.asr_ms = 0.0  # ready before the endpoint: ASR cost no latency
        spec.gate.set()

    def _abandon_speculation(self) -> None:
        spec, self._spec = self._spec, None
        if spec is None or spec.confirmed_at is not None:
            return
        spec.abandoned = True
        if spec.task is not None:
            spec.task.cancel()
        if self._reply_gate is spec.gate and self._reply_task is not None:
            self._reply_task.cancel()  # gated: nothing was heard, no tool ran
        if spec.seq is not None:
            self._forget_caller_turn(spec)

    def _forget_caller_turn(self, spec: Speculation) -> None:
        if spec.history_entry is not None and spec.history_entry in self.history:
            self.history.remove(spec.history_entry)
            if spec.merged:
                # What this turn had absorbed goes back, to be merged into the next one.
                self.history.append({"role": "user", "content": spec.merged})
        inputs = self.tools_ctx.inputs
        if inputs and inputs[-1].turn_seq == spec.seq:
            inputs.pop()
        seq = spec.seq
        self._record_nowait(
            lambda s: call_store.delete_turn(s, call_id=self.call_id, seq=seq or 0),
            "speculative turn dropped",
        )

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
        # Stop the reply before the clear goes out: while the clear is being sent the
        # reply must not get to send another chunk of audio.
        task = self._live_reply_task()
        if task is not None:
            task.cancel()
        await self.tracker.clear()
        reaction_ms = self._stream_ms - onset_ms if cause == "speech" else 0.0
        self.services.observe_barge_in(reaction_ms / 1000.0)
        self._record_event(
            "barge_in", {"cause": cause, "onset_ms": onset_ms, "reaction_ms": reaction_ms}
        )
        await self._cancel_reply()

    async def _supersede_reply(self) -> None:
        """A new caller turn is about to be answered: whatever the agent was still doing
        stops first (one reply at a time owns the audio). If it was still talking, the
        caller spoke over it: that is a barge-in, so only what was heard is kept."""
        if self._live_reply_task() is None:
            return
        if self._audible and not self._barged_in:
            await self._barge_in("turn")
        else:
            await self._cancel_reply()

    def _live_reply_task(self) -> asyncio.Task[None] | None:
        """The reply still running, unless it is the caller of this (it cannot wait on
        itself)."""
        task = self._reply_task
        if task is None or task.done() or task is asyncio.current_task():
            return None
        return task

    async def _cancel_reply(self) -> None:
        task = self._live_reply_task()
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    # --- caller turns --------------------------------------------------------------------

    async def _transcribe(self, audio: np.ndarray) -> Transcript:
        return await self.services.transcriber.transcribe(audio, hint=self._asr_hint())

    async def _on_utterance(
        self, audio: np.ndarray, speech_end_wall: float, timing: TurnTiming
    ) -> None:
        started = time.monotonic()
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
        speculation: Speculation | None = None,
    ) -> None:
        async with self._turn_lock:
            if speculation is not None and speculation.abandoned:
                return
            merged = await self._take_unanswered_turn()
            self._seq += 1
            seq = self._seq
            if source == "dtmf":
                self.tools_ctx.record_dtmf(text.rsplit(" ", 1)[-1], turn_seq=seq)
            else:
                self.tools_ctx.record_caller_utterance(text, confidence=confidence, turn_seq=seq)
            content = f"{merged} {text}".strip() if merged else text
            entry: dict[str, Any] = {"role": "user", "content": content}
            self.history.append(entry)
            self._last_user_answered = False
            if speculation is not None:
                speculation.seq, speculation.history_entry = seq, entry
                speculation.merged = merged
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

            gate = speculation.gate if speculation is not None else None
            reason = self._escalation_reason(text, source, confidence)
            if reason is not None:
                if gate is not None:
                    await gate.wait()  # escalate only once the turn is really over
                await self._escalate(reason)
                return
            self._speech_end_wall = end_wall
            await self._supersede_reply()
            self._start_reply(gate)

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
        if self.flows is not None:
            return self.flows.asr_hint()
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

    def _start_reply(self, gate: asyncio.Event | None = None) -> None:
        self._reply_gate = gate
        self._first_clause_at = None
        self._barged_in = False
        self._audible = False
        self._first_audio_wall = None
        self._timing, self._pending_timing = self._pending_timing or TurnTiming(), None
        self._timing.reply_started_at = time.monotonic()
        self._reply_task = asyncio.create_task(self._reply())

    async def _reply(self) -> None:
        gate = self._reply_gate
        self.state = "thinking"
        self._seq += 1
        agent_seq = self._seq
        utterance_id = f"a{agent_seq}"
        spoken = SpokenUtterance()
        result = ReplyResult()
        queue: asyncio.Queue[Speak | None] = asyncio.Queue()
        runner = ReplyRunner(
            self.services.chat,
            self.tools.schemas(),
            self._execute_tool,
            max_tool_rounds=self.policy.max_tool_rounds,
            tool_reply_mode=self.services.tool_reply_mode,
            before_tools=self._wait_for_turn_confirmed,
            filler=self.prompts.render("filler"),
        )
        messages = [{"role": "system", "content": self.system_prompt}, *self.history]

        async def produce() -> None:
            try:
                if self.flows is not None:
                    await self.flows.run(
                        messages,
                        queue.put,
                        session_key=self.call_id,
                        result=result,
                        before_effects=self._wait_for_turn_confirmed,
                    )
                else:
                    await runner.run(messages, queue.put, session_key=self.call_id, result=result)
            finally:
                await queue.put(None)

        producer = asyncio.create_task(produce())
        self.voice.begin(utterance_id, gate=gate)
        started = True
        first_item = True
        guarded = False
        recorded = False
        model_spoke = False
        backchannel = self._spawn(self._backchannel(gate, spoken))
        try:
            while (item := await queue.get()) is not None:
                if first_item:
                    first_item = False
                    self.state = "speaking"
                    self._timing.llm_ttft_ms = (result.first_token_s or 0.0) * 1000.0
                    self._first_clause_at = time.monotonic()
                if item.from_model and not model_spoke:
                    model_spoke = True
                    acknowledged = self.voice.acknowledged
                    if acknowledged and is_acknowledgement(item.text, self._backchannels):
                        # The backchannel already acknowledged; "Okay. Sure." sounds canned.
                        self._record_event("dropped_acknowledgement", {"clause": item.text})
                        continue
                if item.cached:
                    duration = await self.voice.say_cached(item.text)
                elif item.from_model and (
                    unverified_leak(item.text, self.tools_ctx) or mentions_internals(item.text)
                ):
                    if guarded:
                        continue  # one safe line is enough; drop the rest of the claim
                    guarded = True
                    self._record_event("guarded", {"clause": "[withheld]"})
                    item = Speak(SAFE_LINE)
                    duration = await self.voice.say_clause(item.text)
                else:
                    duration = await self.voice.say_clause(item.text)
                spoken.add(item.text, duration)
                if not recorded:
                    recorded = True
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
            backchannel.cancel()
            if started:
                self.tracker.abandon()  # closes it if nothing was sent
                if self.tracker.has_open_utterance:
                    # Cancelled after some audio (a backchannel) went out: close the
                    # utterance so its final mark tells when that audio has played.
                    await asyncio.shield(self.voice.end())
            self._finish_agent_turn(agent_seq, utterance_id, spoken, result, started)
            self.state = "listening"
            self._last_activity = time.monotonic()
        await self._act_on(result)

    async def _backchannel(self, gate: asyncio.Event | None, spoken: SpokenUtterance) -> None:
        """If the answer is not ready soon after the turn ended, acknowledge it ("Okay.")
        so the caller is not left in silence; it is part of what the caller heard."""
        delay_ms = self.settings.backchannel_after_ms
        lines = self._backchannels
        if delay_ms <= 0 or not lines:
            return
        # Rotate: the same "Okay." before every answer sounds like a machine.
        line = lines[self._seq % len(lines)]
        if gate is not None:
            await gate.wait()
        await asyncio.sleep(delay_ms / 1000.0)
        if self.voice.sent_anything:
            return
        duration = await self.voice.say_backchannel(line)
        if duration is not None:
            spoken.clauses.insert(0, SpokenClause(line, duration))
            self._timing.backchannel = True

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
                timing.tts_first_audio_ms = None  # set with the answer's first audio
                timing.speech_end_at = self._speech_end_wall
                self._spawn(self._note_first_answer(timing))

    async def _note_first_answer(self, timing: TurnTiming) -> None:
        """When the answer itself (not a backchannel) started; then the turn's timing is
        complete and goes to the call events, the metrics and the trace."""
        for _ in range(200):
            if self.voice.first_answer_wall is not None or self.ended:
                break
            await asyncio.sleep(0.05)
        answer = self.voice.first_answer_wall
        if answer is not None and timing.speech_end_at is not None:
            timing.first_answer_ms = (answer - timing.speech_end_at) * 1000
            if self._first_clause_at is not None and self._first_clause_at <= answer:
                timing.tts_first_audio_ms = (answer - self._first_clause_at) * 1000
        self._record_event("turn_timing", timing.as_payload())
        self.services.observe_timing(self.call_id, timing)

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

    async def _wait_for_turn_confirmed(self) -> None:
        if self._reply_gate is not None:
            await self._reply_gate.wait()  # no side effect before the turn is confirmed

    async def _execute_tool(self, request: ToolCallRequest) -> ToolOutcome:
        return await self.tools.execute(self.tools_ctx, request, turn_seq=self._seq)

    # --- fixed lines: greeting, re-prompts, hand-off, goodbye -------------------------------

    async def _say_line(self, name: str, *, wait: bool = True, text: str | None = None) -> None:
        text = text or self.prompts.render(name)
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
                or self.inbound.in_turn
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
            # A flow waiting for an answer asks its question again instead.
            pending = self.flows.reprompt() if self.flows is not None else None
            await self._say_line("reprompt", text=pending)

    # --- leaving the call ------------------------------------------------------------------

    async def hand_off(self, reason: str) -> None:
        """Hand the live call to a human now, from outside (graceful shutdown)."""
        await self._escalate(reason)

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
