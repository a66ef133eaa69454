"""The floor: which agent turn owns the audio, and what happens when the caller takes it.

One agent turn at a time sends audio. A new one (a reply, a fixed line) supersedes the
last; if that one was still audible the caller spoke over it, which is a barge-in: the
turn is interrupted and Twilio's buffer cleared, so only what was heard is kept. A reply
the caller has heard nothing of yet is simply stopped (its caller turn gets merged into
the next one).

Caller sound over the agent is first a *candidate*: the agent pauses (sends no more
audio) and the words decide. A backchannel or a noise resumes the reply where it paused,
nothing lost; other words, or speech past ``barge_in_confirm_ms``, are a barge-in.

The pause comes at the first window the VAD calls speech (:meth:`Floor.caller_sound`),
before the caller's sound is long enough to be a turn: pausing costs nothing and is
undone at once when the sound dies away (a click, a breath), while waiting for a
confirmed onset cost every real interruption ~100 ms (`callcenter bench turns`: onset ->
the caller hears the pause, p95 295 -> 215 ms).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from callcenter.dialogue.agent_turn import AgentTurn
from callcenter.dialogue.backchannel import is_backchannel
from callcenter.dialogue.call_log import CallLog
from callcenter.dialogue.conversation import Conversation
from callcenter.dialogue.events import (
    AgentAudioSent,
    CallEvent,
    InterruptCause,
    Interrupted,
    Resumed,
)
from callcenter.dialogue.listening import ListeningStage
from callcenter.dialogue.playout import PlayoutTracker
from callcenter.turn_timing import TurnTiming


class Floor:
    def __init__(
        self,
        playout: PlayoutTracker,
        listening: ListeningStage,
        conversation: Conversation,
        call_log: CallLog,
        *,
        position_ms: Callable[[], int],
        emit: Callable[[CallEvent], None],
        observe_barge_in: Callable[[float], None],
        confirm_ms: float = 600.0,
    ) -> None:
        self._playout = playout
        self._listening = listening
        self._conversation = conversation
        self._log = call_log
        self._position_ms = position_ms
        self._emit = emit
        self._observe_barge_in = observe_barge_in
        self.turn: AgentTurn | None = None  # the latest agent turn
        self._confirm_ms = confirm_ms
        # The turn paused for a candidate barge-in, and when (stream ms) it paused.
        self.candidate: AgentTurn | None = None
        self._held_at_ms = 0.0
        # The turn paused at the first sound of possible speech, before it is a candidate.
        self._sound_hold: AgentTurn | None = None

    def new_turn(
        self,
        *,
        gate: asyncio.Event | None = None,
        timing: TurnTiming | None = None,
        speech_end_wall: float | None = None,
        answers: bool = True,
    ) -> AgentTurn:
        seq = self._conversation.next_seq()
        self.turn = AgentTurn(
            seq,
            self._playout,
            gate=gate,
            timing=timing,
            speech_end_wall=speech_end_wall,
            answers=answers,
        )
        return self.turn

    @property
    def agent_audible(self) -> bool:
        """The agent is being heard right now (and nobody has cut in yet)."""
        turn = self.turn
        return turn is not None and turn.audible and not turn.interrupted and not turn.done

    @property
    def agent_busy(self) -> bool:
        return self.turn is not None and self.turn.running

    def first_audio(self, turn: AgentTurn, at: float) -> bool:
        """The voice sent the turn's first audio; True when it answers a caller turn (its
        timing can then be completed)."""
        turn.audible = True
        if turn.answers:
            self._conversation.last_user_answered = True
        self._emit(AgentAudioSent(turn.id, at))
        if turn.first_audio_wall is not None:
            return False
        turn.first_audio_wall = at
        return turn.speech_end_wall is not None

    def caller_sound(self, hearing_speech: bool) -> None:
        """Each caller frame: ``hearing_speech`` = the VAD's latest window was speech (a
        turn may be starting). The audible agent pauses at once; if the sound dies away
        before it became a candidate, it goes on (the caller heard a gap of the hold's
        length minus the playout lead)."""
        if hearing_speech:
            turn = self.turn
            if self._sound_hold is None and self.candidate is None and self.agent_audible:
                assert turn is not None
                self._sound_hold, self._held_at_ms = turn, float(self._position_ms())
                self._playout.hold()
            return
        held = self._sound_hold
        if held is not None and self.candidate is not held and not self._listening.in_turn:
            self._sound_hold = None
            if not held.interrupted:
                self._playout.resume()

    async def caller_is_talking(self) -> None:
        """The caller has spoken long enough to take the floor (or to make the agent
        pause: see the module docstring)."""
        turn = self.turn
        if self.agent_audible:
            assert turn is not None
            if self.candidate is not turn:
                if self._sound_hold is not turn:  # no early pause (or another turn's)
                    self._held_at_ms = float(self._position_ms())
                self.candidate, self._sound_hold = turn, None
                self._playout.hold()
                self._log.event("barge_in_candidate", {"at_ms": self._held_at_ms})
            if self._listening.speech_ms >= self._confirm_ms:
                await self.interrupt("speech")
        elif turn is not None and turn.running and not turn.audible and not turn.interrupted:
            # Still thinking and the caller goes on: drop the reply, merge the turns.
            turn.interrupted = True
            await turn.stop()

    async def interrupt(self, cause: InterruptCause) -> None:
        turn = self.turn
        assert turn is not None
        now_ms = self._position_ms()
        onset_ms = now_ms - self._listening.speech_ms
        # Stop the turn before the clear goes out: while the clear is being sent it must
        # not get to send another chunk of audio.
        turn.interrupt()
        await self._playout.clear()
        # The agent went quiet when it paused for the candidate (if it did): that is the
        # reaction the caller hears; the clear only drops what was buffered.
        paused = self.candidate is turn or self._sound_hold is turn
        self.candidate = self._sound_hold = None
        stopped_ms = self._held_at_ms if paused else now_ms
        reaction_ms = max(0.0, stopped_ms - onset_ms) if cause == "speech" else 0.0
        self._observe_barge_in(reaction_ms / 1000.0)
        payload = {
            "cause": cause,
            "onset_ms": onset_ms,
            "reaction_ms": reaction_ms,
            "paused_first": paused,
        }
        self._log.event("barge_in", payload)
        self._emit(Interrupted(turn.id, cause))
        await turn.stop()

    async def supersede(self) -> None:
        """A new turn is about to speak: whatever the agent was still doing stops first."""
        turn = self.turn
        if turn is None or not turn.running:
            return
        if turn.audible and not turn.interrupted:
            await self.interrupt("turn")
        else:
            await turn.stop()

    async def stop_unheard(self) -> None:
        turn = self.turn
        if turn is not None and turn.running and not turn.audible:
            await turn.stop()

    async def stop(self) -> None:
        if self.turn is not None:
            await self.turn.stop()
        # A turn stopped while paused for the caller must not leave the next one paused.
        if self.candidate is not None or self._sound_hold is not None:
            self.candidate = self._sound_hold = None
            self._playout.resume()

    def withdraw(self, gate: asyncio.Event) -> None:
        """Drop the reply waiting behind ``gate`` (nothing was heard, no tool ran)."""
        if self.turn is not None and self.turn.gate is gate:
            self.turn.interrupt()

    def candidate_words(self, text: str) -> bool | None:
        """The words of the caller's sound over a paused agent: True = a backchannel or
        noise (the agent resumed), False = a real interruption (the caller may have the
        floor; call :meth:`interrupt`), None = no candidate (nothing to decide)."""
        turn = self.candidate
        if turn is None or turn is not self.turn or turn.interrupted or turn.done:
            self.candidate = None
            return None
        if not is_backchannel(text) or (turn.asks_again and text.strip()):
            return False
        self.candidate = None
        self._playout.resume()
        self._log.event("false_interruption", {"text": text, "paused_at_ms": self._held_at_ms})
        self._emit(Resumed(turn.id, text))
        return True

    async def take_floor(self) -> None:
        """Words over the paused agent that are not a backchannel: a real barge-in."""
        if self.agent_audible:
            await self.interrupt("speech")

    def release_candidate(self) -> None:
        """The caller went quiet without words to judge (e.g. no pause transcript): resume."""
        if self.candidate is not None and not self.candidate.interrupted:
            self._playout.resume()
        self.candidate = None
