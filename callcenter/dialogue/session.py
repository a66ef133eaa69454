"""CallSession: one per call. Builds the stages and routes the events between them.

listening -> speculation / turn-taking -> replying -> voice -> playout; each agent
utterance is an :class:`AgentTurn`. The session owns only what spans the stages: the
current agent turn, the agent state, barge-in and leaving the call. Inbound frames run
the VAD synchronously (cheap); everything slow runs in tasks, so frames keep flowing and
barge-in is immediate. See ``docs/architecture.md``.
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
    AgentAudioSent,
    AgentState,
    AgentStateChanged,
    CallerPaused,
    CallerText,
    CallerTurnEnded,
    CallEvent,
    DtmfPressed,
    Escalate,
    HangUp,
    InterruptCause,
    Interrupted,
)
from callcenter.dialogue.listening import Listening, ListeningStage
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
        self.playout = PlayoutTracker(output)
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
        self.state = AgentState.listening
        self.turn: AgentTurn | None = None  # the latest agent utterance
        self.ended = False
        self.observers: list[Callable[[CallEvent], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.spawn(self.say_line("greeting"))
        self.spawn(self.turns.watch_silence())
        self.spawn(
            self.services.chat.warm(
                self.conversation.messages(self.prompts.render("system")),
                self.tools.schemas(),
                session_key=self.call_id,
            )
        )

    async def on_stop(self, reason: StopReason) -> None:
        self.ended = True
        if self.turn is not None:
            await self.turn.stop()
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
                await self._caller_is_talking()

    async def on_dtmf(self, digit: str) -> None:
        self.emit(DtmfPressed(digit))
        self.log.event("dtmf", {"digit": digit})
        if self._agent_audible():
            await self._interrupt("dtmf")
        self.turns.key_pressed(digit)

    async def on_mark(self, name: str) -> None:
        self.playout.on_mark(name)

    # --- who has the floor -----------------------------------------------------------------

    def _agent_audible(self) -> bool:
        turn = self.turn
        return turn is not None and turn.audible and not turn.interrupted and not turn.done

    async def _caller_is_talking(self) -> None:
        """The caller has spoken long enough to take the floor."""
        turn = self.turn
        if self._agent_audible():
            await self._interrupt("speech")
        elif turn is not None and turn.running and not turn.audible and not turn.interrupted:
            # Still thinking and the caller goes on: drop the reply, merge the turns.
            turn.interrupted = True
            await turn.stop()

    async def _interrupt(self, cause: InterruptCause) -> None:
        turn = self.turn
        assert turn is not None
        onset_ms = self.stream_ms - self.listening.speech_ms
        # Stop the turn before the clear goes out: while the clear is being sent it must
        # not get to send another chunk of audio.
        turn.interrupt()
        await self.playout.clear()
        reaction_ms = self.stream_ms - onset_ms if cause == "speech" else 0.0
        self.services.observe_barge_in(reaction_ms / 1000.0)
        self.log.event(
            "barge_in", {"cause": cause, "onset_ms": onset_ms, "reaction_ms": reaction_ms}
        )
        self.emit(Interrupted(turn.id, cause))
        await turn.stop()

    # --- hosts' side: what the stages ask of the session -----------------------------------

    @property
    def busy(self) -> bool:
        running = self.turn is not None and self.turn.running
        return self.state != AgentState.listening or self.listening.in_turn or running

    async def transcribe(self, audio: np.ndarray) -> Transcript:
        hint = self.replying.replier.asr_hint()
        return await self.services.transcriber.transcribe(audio, hint=hint)

    async def caller_said(
        self, said: CallerText, timing: TurnTiming, speculation: Speculation | None
    ) -> None:
        await self.turns.caller_said(said, timing, speculation)

    def withdraw(self, speculation: Speculation) -> None:
        turn = self.turn
        if turn is not None and turn.gate is speculation.gate:
            turn.interrupt()  # gated: nothing was heard, no tool ran
        self.turns.take_back(speculation)

    async def stop_unheard_reply(self) -> None:
        turn = self.turn
        if turn is not None and turn.running and not turn.audible:
            await turn.stop()

    async def answer(
        self, said: CallerText, timing: TurnTiming, gate: asyncio.Event | None
    ) -> None:
        self.emit(said)
        # One turn at a time owns the audio. If the agent was still talking, the caller
        # spoke over it: that is a barge-in, so only what was heard is kept.
        turn = self.turn
        if turn is not None and turn.running:
            if turn.audible and not turn.interrupted:
                await self._interrupt("turn")
            else:
                await turn.stop()
        timing.reply_started_at = asyncio.get_running_loop().time()
        reply = self._new_turn(gate=gate, timing=timing, speech_end_wall=said.end_wall)
        reply.task = self.spawn(self.replying.reply(reply))

    async def say_line(self, name: str) -> None:
        """Say a fixed line (greeting, re-prompt, hand-off, goodbye) until it has played."""
        text = self.prompts.render(name)
        if not text:
            return
        line = self._new_turn()
        line.task = self.spawn(self.replying.say_line(line, text))
        await asyncio.wait([line.task])

    async def act_on(self, result: ReplyResult) -> None:
        if result.action == "transfer":
            await self.escalate(result.reason or EscalationReason.model_transfer)
        elif result.action == "end_call":
            await self.hang_up(say_goodbye=False)  # the tool's goodbye line was just spoken

    def set_state(self, state: AgentState) -> None:
        if state is AgentState.listening:
            self.turns.activity()
        if state != self.state:
            old, self.state = self.state, state
            self.emit(AgentStateChanged(old, state))

    def emit(self, event: CallEvent) -> None:
        for observer in self.observers:
            observer(event)

    def _new_turn(
        self,
        *,
        gate: asyncio.Event | None = None,
        timing: TurnTiming | None = None,
        speech_end_wall: float | None = None,
    ) -> AgentTurn:
        seq = self.conversation.next_seq()
        self.turn = AgentTurn(
            seq, self.playout, gate=gate, timing=timing, speech_end_wall=speech_end_wall
        )
        return self.turn

    def _first_audio(self, turn: AgentTurn, at: float) -> None:
        turn.audible = True
        self.conversation.last_user_answered = True
        self.emit(AgentAudioSent(turn.id, at))
        if turn.first_audio_wall is None:
            turn.first_audio_wall = at
            if turn.speech_end_wall is not None:
                self.spawn(self.replying.note_timing(turn, self.services.observe_timing))

    # --- leaving the call ------------------------------------------------------------------

    async def hand_off(self, reason: str) -> None:
        """Hand the live call to a human now, from outside (graceful shutdown)."""
        await self.escalate(reason)

    async def escalate(self, reason: str) -> None:
        if self.ended:
            return
        if self.turn is not None:
            await self.turn.stop()
        self.emit(Escalate(reason))
        self.log.event("escalation", {"reason": reason})
        await self.say_line("handoff_line")
        await self.services.call_control.transfer(self.context, reason)
        self.ended = True

    async def hang_up(self, *, say_goodbye: bool) -> None:
        if self.ended:
            return
        self.emit(HangUp(say_goodbye))
        if say_goodbye:
            await self.say_line("goodbye")
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
