"""Which voice speaks each further language (CALLCENTER_LANGUAGE_VOICES), and how the TTS
service picks the voice for a requested language."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from callcenter.remote.tts_server import voice_for_language
from callcenter.settings import load_settings
from callcenter.tts import (
    DEFAULT_LANGUAGE_VOICE,
    XTTS_SPEC,
    AudioChunk,
    Synthesizer,
    language_voice_specs,
    make_language_voices,
)


class Voice:
    """A synthesizer that speaks nothing; ``language`` as an engine states it."""

    sample_rate = 16000

    def __init__(self, language: str = "") -> None:
        if language:
            self.language = language

    async def stream(self, text: str) -> AsyncIterator[AudioChunk]:
        return
        yield

    async def close(self) -> None:
        pass


class Multilingual(Voice):
    """Like XTTS: one model, a view per language."""

    def __init__(self) -> None:
        super().__init__("en")
        self.asked: list[str] = []

    def for_language(self, language: str) -> Voice:
        self.asked.append(language)
        return Voice(language)


def test_xtts_is_a_spec_and_languages_without_one_keep_the_default() -> None:
    settings = load_settings(languages="en,es,de", language_voices="es=xtts")
    assert language_voice_specs(settings) == {"es": XTTS_SPEC, "de": DEFAULT_LANGUAGE_VOICE}


def test_xtts_languages_speak_through_the_main_xtts_voice() -> None:
    settings = load_settings(languages="en,es,de", language_voices="es=xtts,de=xtts")
    main = Multilingual()
    voices = make_language_voices(settings, main)
    assert main.asked == ["es", "de"]
    assert {code: voice.language for code, voice in voices.items()} == {
        "es": "es",
        "de": "de",
    }


@pytest.mark.parametrize("main", [None, Voice("en")], ids=["no main voice", "piper main voice"])
def test_xtts_without_xtts_or_a_tts_service_is_refused_at_start_up(
    main: Synthesizer | None,
) -> None:
    settings = load_settings(languages="en,es", language_voices="es=xtts")
    with pytest.raises(ValueError, match=r"CALLCENTER_LANGUAGE_VOICES gives es=xtts.*TTS_URL"):
        make_language_voices(settings, main)


def test_the_service_gives_its_own_language_and_unnamed_languages_as_they_are() -> None:
    piper = Voice("en")
    assert voice_for_language(piper, "", {}) is piper
    assert voice_for_language(piper, "en", {}) is piper
    nameless = Voice()
    assert voice_for_language(nameless, "es", {}) is nameless


def test_the_service_refuses_a_language_a_one_language_voice_cannot_speak() -> None:
    with pytest.raises(ValueError, match=r"\(voice\) speaks 'en' only, not 'es'"):
        voice_for_language(Voice("en"), "es", {})


def test_the_service_keeps_one_view_per_language_of_a_multilingual_engine() -> None:
    engine = Multilingual()
    views: dict[str, Synthesizer] = {}
    spanish = voice_for_language(engine, "es", views)
    assert spanish.language == "es"
    assert voice_for_language(engine, "es", views) is spanish
    assert voice_for_language(engine, "de", views) is not spanish
    assert voice_for_language(engine, "en", views) is engine
    assert engine.asked == ["es", "de"]
