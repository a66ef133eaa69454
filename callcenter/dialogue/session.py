"""CallSession: one per call. Builds the stages and routes the events between them.

listening -> speculation / turn-taking -> replying -> voice -> playout; each agent
utterance is an :class:`AgentTurn`, and the :class:`Floor` says which one owns the audio.
The session owns only what spans the stages: the agent state, the call's tasks and
leaving the call. Inbound frames run the VAD synchronously (cheap); everything slow runs
in tasks, so frames keep flowing and barge-in is immediate. See ``docs/architecture.md``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np

from callcenter.asr.base import Transcript
from callcenter.dialogue.agent_turn import AgentTurn
from callcenter.dialogue.call_log import CallLog, StoreCallLog
from callcenter.dialogue.conversation import Conversation
from callcenter.dialogue.escalation import EscalationReason
from callcenter.dialogue.events import (
    AgentState,
    AgentStateChanged,
    CallerPaused,
    CallerText,
    CallerTurnEnded,
    CallEvent,
    DtmfPressed,
    Escalate,
    HangUp,
)
from callcenter.dialogue.floor import Floor
from callcenter.dialogue.listening import Listening, ListeningStage
from callcenter.dialogue.mood import MoodTracker
from callcenter.dialogue.playout import PlayoutTracker
from callcenter.dialogue.ports import StopReason, StreamContext, StreamOutput, ToolBox
from callcenter.dialogue.prompts import PromptSet, backchannel_lines
from callcenter.dialogue.reply import ReplyResult
from callcenter.dialogue.replying import CallScope, Replying
from callcenter.dialogue.services import SessionServices
from callcenter.dialogue.speculation import Speculation, Speculator
from callcenter.dialogue.turn_taking import TurnTaking
from callcenter.dialogue.turns import TurnPolicy
from callcenter.dialogue.voice import AgentVoice
from callcenter.tools.context import CallContext
from callcenter.turn_timing import TurnTiming

log = logging.getLogger(__name__)


class CallSession:
    """Implements the :class:`MediaStreamHandler` port for one call."""

    def __init__(
        self,
        context: StreamContext,
        output: StreamOutput,
        services: SessionServices,
        prompts: PromptSet,
        tools: ToolBox | None = None,
        *,
        listening: ListeningStage | None = None,
        call_log: CallLog | None = None,
    ) -> None:
        self.context, self.call_id = context, context.call_id
        self.services, self.prompts = services, prompts
        self.tools: ToolBox = tools or services.tools
        self.policy = TurnPolicy.from_settings(services.settings)
        self.tools_ctx = CallContext(call_id=self.call_id)
        self.conversation = Conversation()
        self.stream_ms = 0
        self.log = call_log or StoreCallLog(services.recorder, self.call_id, lambda: self.stream_ms)
        self.playout = PlayoutTracker(output, lead_ms=services.settings.playout_lead_ms or None)
        self.listening = listening or Listening(services.settings)
        # The call keeps the prompt versions it started with, so these never change.
        self.voice = AgentVoice(
            services.synthesizer,
            self.playout,
            services.phrases,
            tools_ctx=self.tools_ctx,
            backchannels=backchannel_lines(prompts),
            call_log=self.log,
            on_first_audio=self._first_audio,
        )
        scope = CallScope(
            services.chat,
            services.settings,
            self.call_id,
            prompts,
            self.tools,
            self.tools_ctx,
            self.conversation,
            self.log,
        )
        self.replying = Replying(
            self,
            services.make_replier(scope),
            self.voice,
            self.conversation,
            self.log,
            system_prompt=prompts.render("system"),
            backchannel_after_ms=services.settings.backchannel_after_ms,
        )
        self.speculation = Speculator(self)
        self.turns = TurnTaking(self, self.policy, self.conversation, self.tools_ctx, self.log)
        self.floor = Floor(
            self.playout,
            self.listening,
            self.conversation,
            self.log,
            position_ms=lambda: self.stream_ms,
            emit=self.emit,
            observe_barge_in=services.observe_barge_in,
            confirm_ms=services.settings.barge_in_confirm_ms,
        )
        settings = services.settings
        self.mood = MoodTracker(smoothing=settings.mood_smoothing)
        self._frustration_at = settings.frustration_handoff_at
        self._turn_audio: np.ndarray | None = None  # the latest caller turn (or pause) audio
        self.state = AgentState.listening
        self.ended = False
        self.observers: list[Callable[[CallEvent], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.spawn(self.say_line("greeting"))
        self.spawn(self.turns.watch_silence())
        if self.services.settings.dialogue_mode == "llm":
            # Task flows never send the system prompt and tools to the model: no warm-up.
            self.spawn(
                self.services.chat.warm(
                    self.conversation.messages(self.prompts.render("system")),
                    self.tools.schemas(),
                    session_key=self.call_id,
                )
            )

    async def on_stop(self, reason: StopReason) -> None:
        self.ended = True
        await self.floor.stop()
        for task in list(self._tasks):
            task.cancel()
        # The edge records the call's final status; the session records what it said.
        self.log.event("stop", {"reason": reason})
        self.services.chat.forget(self.call_id)

    # --- from the edge ---------------------------------------------------------------------

    async def on_media(self, ulaw: bytes, timestamp_ms: int) -> None:
        if self.ended:
            return
        self.stream_ms = timestamp_ms
        for event in self.listening.feed(ulaw):
            self.emit(event)
            if isinstance(event, CallerPaused | CallerTurnEnded):
                self._turn_audio = event.audio
            if isinstance(event, CallerPaused):
                self.speculation.start(event)
            elif isinstance(event, CallerTurnEnded):
                self.turns.activity()
                if not self.speculation.confirm(event):
                    self.spawn(self.turns.turn_ended(event))
        if self.listening.in_speech:
            self.turns.activity()
            self.speculation.abandon()  # the caller only paused: start over
            if self.listening.speech_ms >= self.policy.barge_in_min_speech_ms:
                await self.floor.caller_is_talking()

    async def on_dtmf(self, digit: str) -> None:
        self.emit(DtmfPressed(digit))
        self.log.event("dtmf", {"digit": digit})
        if self.floor.agent_audible:
            await self.floor.interrupt("dtmf")
        self.turns.key_pressed(digit)

    async def on_mark(self, name: str) -> None:
        self.playout.on_mark(name)

    # --- hosts' side: what the stages ask of the session -----------------------------------

    @property
    def busy(self) -> bool:
        listening = self.state == AgentState.listening
        return not listening or self.listening.in_turn or self.floor.agent_busy

    async def transcribe(self, audio: np.ndarray) -> Transcript:
        hint = self.replying.replier.asr_hint()
        return await self.services.transcriber.transcribe(audio, hint=hint)

    def frustrated(self, said: CallerText) -> bool:
        estimate = self.mood.turn(self._turn_audio, said.text)
        level = round(self.mood.level, 3)
        self.log.event("mood", {"turn": round(estimate, 3), "frustration": level})
        return 0 < self._frustration_at <= level

    def forget_mood(self) -> None:
        self.mood.take_back()

    def pause_words(self, text: str, end_ms: float) -> bool:
        """The words up to a pause. True = they were a backchannel over the agent (the
        agent resumed; they are no caller turn to answer)."""
        verdict = self.floor.candidate_words(text)
        if verdict is True:
            self.log.event("backchannel", {"text": text})
            return True
        if verdict is False:
            self.spawn(self.floor.take_floor())
        # The words of a pause can tell the caller is not done ("my number is ...").
        self.listening.heard_so_far(text, end_ms)
        return False

    async def caller_said(
        self, said: CallerText, timing: TurnTiming, speculation: Speculation | None
    ) -> None:
        await self.turns.caller_said(said, timing, speculation)

    def withdraw(self, speculation: Speculation) -> None:
        self.floor.withdraw(speculation.gate)
        self.turns.take_back(speculation)

    async def stop_unheard_reply(self) -> None:
        await self.floor.stop_unheard()

    async def answer(
        self, said: CallerText, timing: TurnTiming, gate: asyncio.Event | None
    ) -> None:
        await self.floor.supersede()
        timing.reply_started_at = asyncio.get_running_loop().time()
        reply = self.floor.new_turn(gate=gate, timing=timing, speech_end_wall=said.end_wall)
        reply.task = self.spawn(self.replying.reply(reply))

    async def say_line(self, name: str) -> None:
        """Say a fixed line (greeting, re-prompt, hand-off, goodbye) until it has played."""
        # A task flow waiting for an answer asks its own question again after silence.
        pending = self.replying.replier.reprompt() if name == "reprompt" else None
        text = pending or self.prompts.render(name)
        if not text:
            return
        line = self.floor.new_turn()
        line.task = self.spawn(self.replying.say_line(line, text))
        await asyncio.wait([line.task])

    async def act_on(self, result: ReplyResult) -> None:
        if result.action == "transfer":
            await self.escalate(result.reason or EscalationReason.model_transfer)
        elif result.action == "end_call":
            await self.hang_up()  # the tool's goodbye line was just spoken

    def set_state(self, state: AgentState) -> None:
        if state is AgentState.listening:
            self.turns.activity()
        if state != self.state:
            old, self.state = self.state, state
            self.emit(AgentStateChanged(old, state))

    def emit(self, event: CallEvent) -> None:
        for observer in self.observers:
            observer(event)

    def _first_audio(self, turn: AgentTurn, at: float) -> None:
        if self.floor.first_audio(turn, at):
            self.spawn(self.replying.note_timing(turn, self.services.observe_timing))

    # --- leaving the call ------------------------------------------------------------------

    async def hand_off(self, reason: str) -> None:
        """Hand the live call to a human now, from outside (graceful shutdown)."""
        await self.escalate(reason)

    async def escalate(self, reason: str) -> None:
        if self.ended:
            return
        await self.floor.stop()
        self.emit(Escalate(reason))
        # The handoff carries the caller's mood, so the person taking over knows it.
        mood = {"frustration": round(self.mood.level, 3), "turns": self.mood.turns[-5:]}
        self.log.event("escalation", {"reason": reason, "mood": mood})
        await self.say_line("handoff_line")
        await self.services.call_control.transfer(self.context, reason)
        self.ended = True

    async def hang_up(self) -> None:
        """After the last line was said (the tool's goodbye, the silence goodbye)."""
        if self.ended:
            return
        self.emit(HangUp())
        self.ended = True
        await self.services.call_control.hang_up(self.context)

    # --- tasks -----------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task failed: %r", task.exception(), extra={"call_id": self.call_id})
