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
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import numpy as np

from callcenter.asr.base import Transcript
from callcenter.dialogue.accessibility import Accessibility, CallerLines
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
from callcenter.dialogue.language import (
    CallLanguage,
    LanguagePhrases,
    LanguageVoice,
    prompts_in,
)
from callcenter.dialogue.language_menu import LanguageMenu
from callcenter.dialogue.listening import Listening, ListeningStage
from callcenter.dialogue.mood import MoodTracker
from callcenter.dialogue.playout import PlayoutTracker
from callcenter.dialogue.ports import StopReason, StreamContext, StreamOutput, ToolBox
from callcenter.dialogue.preferences import CallPreferences
from callcenter.dialogue.prompts import PromptSet, backchannel_lines
from callcenter.dialogue.reply import ReplyResult
from callcenter.dialogue.replying import CallScope, Replying
from callcenter.dialogue.returning import ReturningCaller, welcome_back
from callcenter.dialogue.services import SessionServices
from callcenter.dialogue.speculation import Speculation, Speculator
from callcenter.dialogue.turn_taking import TurnTaking
from callcenter.dialogue.turns import TurnPolicy
from callcenter.dialogue.vocabulary import corrected, glossary_of, steer_asr, system_prompt
from callcenter.dialogue.voice import AgentVoice
from callcenter.dialogue.voicemail import VoicemailCheck
from callcenter.text.caller_requests import caller_request
from callcenter.tools.context import CallContext
from callcenter.tts.style import VoiceStyle
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
        settings = services.settings
        # The call's language: detected from the caller, followed when they switch.
        self.language = CallLanguage(
            settings.language_codes, settings.default_language, self._language_changed
        )
        self.menu = LanguageMenu(settings.language_codes, enabled=settings.language_keypad)
        self.log = call_log or StoreCallLog(
            services.recorder,
            self.call_id,
            lambda: self.stream_ms,
            language=lambda: self.language.current,
        )
        self.playout = PlayoutTracker(output, lead_ms=services.settings.playout_lead_ms or None)
        self.listening = listening or Listening(services.settings)
        self.mood = MoodTracker(smoothing=services.settings.mood_smoothing)
        # The deployment's names (streets, plans): steer the ASR, fix mis-hearings, and
        # tell the model how they are spelled.
        self.glossary = glossary_of(prompts)
        steer_asr(services.transcriber, self.glossary)
        self.system_prompt = system_prompt(prompts, self.glossary)
        # The call keeps the prompt versions it started with, so these never change.
        self.voice = AgentVoice(
            LanguageVoice(services.voices, services.synthesizer, self.language),
            self.playout,
            LanguagePhrases(services.voice_phrases, services.phrases, self.language),
            tools_ctx=self.tools_ctx,
            backchannels=backchannel_lines(prompts),
            call_log=self.log,
            on_first_audio=self._first_audio,
        )
        self.preferences = CallPreferences()
        scope = CallScope(
            services.chat,
            services.settings,
            self.call_id,
            prompts,
            self.tools,
            self.tools_ctx,
            self.conversation,
            self.log,
            frustration=lambda: self.mood.level,
            preferences=self.preferences,
            language=self.language,
        )
        self.replying = Replying(
            self,
            services.make_replier(scope),
            self.voice,
            self.conversation,
            self.log,
            system_prompt=self.system_prompt,
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
        self._frustration_at = settings.frustration_handoff_at
        self._turn_audio: np.ndarray | None = None  # the latest caller turn (or pause) audio
        # An outbound call on a trunk without Twilio's detection: person or machine?
        self.voicemail: VoicemailCheck | None = None
        self.state = AgentState.listening
        self.ended = False
        self.returning = ReturningCaller(services.caller_memory, self.preferences)
        self.access = Accessibility(
            self.preferences,
            CallerLines(prompts),
            apply_style=self._speak_in,
            apply_patience=self.turns.take_time,
            pending_question=self._pending_question,
            backchannels=backchannel_lines(prompts),
            forget=lambda: self.spawn(self.returning.forget()),
        )
        self._welcome = ""  # to a returning caller: "Last time you asked me to ..."
        self.observers: list[Callable[[CallEvent], None]] = [self.access.observe]
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- lifecycle -------------------------------------------------------------------------

    def screen_for_voicemail(self) -> None:
        """Before :meth:`start`, on an outbound call: listen before greeting, and leave
        the voicemail message on a machine (``VOICEMAIL_OWN_CHECK``)."""
        self.voicemail = VoicemailCheck(self.services.settings.voicemail_greeting_ms)

    async def recall_caller(self, caller_number: str) -> None:
        """A returning caller: their preferences apply from the greeting on."""
        known = await self.returning.recall(caller_number)
        if known is not None:
            self.access.apply()
            self._welcome = welcome_back(known, self.access.lines)
            self.log.event("returning_caller", {"preferences": known.as_dict()})

    async def _greet(self) -> None:
        offers = self.menu.offers(self.prompts, self.language.current)
        await self.say_line("greeting", offers=offers)
        if self._welcome and not self.busy and not self.ended:
            line = self.floor.new_turn()
            line.task = self.spawn(self.replying.say_line(line, self._welcome))
            await asyncio.wait([line.task])

    async def start(self) -> None:
        if self.language.current != "en":  # the call row starts as English
            self.services.record_language(self.call_id, self.language.current)
        if self.voicemail is None:
            self.spawn(self._greet())
        self.spawn(self.turns.watch_silence())
        if self.services.warm_llm_prefix:
            self.spawn(
                self.services.chat.warm(
                    self.conversation.messages(self.system_prompt),
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
        await self.returning.remember()

    # --- from the edge ---------------------------------------------------------------------

    async def on_media(self, ulaw: bytes, timestamp_ms: int) -> None:
        if self.ended:
            return
        self.stream_ms = timestamp_ms
        if self.voicemail is not None and self.voicemail.decided != "human":
            self._screen(ulaw)
            return
        for event in self.listening.feed(ulaw):
            self.emit(event)
            if isinstance(event, CallerPaused | CallerTurnEnded):
                self._turn_audio = event.audio
            if isinstance(event, CallerPaused):
                self.speculation.start(event)
            elif isinstance(event, CallerTurnEnded):
                self.turns.activity()
                if event.unfinished and self._take_your_time(event):
                    continue
                if not self.speculation.confirm(event):
                    self.spawn(self.turns.turn_ended(event))
        self.floor.caller_sound(self.listening.hearing_speech)
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
        chosen = None if self.turns.keying else self.menu.choice(digit)
        if chosen is not None:
            self._choose_language(chosen)
            return
        self.menu.close()  # the caller is keying for the flows (an account number)
        self.turns.key_pressed(digit)

    def _choose_language(self, language: str) -> None:
        """A language key in the greeting: switch, and greet again in that language."""
        self.menu.close()
        self.language.choose(language, "keypad")
        self.spawn(self.say_line("greeting"))

    async def on_mark(self, name: str) -> None:
        self.playout.on_mark(name)

    # --- hosts' side: what the stages ask of the session -----------------------------------

    @property
    def busy(self) -> bool:
        listening = self.state == AgentState.listening
        screening = self.voicemail is not None and self.voicemail.decided != "human"
        return not listening or screening or self.listening.in_turn or self.floor.agent_busy

    async def transcribe(self, audio: np.ndarray) -> Transcript:
        hint = self.replying.replier.asr_hint()
        if self.language.multilingual and self.language.heard:
            # The call's language so far steers a multilingual model (a prior).
            heard = await self.services.transcriber.transcribe(
                audio, hint=hint, language=self.language.current
            )
        else:
            heard = await self.services.transcriber.transcribe(audio, hint=hint)
        self.language.observe(heard.text, heard.language, heard.language_probability)
        if heard.text.strip():
            self.menu.close()  # the caller has spoken: keys are the flows' from now on
        return corrected(heard, self.glossary, self.log)

    def frustrated(self, said: CallerText, seq: int) -> bool:
        estimate = self.mood.turn(self._turn_audio, said.text, seq)
        level = round(self.mood.level, 3)
        self.log.event("mood", {"seq": seq, "turn": round(estimate, 3), "frustration": level})
        return 0 < self._frustration_at <= level

    def forget_mood(self, seq: int) -> None:
        self.mood.take_back(seq)

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
        # A request about the call ("slower", "say that again") is whole on its own too.
        answered = caller_request(text) is not None or self.replying.replier.answers(text)
        self.listening.heard_so_far(text, end_ms, answered=answered)
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

    def _take_your_time(self, ended: CallerTurnEnded) -> bool:
        """The caller stopped mid-sentence and stayed silent: no answer to the fragment
        (its reply behind the gate is dropped; its words stay in the history, unanswered,
        and merge with the caller's next turn), but a gentle prompt. False: nothing to
        keep (no speculation on this pause), so the turn is handled as usual."""
        kept = self.speculation.shelve(ended)
        if kept is None:
            return False
        self.floor.withdraw(kept.gate)
        self.log.event("take_your_time", {"end_ms": ended.end_ms})
        self.spawn(self.say_line("take_your_time", answers=False))
        return True

    async def caller_request(self, said: CallerText, gate: asyncio.Event | None) -> bool:
        request = caller_request(said.text)
        if request is None:
            return False
        await self.floor.supersede()
        turn = self.floor.new_turn(gate=gate, speech_end_wall=said.end_wall)
        self.access.own_turn(turn.id)

        async def honour() -> None:
            await turn.confirmed()  # a speculative turn may still be taken back
            self.log.event("caller_request", {"request": request})
            await self.replying.say_parts(turn, self.access.handle(request))

        turn.task = self.spawn(honour())
        return True

    def _speak_in(self, style: VoiceStyle) -> None:
        self.voice.style = style

    def _pending_question(self) -> str | None:
        return self.replying.replier.pending_question()

    async def say_line(
        self, name: str, *, answers: bool = True, offers: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Say a fixed line (greeting, re-prompt, hand-off, goodbye) until it has played;
        ``offers``: (language, line) after it, each in its language's voice."""
        # A task flow waiting for an answer asks its own question again after silence.
        pending = self.replying.replier.reprompt() if name == "reprompt" else None
        text = pending or prompts_in(self.prompts, self.language.current).render(name)
        if not text:
            return
        self.access.last_line = text  # "say that again" even if it was cut short
        line = self.floor.new_turn(answers=answers)
        line.asks_again = name == "reprompt"
        line.task = self.spawn(self.replying.say_line(line, text, offers))
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

    def _language_changed(self, language: str, why: str) -> None:
        self.log.event("language", {"language": language, "why": why})
        self.voice.backchannels = backchannel_lines(prompts_in(self.prompts, language))
        self.services.record_language(self.call_id, language)

    def _first_audio(self, turn: AgentTurn, at: float) -> None:
        if self.floor.first_audio(turn, at):
            self.spawn(self.replying.note_timing(turn, self.services.observe_timing))

    # --- outbound: a person or a machine? ---------------------------------------------------

    def _screen(self, ulaw: bytes) -> None:
        check = self.voicemail
        assert check is not None
        events = self.listening.feed(ulaw)
        verdict = check.hear(ulaw, events, self.listening.speech_ms)
        if verdict == "human":
            self.log.event("answered_by", {"answered_by": "human", "detected_by": "own"})
            self.spawn(self._greet())
        elif verdict == "machine":
            self.log.event("voicemail_greeting", {"at_ms": self.stream_ms})
        elif verdict == "leave_message":
            self.spawn(self._leave_voicemail(check.answered_by))

    async def _leave_voicemail(self, answered_by: str) -> None:
        message = self.services.settings.voicemail_message
        payload = {
            "answered_by": answered_by,
            "detected_by": "own",
            "action": "message" if message else "hang_up",
        }
        self.log.event("answered_by", payload)
        if message:
            line = self.floor.new_turn(answers=False)
            line.task = self.spawn(self.replying.say_line(line, message))
            await asyncio.wait([line.task])
        await self.hang_up()

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
