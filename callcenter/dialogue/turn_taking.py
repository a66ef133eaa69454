"""Turn-taking: who has the floor, and what a caller turn leads to.

Owns the rules between "the caller said something" and "the agent answers": merging a turn
the agent had not started answering into the next one, collecting keyed digits (a run ends
with '#' or a pause; '0' alone asks for a person), escalating on a request for a person or
on repeated low-confidence transcripts, and re-prompting (then hanging up) on silence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, Protocol

import numpy as np

from callcenter.asr.base import Transcript
from callcenter.dialogue.call_log import CallLog
from callcenter.dialogue.conversation import Conversation
from callcenter.dialogue.escalation import EscalationReason
from callcenter.dialogue.events import CallerText, CallerTurnEnded, CallEvent
from callcenter.dialogue.speculation import Speculation
from callcenter.dialogue.turns import DtmfCollector, TurnPolicy
from callcenter.text.requests import asks_for_human
from callcenter.tools.context import CallContext
from callcenter.turn_timing import TurnTiming

log = logging.getLogger(__name__)


class TurnHost(Protocol):
    ended: bool

    @property
    def busy(self) -> bool:
        """The agent is thinking or speaking, or the caller is mid-turn."""

    async def transcribe(self, audio: np.ndarray) -> Transcript: ...

    async def stop_unheard_reply(self) -> None:
        """Stop a reply the caller has heard nothing of yet (its turn gets merged)."""

    async def answer(
        self, said: CallerText, timing: TurnTiming, gate: asyncio.Event | None
    ) -> None:
        """Start the agent's reply to the caller turn just recorded."""

    async def escalate(self, reason: str) -> None: ...

    async def caller_request(self, said: CallerText, gate: asyncio.Event | None) -> bool:
        """Answer a request about the call itself (slower, repeat, keypad); True = it was
        one, and the turn needs no other answer."""

    def forget_mood(self, seq: int) -> None:
        """Speculative caller turn ``seq`` was taken back: so is its mood reading, if any."""

    def frustrated(self, said: CallerText, seq: int) -> bool:
        """Hear the caller's mood in turn ``seq``; True = frustrated enough for a person."""

    async def say_line(self, name: str) -> None: ...

    async def hang_up(self) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...

    def emit(self, event: CallEvent) -> None: ...


