"""The agent's voice: clauses -> TTS -> 8 kHz μ-law -> Twilio, with playout tracking.

Fixed lines (greeting, re-prompt, goodbye, hand-off) are synthesised once per process and
replayed from a cache, so they start instantly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import aclosing

from callcenter.audio.g711 import PHONE_RATE
from callcenter.telephony.playout import PlayoutTracker
from callcenter.tts.base import Synthesizer
from callcenter.tts.render import render_ulaw, to_phone_audio
from callcenter.tts.speakable import speakable

BYTES_PER_MS = PHONE_RATE / 1000.0


class PhraseCache:
    """μ-law audio of fixed lines, keyed by their text. Shared by all calls."""

    def __init__(self, synthesizer: Synthesizer, max_entries: int = 256) -> None:
        self._synthesizer = synthesizer
        self._audio: dict[str, bytes] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._max_entries = max_entries

    async def get(self, text: str) -> bytes:
        key = text.strip()
        if key in self._audio:
            return self._audio[key]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._audio:
                audio = await render_ulaw(self._synthesizer, speakable(key))
                if len(self._audio) >= self._max_entries:
                    self._audio.pop(next(iter(self._audio)))
                self._audio[key] = audio
        self._locks.pop(key, None)
        return self._audio[key]


class AgentVoice:
    """Speaks one utterance at a time through a :class:`PlayoutTracker`."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        tracker: PlayoutTracker,
        phrases: PhraseCache,
        on_first_audio: Callable[[float], None] | None = None,
    ) -> None:
        self._synthesizer = synthesizer
        self.tracker = tracker
        self._phrases = phrases
        self._on_first_audio = on_first_audio
        self._utterance_sent = False
        self._gate: asyncio.Event | None = None
        # One sender at a time: a backchannel must never interleave with a clause.
        self._lock = asyncio.Lock()
        # When the first audio that answers (not a backchannel) was sent.
        self.first_answer_wall: float | None = None
        # Whether this utterance opened with a backchannel ("Okay.").
        self.acknowledged = False

    def begin(self, utterance_id: str, gate: asyncio.Event | None = None) -> None:
        """Start an utterance. With a ``gate``, audio is synthesised but not sent until
        the gate opens (a speculative reply waiting for the end of the caller's turn)."""
        self.tracker.begin(utterance_id)
        self._utterance_sent = False
        self._gate = gate
        self.first_answer_wall = None
        self.acknowledged = False

    @property
    def sent_anything(self) -> bool:
        return self._utterance_sent

    async def end(self) -> None:
        await self.tracker.end()

    async def say_clause(self, clause: str) -> float:
        """Synthesise and send one clause as it is produced; returns its duration in ms."""
        sent = 0
        async with aclosing(to_phone_audio(self._synthesizer.stream(speakable(clause)))) as audio:
            async for ulaw in audio:
                if not ulaw:
                    continue
                await self._send(ulaw)
                sent += len(ulaw)
        return sent / BYTES_PER_MS

    async def say_cached(self, text: str) -> float:
        """Send a fixed line from the phrase cache; returns its duration in ms."""
        ulaw = await self._phrases.get(text)
        await self._send(ulaw)
        return len(ulaw) / BYTES_PER_MS

    async def say_backchannel(self, text: str) -> float | None:
        """A short cached acknowledgement ("Okay."), only if nothing was said yet in this
        utterance; returns its duration, or None when the answer got there first."""
        ulaw = await self._phrases.get(text)
        if self._gate is not None and not self._gate.is_set():
            await self._gate.wait()
        async with self._lock:
            if self._utterance_sent:
                return None
            await self._send_locked(ulaw, answer=False)
            self.acknowledged = True
        return len(ulaw) / BYTES_PER_MS

    async def _send(self, ulaw: bytes) -> None:
        if self._gate is not None and not self._gate.is_set():
            await self._gate.wait()
        async with self._lock:
            await self._send_locked(ulaw, answer=True)

    async def _send_locked(self, ulaw: bytes, *, answer: bool) -> None:
        now = time.monotonic()
        if answer and self.first_answer_wall is None:
            self.first_answer_wall = now
        if not self._utterance_sent:
            self._utterance_sent = True
            if self._on_first_audio is not None:
                self._on_first_audio(now)
        await self.tracker.send_audio(ulaw)
