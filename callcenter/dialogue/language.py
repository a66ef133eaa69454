"""The call's language: detected from the caller's words, followed when the caller
switches or asks, and used for everything the agent says.

:class:`CallLanguage` is one per call. Each transcript is observed: a request ("in
English please", "¿habla español?", "auf Deutsch bitte") switches at once; otherwise the
audio language ID (Whisper) and the text language ID (fastText) must agree before a call
already under way changes language, so a "sí" or a digit string never flips it. The first
utterance may set the language on the audio alone when the text is too short to judge.

The voice and the prompts follow :attr:`CallLanguage.current`: :class:`LanguageVoice`
routes synthesis to the voice of the language, :class:`LanguagePhrases` keeps a phrase
cache per language, and :func:`prompts_in` is the prompt set as seen in one language.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from dataclasses import replace as replace_fields

from callcenter.dialogue.prompts import PromptSet
from callcenter.dialogue.voice import PhraseCache
from callcenter.languages.text_id import text_language
from callcenter.store.prompts import KNOWLEDGE_PREFIX
from callcenter.text.languages import requested_language, strip_request
from callcenter.tts.base import AudioChunk, Synthesizer
from callcenter.tts.style import VoiceStyle, styled_stream

log = logging.getLogger(__name__)

AUDIO_ALONE = 0.7  # audio language probability enough for the first utterance on its own
AUDIO_AGREES = 0.4  # audio language probability that counts as agreeing with the text
TEXT_SURE = 0.5  # text language ID score that counts
MIN_WORDS = 3  # fewer words never switch a call under way ("sí", "ok", digits)


@dataclass
class CallLanguage:
    languages: tuple[str, ...]
    current: str
    on_change: Callable[[str, str], None] = lambda _language, _why: None
    heard: bool = False  # a caller utterance has set (or kept) the language
    requested: str | None = None  # the language the latest utterance asked for
    # The caller asked for a language: it is kept until they ask for another (detection
    # no longer switches the call, so "Can you speak Spanish?" said in English sticks).
    chosen: bool = False
    history: list[str] = field(default_factory=list)

    @property
    def multilingual(self) -> bool:
        return len(self.languages) > 1

    def observe(
        self, text: str, audio_language: str | None = None, audio_probability: float = 0.0
    ) -> str:
        """Read one caller utterance; returns the call's language after it."""
        self.requested = None
        if not self.multilingual or not text.strip():
            return self.current
        asked = requested_language(text)
        if asked in self.languages:
            self.requested = asked
            self.chosen = True
            self._set(asked, "request")
            return self.current
        if self.chosen:
            return self.current
        words = len(text.split())
        by_text = text_language(text, self.languages)
        by_audio = audio_language if audio_language in self.languages else None
        agreed = (
            by_text is not None
            and by_text[1] >= TEXT_SURE
            and by_audio == by_text[0]
            and audio_probability >= AUDIO_AGREES
        )
        if (agreed and words >= MIN_WORDS and by_audio is not None) or (
            not self.heard
            and by_audio is not None
            and audio_probability >= AUDIO_ALONE
            # First words: the audio decides unless the text clearly says otherwise.
            and (by_text is None or by_text[0] == by_audio or by_text[1] < TEXT_SURE)
        ):
            self._set(by_audio, "detected")
        self.heard = True
        return self.current

    def choose(self, language: str, why: str) -> None:
        """The caller chose a language without words (the keypad): kept like a request."""
        if language in self.languages:
            self.chosen = True
            self._set(language, why)

    def asked_only(self, text: str) -> bool:
        """The utterance asked for a language and nothing else ("Spanish, please")."""
        return self.requested is not None and len(strip_request(text).split()) <= 1

    def _set(self, language: str, why: str) -> None:
        self.heard = True
        if language == self.current:
            return
        log.info("call language %s -> %s (%s)", self.current, language, why)
        self.current = language
        self.history.append(language)
        self.on_change(language, why)


def prompts_in(prompts: PromptSet, language: str) -> PromptSet:
    """The prompt set as a call in ``language`` sees it: "<name>.<language>" versions
    replace "<name>"; knowledge-base articles only where translated (an English article
    read out in a Spanish call helps nobody). Untranslated prompts stay as they are."""
    base = {name: body for name, body in prompts.bodies.items() if "." not in name}
    suffix = f".{language}"
    translated = {
        name.removesuffix(suffix): body
        for name, body in prompts.bodies.items()
        if name.endswith(suffix)
    }
    if not translated:
        return replace_fields(prompts, bodies=base)
    bodies = {
        name: body
        for name, body in base.items()
        if not name.startswith(KNOWLEDGE_PREFIX) or name in translated
    }
    bodies.update(translated)
    return replace_fields(prompts, bodies=bodies)


class LanguageVoice:
    """A call's synthesizer: the voice of the call's current language."""

    def __init__(
        self, voices: dict[str, Synthesizer], default: Synthesizer, language: CallLanguage
    ) -> None:
        self._voices = voices
        self._default = default
        self._language = language
        self.sample_rate = default.sample_rate

    def _voice(self) -> Synthesizer:
        return self._voices.get(self._language.current, self._default)

    def stream(self, text: str) -> AsyncIterator[AudioChunk]:
        return self._voice().stream(text)

    def stream_at_rate(self, text: str, rate: float) -> AsyncIterator[AudioChunk]:
        """A caller's pace ("slower") in the current language's voice, where it can."""
        return styled_stream(self._voice(), text, VoiceStyle(rate=rate))

    async def close(self) -> None:  # the voices are the process's, not the call's
        return None


class LanguagePhrases(PhraseCache):
    """A call's phrase cache: the shared cache of the call's current language."""

    def __init__(
        self, caches: dict[str, PhraseCache], default: PhraseCache, language: CallLanguage
    ) -> None:
        self._caches = caches
        self._fallback = default
        self._language = language

    async def get(
        self, text: str, style: VoiceStyle | None = None, language: str | None = None
    ) -> bytes:
        cache = self._caches.get(language or self._language.current, self._fallback)
        return await cache.get(text, style)
