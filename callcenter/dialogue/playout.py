"""How much of each agent utterance the caller has actually heard.

Twilio plays our media in order and echoes a ``mark`` once all audio sent before it has
played; after a ``clear`` it drops the unplayed audio and echoes every pending mark at
once. Marks are therefore the only evidence of playback, and an echo that arrives after
we sent ``clear`` says nothing about playback.

Usage (the voice and the floor of a call session)::

    tracker = PlayoutTracker(output)               # output: ports.StreamOutput
    tracker.begin("t3")                            # one id per agent utterance
    await tracker.send_audio(ulaw)                 # as often as TTS yields audio
    await tracker.end()                            # end of the utterance (final mark)
    ...
    # in MediaStreamHandler.on_mark:
    if tracker.on_mark(name): return               # ours: the heard position advanced
    ...
    # barge-in:
    await tracker.clear()
    tracker.heard_ms("t3")                         # what to keep in the transcript
    await tracker.wait_played("t3")                # True = fully played, False = cleared

Semantics:

* ``send_audio`` inserts a mark every ``mark_interval_ms`` of audio (default 160 ms), named
  ``pt:<utterance id>:<cumulative ms>``, plus one at ``end()``.
* ``heard_ms(u)`` is the cumulative ms of the latest echoed mark of ``u`` sent before the
  last ``clear``: a lower bound of what was heard, exact to one interval.
* ``clear()`` freezes every utterance with unconfirmed audio ("cleared"); echoes of its
  marks that arrive afterwards are ignored: Twilio echoes them because it dropped them.
  (A mark that played just before the clear and whose echo crossed it is lost too:
  the bound stays conservative.)
* ``is_playing``: some sent audio is neither confirmed played nor cleared.
* ``wait_played(u)`` returns True once ``u`` ended and its last mark echoed, False if it
  was cleared first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from callcenter.audio.g711 import PHONE_RATE
from callcenter.dialogue.ports import StreamOutput

MARK_PREFIX = "pt:"
DEFAULT_MARK_INTERVAL_MS = 160
_BYTES_PER_MS = PHONE_RATE // 1000  # μ-law: one byte per sample
_PACED_FRAME_BYTES = 20 * _BYTES_PER_MS  # one Twilio media frame


@dataclass
class _Utterance:
    id: str
    sent_bytes: int = 0
    heard_ms: int = 0
    last_mark_ms: int = 0  # cumulative ms of the last mark sent
    ended: bool = False
    cleared: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def sent_ms(self) -> int:
        return self.sent_bytes // _BYTES_PER_MS

    @property
    def settled(self) -> bool:
        return self.cleared or (self.ended and self.heard_ms >= self.last_mark_ms)


def mark_name(utterance_id: str, cumulative_ms: int) -> str:
    return f"{MARK_PREFIX}{utterance_id}:{cumulative_ms}"


def parse_mark_name(name: str) -> tuple[str, int] | None:
    if not name.startswith(MARK_PREFIX):
        return None
    utterance_id, sep, ms = name[len(MARK_PREFIX) :].rpartition(":")
    if not sep or not ms.isdigit():
        return None
    return utterance_id, int(ms)


class PlayoutTracker:
    """Sends an utterance's audio with marks and turns mark echoes into heard positions."""

    def __init__(
        self,
        output: StreamOutput,
        mark_interval_ms: int = DEFAULT_MARK_INTERVAL_MS,
        *,
        lead_ms: int | None = None,
    ) -> None:
        """``lead_ms``: send audio in real time, at most this far ahead of what Twilio has
        played (None = as fast as it comes). A small lead is what lets the agent pause
        (:meth:`hold`) within a fraction of a second without a ``clear``, and resume
        where it was, nothing lost."""
        if mark_interval_ms < 40:
            raise ValueError("marks closer than 40 ms would force tiny media messages")
        self._output = output
        self._interval_bytes = mark_interval_ms * _BYTES_PER_MS
        self._utterances: dict[str, _Utterance] = {}
        self._current: _Utterance | None = None
        self._lead_s = None if lead_ms is None else lead_ms / 1000.0
        self._play_end = 0.0  # loop time when Twilio will have played all we sent
        self._may_send = asyncio.Event()
        self._may_send.set()

    # --- pausing (a candidate barge-in) -----------------------------------------------------

    @property
    def held(self) -> bool:
        return not self._may_send.is_set()

    def hold(self) -> None:
        """Send no more audio until :meth:`resume` (what Twilio holds still plays)."""
        self._may_send.clear()

    def resume(self) -> None:
        self._may_send.set()

    async def _pace(self, piece_ms: float) -> None:
        await self._may_send.wait()
        if self._lead_s is None:
            return
        loop = asyncio.get_running_loop()
        ahead = self._play_end - loop.time()
        if ahead > self._lead_s:
            await asyncio.sleep(ahead - self._lead_s)
            await self._may_send.wait()
        self._play_end = max(self._play_end, loop.time()) + piece_ms / 1000.0

    # --- sending -----------------------------------------------------------------------

    def begin(self, utterance_id: str) -> None:
        if ":" in utterance_id or not utterance_id:
            raise ValueError(f"utterance id must be non-empty without ':': {utterance_id!r}")
        if utterance_id in self._utterances:
            raise ValueError(f"utterance id {utterance_id!r} already used")
        if self._current is not None and not self._current.ended:
            raise RuntimeError(f"utterance {self._current.id!r} has not ended")
        self._current = self._utterances[utterance_id] = _Utterance(utterance_id)

    async def send_audio(self, ulaw: bytes) -> None:
        if self._current_was_cleared:
            return  # barge-in: audio still in flight for a cleared utterance is dropped
        utt = self._require_current()
        view = memoryview(ulaw)
        while view:
            # Cut at the next mark boundary so each mark sits exactly at its position
            # (and, when paced, into 20 ms frames so that a hold takes effect at once).
            room = self._interval_bytes - (utt.sent_bytes % self._interval_bytes)
            if self._lead_s is not None:
                room = min(room, _PACED_FRAME_BYTES)
            piece, view = view[:room], view[room:]
            await self._pace(len(piece) / _BYTES_PER_MS)
            if self._current_was_cleared or self._current is not utt:
                return  # cleared (a barge-in) while this waited
            await self._output.send_audio(bytes(piece))
            utt.sent_bytes += len(piece)
            if utt.sent_bytes % self._interval_bytes == 0:
                await self._mark(utt)

    async def end(self) -> None:
        """The utterance is complete; its final mark tells when it has all played."""
        if self._current_was_cleared:
            return  # cleared by a barge-in: nothing more will play
        utt = self._require_current()
        if utt.sent_ms > utt.last_mark_ms or utt.sent_bytes == 0:
            await self._mark(utt)
        utt.ended = True
        self._settle(utt)

    @property
    def has_open_utterance(self) -> bool:
        """An utterance was begun and neither ended nor cleared."""
        return self._current is not None and not self._current.ended

    def abandon(self) -> None:
        """Close the current utterance if none of its audio was sent (a speculative reply
        dropped before its turn was confirmed): nothing reaches Twilio."""
        utt = self._current
        if utt is not None and not utt.ended and utt.sent_bytes == 0:
            utt.ended = utt.cleared = True
            self._settle(utt)

    async def clear(self) -> None:
        """Barge-in: drop everything unplayed. Frozen utterances ignore later echoes."""
        for utt in self._utterances.values():
            if not utt.settled:
                utt.cleared = True
                self._settle(utt)
        if self._current is not None:
            self._current.ended = True
        self._play_end = 0.0
        self.resume()  # waiting senders wake up and drop their audio
        await self._output.clear()

    async def _mark(self, utt: _Utterance) -> None:
        utt.last_mark_ms = utt.sent_ms
        await self._output.send_mark(mark_name(utt.id, utt.last_mark_ms))

    @property
    def _current_was_cleared(self) -> bool:
        return self._current is not None and self._current.cleared

    def _require_current(self) -> _Utterance:
        if self._current is None or self._current.ended:
            raise RuntimeError("call begin(utterance_id) before sending audio")
        return self._current

    # --- echoes ------------------------------------------------------------------------

    def on_mark(self, name: str) -> bool:
        """Feed every echoed mark here; returns False for marks that are not ours."""
        parsed = parse_mark_name(name)
        if parsed is None:
            return False
        utt = self._utterances.get(parsed[0])
        if utt is None:
            return False
        if not utt.cleared:
            utt.heard_ms = max(utt.heard_ms, parsed[1])
            self._settle(utt)
        return True

    def _settle(self, utt: _Utterance) -> None:
        if utt.settled:
            utt.done.set()

    # --- queries -----------------------------------------------------------------------

    def heard_ms(self, utterance_id: str) -> int:
        return self._utterances[utterance_id].heard_ms

    def sent_ms(self, utterance_id: str) -> int:
        return self._utterances[utterance_id].sent_ms

    def was_cleared(self, utterance_id: str) -> bool:
        return self._utterances[utterance_id].cleared

    @property
    def is_playing(self) -> bool:
        return any(not u.cleared and u.heard_ms < u.sent_ms for u in self._utterances.values())

    async def wait_played(self, utterance_id: str) -> bool:
        utt = self._utterances[utterance_id]
        await utt.done.wait()
        return not utt.cleared
