"""Replying: turn a caller turn into what the agent says, and say it.

The words come from a per-call :class:`Replier` (the LLM with tools by default; task flows
plug in here) and go through the voice stage clause by clause while the replier is still
producing. The stage also speaks fixed lines (greeting, re-prompt, hand-off, goodbye) and
closes each :class:`AgentTurn`: what the caller heard goes into the history and the store.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from callcenter.dialogue.agent_turn import AgentTurn
from callcenter.dialogue.call_log import CallLog
from callcenter.dialogue.conversation import Conversation
from callcenter.dialogue.escalation import EscalationReason
from callcenter.dialogue.events import AgentClause, AgentState, CallEvent, PlaybackFinished
from callcenter.dialogue.guard import unverified_leak
from callcenter.dialogue.language import CallLanguage
from callcenter.dialogue.ports import ToolBox
from callcenter.dialogue.preferences import CallPreferences
from callcenter.dialogue.prompts import PromptSet
from callcenter.dialogue.reply import ItemSink, ReplyResult, ReplyRunner, Speak
from callcenter.dialogue.voice import AgentVoice
from callcenter.llm.base import ChatModel, Message
from callcenter.settings import Settings
from callcenter.store.prompts import KNOWLEDGE_PREFIX
from callcenter.tools.base import ToolCall, ToolOutcome
from callcenter.tools.context import CallContext
from callcenter.turn_timing import TurnTiming

log = logging.getLogger(__name__)


class Replier(Protocol):
    """Produces one reply per caller turn. One instance per call."""

    async def run(
        self,
        messages: Sequence[Message],
        speak: ItemSink,
        *,
        session_key: str,
        result: ReplyResult,
        before_effects: Callable[[], Awaitable[None]],
    ) -> None:
        """Say the reply through ``speak``; nothing with an effect (a tool call) may run
        before ``before_effects`` returns (the caller turn may still be speculative)."""

    def asr_hint(self) -> str | None:
        """The slot the agent waits for ("digits", "date", "yes_no") or None."""

    def answers(self, text: str) -> bool:
        """The words are a whole answer to the question the agent waits on (a slot value
        its exact parser reads, a clear yes or no): a pause after them ends the turn."""

    def reprompt(self) -> str | None:
        """After the caller's silence: the pending question asked again, or None for the
        generic re-prompt line."""

    def pending_question(self) -> str | None:
        """The question the agent waits on, as it would ask it now (said again after
        "Take your time." or "repeat"), or None."""


@dataclass
class CallScope:
    """What a per-call replier may use."""

    chat: ChatModel
    settings: Settings
    call_id: str
    prompts: PromptSet
    tools: ToolBox
    tools_ctx: CallContext
    conversation: Conversation
    # Where a replier records its decisions (task flows log each understanding).
    call_log: CallLog
    # The caller's frustration so far (dialogue/mood.py): task flows speak softer lines.
    frustration: Callable[[], float] = lambda: 0.0
    # What the caller asked of the call (keypad prompts, pace), shared with the session.
    preferences: CallPreferences = field(default_factory=CallPreferences)
    # The call's language (multilingual deployments; None = the default language only).
    language: CallLanguage | None = None


ReplierFactory = Callable[[CallScope], Replier]

# The agent asked for digits (account number, PIN): the ASR decodes them more exactly in
# digits mode. Whole words only: "shipping" does not ask for a PIN. Dates need month
# names, which digits mode does not decode.
_WANTS_DIGITS = re.compile(r"\b(account number|pin|digits)\b")


def llm_replier(scope: CallScope) -> Replier:
    async def execute(request: ToolCall) -> ToolOutcome:
        return await scope.tools.execute(scope.tools_ctx, request, turn_seq=scope.conversation.seq)

    def asr_hint() -> str | None:
        text = scope.conversation.last_agent_text()
        return "digits" if text and _WANTS_DIGITS.search(text.lower()) else None

    # The knowledge-base articles the call started with: numbers in them are grounded.
    articles = [
        scope.prompts.render(name)
        for name in sorted(scope.prompts.bodies)
        if name.startswith(KNOWLEDGE_PREFIX)
    ]

    def guarded() -> None:
        scope.call_log.event("guarded", {"clause": "[withheld]", "why": "ungrounded"})

    return ReplyRunner(
        scope.chat,
        scope.tools.schemas(),
        execute,
        filler=scope.prompts.render("filler"),
        asr_hint=asr_hint,
        grounding=lambda: articles,
        on_guarded=guarded,
        leaves_to_voice=lambda clause: unverified_leak(clause, scope.tools_ctx),
    )


class ReplyingHost(Protocol):
    call_id: str
    ended: bool

    def set_state(self, state: AgentState) -> None: ...

    def emit(self, event: CallEvent) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...

    async def act_on(self, result: ReplyResult) -> None:
        """Transfer or hang up when the reply decided so."""


class Replying:
    def __init__(
        self,
        host: ReplyingHost,
        replier: Replier,
        voice: AgentVoice,
        conversation: Conversation,
        call_log: CallLog,
        *,
        system_prompt: str,
        backchannel_after_ms: int,
    ) -> None:
        self._host = host
        self.replier = replier
        self._voice = voice
        self._conversation = conversation
        self._log = call_log
        self._system_prompt = system_prompt
        self._backchannel_after_ms = backchannel_after_ms

    async def reply(self, turn: AgentTurn) -> None:
        """Run the replier for ``turn`` and speak what it produces until it has played."""
        host, voice, result = self._host, self._voice, turn.result
        host.set_state(AgentState.thinking)
        queue: asyncio.Queue[Speak | None] = asyncio.Queue()

        async def produce() -> None:
            try:
                await self.replier.run(
                    self._conversation.messages(self._system_prompt),
                    queue.put,
                    session_key=host.call_id,
                    result=result,
                    before_effects=turn.confirmed,
                )
            finally:
                await queue.put(None)

        producer = asyncio.create_task(produce())
        voice.begin(turn)
        backchannel = host.spawn(voice.backchannel(turn, self._backchannel_after_ms))
        try:
            while (item := await queue.get()) is not None:
                if turn.first_clause_at is None:
                    host.set_state(AgentState.speaking)
                    turn.timing.llm_ttft_ms = (result.first_token_s or 0.0) * 1000.0
                    turn.first_clause_at = _now()
                said = await voice.speak(item)
                if said is not None:
                    self._said(turn, *said)
            await producer  # surface the replier's errors
            await voice.end()
            await turn.wait_played()
        except asyncio.CancelledError:
            producer.cancel()
            # Audio goes out in real time: a clause cut while being sent was partly
            # heard, so it belongs to the turn (its heard part is kept by the marks).
            partial = voice.take_partial()
            if partial is not None:
                self._said(turn, *partial)
            raise
        except Exception as error:
            log.exception("reply failed", extra={"call_id": host.call_id})
            producer.cancel()
            self._log.event("error", {"stage": "reply", "error": repr(error)[:300]})
            if not turn.spoken.clauses:
                # The caller heard nothing and the model is not answering: a person will.
                result.action, result.reason = "transfer", EscalationReason.llm_unavailable
        finally:
            backchannel.cancel()
            await self._close(turn)
        await host.act_on(result)

    async def say_line(
        self, turn: AgentTurn, text: str, also: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Say a fixed line from the phrase cache and wait until it has played.
        ``also``: (language, line) said after it, each in its language's voice (the
        greeting's keypad language offers)."""
        await self.say_parts(turn, [(text, True)], spoken_in=also)

    async def say_parts(
        self,
        turn: AgentTurn,
        parts: Sequence[tuple[str, bool]],
        spoken_in: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Say sentences in order, each from the phrase cache when fixed (else synthesised
        now: it may hold account values), then the fixed ``spoken_in`` lines in their own
        languages' voices, and wait until they have played."""
        turn.first_clause_at = _now()
        self._voice.begin(turn)
        self._host.set_state(AgentState.speaking)
        voice = self._voice
        # Every sentence with a value is synthesised ahead, so none waits for the TTS
        # while the one before it plays (no silent gap between them).
        ahead = {
            index: asyncio.ensure_future(voice.render(text))
            for index, (text, fixed) in enumerate(parts)
            if not fixed
        }
        try:
            for index, (text, fixed) in enumerate(parts):
                if fixed:
                    duration = await voice.say_cached(text)
                else:
                    duration = await voice.say_rendered(await ahead[index])
                self._said(turn, text, duration)
            for language, text in spoken_in:
                self._said(turn, text, await voice.say_cached(text, language))
            await self._voice.end()
            await turn.wait_played()
        finally:
            for task in ahead.values():
                task.cancel()
            await self._close(turn)

    async def note_timing(
        self, turn: AgentTurn, observe: Callable[[str, TurnTiming], None]
    ) -> None:
        """When the answer itself (not a backchannel) started; then the turn's timing is
        complete and goes to the call events, the metrics and the trace."""
        timing = turn.timing
        assert turn.first_audio_wall is not None and turn.speech_end_wall is not None
        timing.voice_to_voice_ms = (turn.first_audio_wall - turn.speech_end_wall) * 1000.0
        timing.tts_first_audio_ms = None  # set with the answer's first audio
        timing.speech_end_at = turn.speech_end_wall
        for _ in range(200):
            if turn.first_answer_wall is not None or self._host.ended:
                break
            await asyncio.sleep(0.05)
        answer = turn.first_answer_wall
        if answer is not None:
            timing.first_answer_ms = (answer - turn.speech_end_wall) * 1000
            if turn.first_clause_at is not None and turn.first_clause_at <= answer:
                timing.tts_first_audio_ms = (answer - turn.first_clause_at) * 1000
        self._log.event("turn_timing", timing.as_payload())
        observe(self._host.call_id, timing)

    def _said(self, turn: AgentTurn, text: str, duration_ms: float) -> None:
        turn.spoken.add(text, duration_ms)
        self._host.emit(AgentClause(turn.id, text))
        if not turn.recorded:
            turn.recorded = True
            latency_ms = (
                round((turn.first_audio_wall - turn.speech_end_wall) * 1000)
                if turn.first_audio_wall is not None and turn.speech_end_wall is not None
                else None
            )
            # Recorded once its first clause has gone out (in real time): the turn started
            # on the stream's timeline when its first audio did, a backchannel ("Okay.")
            # and the wait after it included.
            played_ms = (
                (asyncio.get_running_loop().time() - turn.first_audio_wall) * 1000.0
                if turn.first_audio_wall is not None
                else duration_ms
            )
            self._log.agent_turn_started(
                turn.seq, turn.spoken.text, latency_ms=latency_ms, played_ms=played_ms
            )

    async def _close(self, turn: AgentTurn) -> None:
        """The turn is over: record what the caller heard of it."""
        playout = self._voice.playout
        playout.abandon()  # closes it if nothing was sent
        if playout.has_open_utterance:
            # Cancelled after some audio (a backchannel) went out: close the utterance so
            # its final mark tells when that audio has played.
            await asyncio.shield(self._voice.end())
        # Tool calls and results are facts of the call: they stay in the history.
        self._conversation.history.extend(turn.result.tool_messages)
        cleared, full, heard = turn.cleared, turn.spoken.text, turn.heard_text
        self._conversation.add_heard(heard)
        self._log.agent_turn_finished(turn.seq, text=full, heard_text=heard, interrupted=cleared)
        turn.finish()
        self._host.emit(PlaybackFinished(turn.id, cleared, heard, full))
        self._host.set_state(AgentState.listening)


def _now() -> float:
    return asyncio.get_running_loop().time()