class TurnTaking:
    def __init__(
        self,
        host: TurnHost,
        policy: TurnPolicy,
        conversation: Conversation,
        tools_ctx: CallContext,
        call_log: CallLog,
    ) -> None:
        self._host = host
        self._policy = policy
        self._conversation = conversation
        self._tools_ctx = tools_ctx
        self._log = call_log
        self._lock = asyncio.Lock()
        self._dtmf = DtmfCollector()
        self._dtmf_timer: asyncio.TimerHandle | None = None
        self._last_activity = _now()
        self._reprompts = 0
        self._low_confidence_streak = 0
        self._silence_s = policy.silence_reprompt_s

    def take_time(self, patient: bool) -> None:
        """The caller asked for time (or uses the keypad): a longer silence before a
        re-prompt, for the rest of the call."""
        limit = self._policy.patient_silence_s if patient else self._policy.silence_reprompt_s
        self._silence_s = max(limit, self._policy.silence_reprompt_s)

    def activity(self) -> None:
        """The caller or the agent did something: the silence clock starts over."""
        self._last_activity = _now()

    @property
    def deciding(self) -> bool:
        return self._lock.locked()

    # --- caller turns ------------------------------------------------------------------

    async def turn_ended(self, ended: CallerTurnEnded) -> None:
        """A caller turn nobody speculated on: transcribe it, then handle it."""
        started = _now()
        transcript = await self._host.transcribe(ended.audio)
        timing = TurnTiming(endpoint_ms=ended.lag_s * 1000.0)
        timing.asr_ms = (_now() - started) * 1000.0
        text = transcript.text.strip()
        log.debug("turn end heard %r", text)
        if text:
            said = CallerText(text, "speech", ended.end_wall, transcript.confidence)
            await self.caller_said(said, timing, None)

    async def caller_said(
        self, said: CallerText, timing: TurnTiming, speculation: Speculation | None
    ) -> None:
        async with self._lock:
            if speculation is not None and speculation.abandoned:
                log.debug("caller words %r dropped: their speculation was abandoned", said.text)
                return
            self._host.emit(said)
            # The caller is back: a later silence starts its re-prompts from the first,
            # so a caller slow to answer twice in a call is not hung up on.
            self._reprompts = 0
            await self._host.stop_unheard_reply()
            merged = self._conversation.take_unanswered()
            seq = self._conversation.next_seq()
            if said.source == "dtmf":
                self._tools_ctx.record_dtmf(said.text.rsplit(" ", 1)[-1], turn_seq=seq)
            else:
                self._tools_ctx.record_caller_utterance(
                    said.text, confidence=said.confidence, turn_seq=seq
                )
            entry = self._conversation.add_caller(f"{merged} {said.text}".strip())
            if speculation is not None:
                speculation.seq, speculation.history_entry = seq, entry
                speculation.merged = merged
            await self._log.caller_turn(
                seq, said.text, source=said.source, confidence=said.confidence
            )
            gate = speculation.gate if speculation is not None else None
            # "Slower", "say that again", a star code: about the call, not the task.
            if await self._host.caller_request(said, gate):
                return
            reason = self._escalation_reason(said, seq)
            if reason is not None:
                if gate is not None:
                    await gate.wait()  # escalate only once the turn is really over
                await self._host.escalate(reason)
                return
            await self._host.answer(said, timing, gate)

    def take_back(self, speculation: Speculation) -> None:
        """A speculative caller turn was recorded, then the caller went on: undo it."""
        if speculation.seq is None:
            return
        if speculation.history_entry is not None:
            self._conversation.take_back(speculation.history_entry, speculation.merged)
        inputs = self._tools_ctx.inputs
        if inputs and inputs[-1].turn_seq == speculation.seq:
            inputs.pop()
        self._log.drop_turn(speculation.seq)
        self._host.forget_mood(speculation.seq)

    def _escalation_reason(self, said: CallerText, seq: int) -> str | None:
        if said.source == "speech" and asks_for_human(said.text):
            return EscalationReason.caller_request
        if said.source == "speech" and self._host.frustrated(said, seq):
            return EscalationReason.frustration
        if said.confidence is not None and said.confidence < self._policy.low_confidence:
            self._low_confidence_streak += 1
        else:
            self._low_confidence_streak = 0
        if self._low_confidence_streak >= self._policy.max_low_confidence_turns:
            return EscalationReason.misunderstanding
        return None

    # --- keyed digits ------------------------------------------------------------------

    @property
    def keying(self) -> bool:
        """Keys pressed and not yet taken as a turn (a number being keyed in)."""
        return bool(self._dtmf.pending)

    def key_pressed(self, digit: str) -> None:
        self.activity()
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
        run = self._dtmf.press(digit)
        if run is not None:
            self._host.spawn(self._keyed(run))
        elif self._dtmf.pending:
            loop = asyncio.get_running_loop()
            self._dtmf_timer = loop.call_later(
                self._policy.dtmf_pause_ms / 1000.0, self._dtmf_pause
            )

    def _dtmf_pause(self) -> None:
        run = self._dtmf.take()
        if run is not None and not self._host.ended:
            self._host.spawn(self._keyed(run))

    async def _keyed(self, digits: str) -> None:
        if digits == "0":  # the universal "operator" key
            await self._host.escalate(EscalationReason.dtmf_zero)
            return
        said = CallerText(f"(keyed on the phone) {digits}", "dtmf", _now())
        await self.caller_said(said, TurnTiming(), None)

    # --- silence -----------------------------------------------------------------------

    async def watch_silence(self, poll_s: float = 0.25) -> None:
        """Re-prompt a silent caller, then say goodbye and hang up."""
        while not self._host.ended:
            await asyncio.sleep(poll_s)
            idle = _now() - self._last_activity
            if self._host.busy or self.deciding or idle < self._silence_s:
                continue
            if self._reprompts >= self._policy.silence_max_reprompts:
                await self._host.say_line("silence_goodbye")
                await self._host.hang_up()
                return
            self._reprompts += 1
            log.debug("re-prompt after %.1f s of silence", idle)
            self._log.event("reprompt", {"count": self._reprompts})
            await self._host.say_line("reprompt")


def _now() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:  # built outside the loop (tests): the same clock
        return time.monotonic()
