"""One handle per agent utterance: a reply, the greeting, a re-prompt, the hand-off line.

The handle owns everything that belongs to that one utterance: the gate a speculative
reply waits behind, the task producing it, its timing and the clauses it said. Whoever
needs to stop it calls :meth:`AgentTurn.interrupt`; whoever needs to know what the caller
heard reads :attr:`AgentTurn.heard_text` once it is :attr:`done`. (LiveKit Agents'
``SpeechHandle`` is the model.)
"""

from __future__ import annotations

import asyncio
import contextlib

from callcenter.dialogue.heard import SpokenUtterance
from callcenter.dialogue.playout import PlayoutTracker
from callcenter.dialogue.reply import ReplyResult
from callcenter.turn_timing import TurnTiming


class AgentTurn:
    def __init__(
        self,
        seq: int,
        playout: PlayoutTracker,
        *,
        gate: asyncio.Event | None = None,
        timing: TurnTiming | None = None,
        speech_end_wall: float | None = None,
        answers: bool = True,
    ) -> None:
        self.seq = seq
        # Whether it answers the caller's latest turn (a "Take your time." does not: the
        # caller's unfinished words wait to be merged with what they say next).
        self.answers = answers
        # It asks the caller's pending question again after a silence: words said over it
        # answer that question ("Yes." just as "Are you still there?" starts), they are
        # no backchannel.
        self.asks_again = False
        self.id = f"a{seq}"
        # Opens when a speculative caller turn is confirmed; audio and tools wait on it.
        self.gate = gate
        self.timing = timing or TurnTiming()
        # When the caller stopped speaking (None for lines nobody asked for: greeting).
        self.speech_end_wall = speech_end_wall
        self.spoken = SpokenUtterance()
        self.result = ReplyResult()
        self.task: asyncio.Task[None] | None = None
        self.audible = False  # some of its audio went out
        self.interrupted = False  # stopped because the caller took the floor
        self.first_audio_wall: float | None = None  # first audio, backchannel included
        self.first_answer_wall: float | None = None  # first audio of the answer itself
        self.first_clause_at: float | None = None
        self.recorded = False  # its row is in the store
        self._playout = playout
        self._done = asyncio.Event()

    # --- control -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Its task is still producing (and it is not the task asking)."""
        return self._live_task() is not None

    def interrupt(self) -> None:
        """The caller took the floor: stop producing now (the task ends soon after)."""
        self.interrupted = True
        task = self._live_task()
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        """Stop producing and wait until the task has wound down."""
        task = self._live_task()
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def confirmed(self) -> None:
        """Returns once the caller turn it answers is confirmed (at once if not speculative)."""
        if self.gate is not None:
            await self.gate.wait()

    def _live_task(self) -> asyncio.Task[None] | None:
        task = self.task
        if task is None or task.done() or task is asyncio.current_task():
            return None
        return task

    # --- what was heard ----------------------------------------------------------------

    async def wait_played(self) -> bool:
        """True once all its audio played; False if it was cleared first."""
        return await self._playout.wait_played(self.id)

    @property
    def cleared(self) -> bool:
        return self._playout.was_cleared(self.id)

    @property
    def heard_text(self) -> str:
        if not self.cleared:
            return self.spoken.text
        return self.spoken.heard_text(self._playout.heard_ms(self.id))

    @property
    def done(self) -> bool:
        """Finished: played or cut, and its text is in the history."""
        return self._done.is_set()

    def finish(self) -> None:
        self._done.set()
