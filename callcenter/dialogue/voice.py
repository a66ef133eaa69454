"""Voice: what the agent is about to say -> checks -> TTS -> 8 kHz μ-law -> playout.

Two checks run on model text before the caller hears it: the guard (no invented account
data to an unverified caller, no tool names) and the acknowledgement filter (no "Okay."
from the model right after the backchannel already said it). Fixed lines (greeting,
re-prompt, goodbye, hand-off) are synthesised once per process and replayed from a
cache, so they start instantly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing

from callcenter.audio.g711 import PHONE_RATE
from callcenter.dialogue.agent_turn import AgentTurn
from callcenter.dialogue.call_log import CallLog
from callcenter.dialogue.guard import SAFE_LINE, mentions_internals, unverified_leak
from callcenter.dialogue.heard import SpokenClause
from callcenter.dialogue.playout import PlayoutTracker
from callcenter.dialogue.prompts import is_acknowledgement
from callcenter.dialogue.reply import Speak
from callcenter.tools.context import CallContext
from callcenter.tts.base import Synthesizer
from callcenter.tts.render import to_phone_audio
from callcenter.tts.speakable import speakable
from callcenter.tts.style import VoiceStyle, styled_stream

BYTES_PER_MS = PHONE_RATE / 1000.0


class PhraseCache:
    """μ-law audio of fixed lines, keyed by their text. Shared by all calls."""

    def __init__(self, synthesizer: Synthesizer, max_entries: int = 256) -> None:
        self._synthesizer = synthesizer
        self._audio: dict[tuple[str, VoiceStyle | None], bytes] = {}
        self._locks: dict[tuple[str, VoiceStyle | None], asyncio.Lock] = {}
        self._max_entries = max_entries

    async def get(
        self, text: str, style: VoiceStyle | None = None, language: str | None = None
    ) -> bytes:
        """The line's audio, in a caller's style (slower, louder) when one is given.
        ``language``: a line in another language than the call's (a multilingual
        call's phrases pick that language's voice; one voice ignores it)."""
        key = (text.strip(), style if style is not None and not style.is_default else None)
        if key in self._audio:
            return self._audio[key]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._audio:
                stream = styled_stream(self._synthesizer, speakable(key[0]), key[1])
                audio = b"".join([part async for part in to_phone_audio(stream)])
                if len(self._audio) >= self._max_entries:
                    self._audio.pop(next(iter(self._audio)))
                self._audio[key] = audio
        self._locks.pop(key, None)
        return self._audio[key]


_MS_PER_CHAR = 65.0


class AgentVoice:
    """Speaks one agent turn at a time through a :class:`PlayoutTracker`."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        playout: PlayoutTracker,
        phrases: PhraseCache,
        *,
        tools_ctx: CallContext,
        backchannels: list[str],
        call_log: CallLog,
        on_first_audio: Callable[[AgentTurn, float], None],
    ) -> None:
        self._synthesizer = synthesizer
        self.playout = playout
        self._phrases = phrases
        self._tools_ctx = tools_ctx
        self.backchannels = backchannels
        self._log = call_log
        self._on_first_audio = on_first_audio
        self._turn: AgentTurn | None = None
        # The caller's pace and volume ("slower", "louder"): every line from now on.
        self.style: VoiceStyle | None = None
        self._sent = False
        self._partial: tuple[str, float] | None = None
        # One sender at a time: a backchannel must never interleave with a clause.
        self._lock = asyncio.Lock()
        # Per turn: it opened with a backchannel; the model spoke; the guard stepped in.
        self.acknowledged = False
        self._model_spoke = False
        self._guarded = False

    def begin(self, turn: AgentTurn) -> None:
        """Start a turn. With a gate on the turn, audio is synthesised but not sent until
        the gate opens (a speculative reply waiting for the end of the caller's turn)."""
        self.playout.begin(turn.id)
        self._turn = turn
        self._sent = self.acknowledged = self._model_spoke = self._guarded = False
        self._partial = None

    async def end(self) -> None:
        await self.playout.end()

    async def speak(self, item: Speak) -> tuple[str, float] | None:
        """Check and say one item; returns what was said and its duration in ms, or None
        when the item was dropped."""
        if item.from_model and not self._model_spoke:
            self._model_spoke = True
            if self.acknowledged and is_acknowledgement(item.text, self.backchannels):
                # The backchannel already acknowledged; "Okay. Sure." sounds canned.
                self._log.event("dropped_acknowledgement", {"clause": item.text})
                return None
        if item.cached:
            return item.text, await self.say_cached(item.text)
        if item.from_model and (
            unverified_leak(item.text, self._tools_ctx) or mentions_internals(item.text)
        ):
            if self._guarded:
                return None  # one safe line is enough; drop the rest of the claim
            self._guarded = True
            self._log.event("guarded", {"clause": "[withheld]"})
            return SAFE_LINE, await self.say_clause(SAFE_LINE)
        return item.text, await self.say_clause(item.text)

    async def say_clause(self, clause: str) -> float:
        """Synthesise and send one clause as it is produced; returns its duration in ms."""
        sent = 0
        turn = self._turn
        # Where this clause starts in the utterance: if the turn is cut while the clause
        # is going out, what was sent of it is read off the playout.
        self._partial = (clause, float(self.playout.sent_ms(turn.id))) if turn else None
        async with aclosing(
            to_phone_audio(styled_stream(self._synthesizer, speakable(clause), self.style))
        ) as audio:
            async for ulaw in audio:
                if not ulaw:
                    continue
                await self._send(ulaw)
                sent += len(ulaw)
        self._partial = None
        return sent / BYTES_PER_MS

    def take_partial(self) -> tuple[str, float] | None:
        """The clause being sent when the turn was cut, with the ms of it sent so far."""
        partial, self._partial = self._partial, None
        turn = self._turn
        if partial is None or turn is None:
            return None
        clause, start_ms = partial
        sent_ms = self.playout.sent_ms(turn.id) - start_ms
        if sent_ms <= 0:
            return None
        # Its full length is unknown (the TTS may still have been streaming): estimate it
        # from the text (about 65 ms a character), so only the heard share of its words
        # is kept.
        return clause, max(sent_ms, len(clause) * _MS_PER_CHAR)

    async def render(self, text: str) -> bytes:
        """A whole line in the call's style, synthesised now and never cached (it may hold
        account values): render it ahead, then :meth:`say_rendered` sends it at once."""
        stream = styled_stream(self._synthesizer, speakable(text), self.style)
        return b"".join([part async for part in to_phone_audio(stream)])

    async def say_rendered(self, ulaw: bytes) -> float:
        await self._send(ulaw)
        return len(ulaw) / BYTES_PER_MS

    async def say_cached(self, text: str, language: str | None = None) -> float:
        """Send a fixed line from the phrase cache (in ``language``'s voice when given);
        returns its duration in ms."""
        ulaw = await self._phrases.get(text, self.style, language)
        await self._send(ulaw)
        return len(ulaw) / BYTES_PER_MS

    async def backchannel(self, turn: AgentTurn, delay_ms: int) -> None:
        """If the answer is not ready soon after the turn ended, acknowledge it ("Okay.")
        so the caller is not left in silence; it is part of what the caller heard."""
        lines = self.backchannels
        if delay_ms <= 0 or not lines:
            return
        # Rotate: the same "Okay." before every answer sounds like a machine.
        line = lines[turn.seq % len(lines)]
        await turn.confirmed()
        await asyncio.sleep(delay_ms / 1000.0)
        if self._sent or self._turn is not turn:
            return
        ulaw = await self._phrases.get(line, self.style)
        async with self._lock:
            if self._sent:
                return  # the answer got there first
            # Before the send, which takes the line's playing time: an answer clause
            # checked meanwhile must already know it follows an acknowledgement.
            self.acknowledged = True
            await self._send_locked(ulaw, answer=False)
        turn.spoken.clauses.insert(0, SpokenClause(line, len(ulaw) / BYTES_PER_MS))
        turn.timing.backchannel = True

    async def _send(self, ulaw: bytes) -> None:
        turn = self._turn
        if turn is not None:
            await turn.confirmed()
        async with self._lock:
            await self._send_locked(ulaw, answer=True)

    async def _send_locked(self, ulaw: bytes, *, answer: bool) -> None:
        turn = self._turn
        now = asyncio.get_running_loop().time()
        if turn is not None:
            if answer and turn.first_answer_wall is None:
                turn.first_answer_wall = now
            if not self._sent:
                self._sent = True
                self._on_first_audio(turn, now)
        await self.playout.send_audio(ulaw)
