"""Text-to-speech: clause chunking, speech normalisation, Piper and XTTS synthesizers.

Importing this package never imports torch: XTTS is loaded only when selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.tts.base import AudioChunk, Synthesizer

if TYPE_CHECKING:
    from callcenter.settings import Settings

__all__ = [
    "AudioChunk",
    "Synthesizer",
    "make_language_voices",
    "make_local_synthesizer",
    "make_synthesizer",
]

# How long a web process waits at start-up for the TTS service (pods start in any order).
REMOTE_READY_WAIT_S = 60.0


def make_synthesizer(settings: Settings) -> Synthesizer:
    """The TTS service at ``CALLCENTER_TTS_URL`` when set, else the in-process engine.

    Blocking (loads a model or waits for the service): call it at start-up.
    """
    if settings.tts_url:
        from callcenter.tts.remote import RemoteSynthesizer

        return RemoteSynthesizer(
            settings.tts_url,
            wait_ready_s=REMOTE_READY_WAIT_S,
            token=settings.speech_service_token,
        )
    return make_local_synthesizer(settings)


def make_local_synthesizer(settings: Settings) -> Synthesizer:
    """The configured engine in this process, loaded and ready (what ``tts-server`` serves)."""
    if settings.tts_engine == "xtts":
        from callcenter.tts.piper import DEFAULT_VOICE
        from callcenter.tts.xtts import XttsSynthesizer

        if not settings.xtts_model_dir:
            raise ValueError("CALLCENTER_TTS_ENGINE=xtts needs CALLCENTER_XTTS_MODEL_DIR")
        # tts_voice names a built-in XTTS speaker; its default is the Piper voice, which
        # means "not set" here (the model's first built-in speaker is used).
        speaker = "" if settings.tts_voice == DEFAULT_VOICE else settings.tts_voice
        return XttsSynthesizer(
            settings.xtts_model_dir,
            settings.xtts_speaker_wav or None,
            speaker=speaker,
            device=settings.xtts_device,
            speaking_rate=settings.tts_speaking_rate,
        )
    from callcenter.threads import thread_plan
    from callcenter.tts.piper import PiperSynthesizer

    return PiperSynthesizer(
        settings.tts_voice,
        speaking_rate=settings.tts_speaking_rate,
        threads=thread_plan(settings).tts,
    )


KOKORO_PREFIX = "kokoro:"
# XTTS-v2 for a further language: the main XTTS voice's model in-process, or the TTS
# service (CALLCENTER_TTS_URL) asked for that language.
XTTS_SPEC = "xtts"
DEFAULT_LANGUAGE_VOICE = "kokoro:jm_kumo"


def language_voice_specs(settings: Settings) -> dict[str, str]:
    """The voice of each language besides English (the main synthesizer speaks English):
    CALLCENTER_LANGUAGE_VOICES entries, else Kokoro's jm_kumo."""
    from callcenter.settings import split_list

    specs = {lang: DEFAULT_LANGUAGE_VOICE for lang in settings.language_codes if lang != "en"}
    for item in split_list(settings.language_voices):
        code, _, voice = item.partition("=")
        if code.strip() in specs and voice.strip():
            specs[code.strip()] = voice.strip()
    return specs


def make_language_voices(
    settings: Settings, main: Synthesizer | None = None
) -> dict[str, Synthesizer]:
    """One synthesizer per further language (empty for English only).

    ``main`` is the English voice (``make_synthesizer``): a language whose spec is
    "xtts" speaks through its model when it is XTTS in-process. Blocking (loads models):
    call it at start-up.
    """
    from callcenter.threads import thread_plan

    voices: dict[str, Synthesizer] = {}
    threads = thread_plan(settings).tts
    for language, spec in language_voice_specs(settings).items():
        if spec == XTTS_SPEC:
            voices[language] = xtts_language_voice(settings, main, language)
        elif spec.startswith(KOKORO_PREFIX):
            from callcenter.tts.kokoro import KokoroSynthesizer

            voices[language] = KokoroSynthesizer(
                language,
                spec.removeprefix(KOKORO_PREFIX),
                speaking_rate=settings.tts_speaking_rate,
                threads=threads,
            )
        else:
            from callcenter.tts.piper import PiperSynthesizer

            voices[language] = PiperSynthesizer(
                spec, speaking_rate=settings.tts_speaking_rate, threads=threads
            )
    return voices


def xtts_language_voice(settings: Settings, main: Synthesizer | None, language: str) -> Synthesizer:
    """XTTS-v2 speaking ``language``: the main XTTS model in this process, else the TTS
    service; a ValueError (at start-up) when there is neither."""
    for_language = getattr(main, "for_language", None)
    if for_language is not None:
        voice: Synthesizer = for_language(language)
        return voice
    if settings.tts_url:
        from callcenter.tts.remote import RemoteSynthesizer

        return RemoteSynthesizer(
            settings.tts_url,
            wait_ready_s=REMOTE_READY_WAIT_S,
            token=settings.speech_service_token,
            language=language,
        )
    raise ValueError(
        f"CALLCENTER_LANGUAGE_VOICES gives {language}={XTTS_SPEC}, but there is no XTTS to "
        "speak it: set CALLCENTER_TTS_ENGINE=xtts (in-process, with CALLCENTER_XTTS_MODEL_DIR) "
        "or CALLCENTER_TTS_URL (the TTS service), or give this language a Kokoro or Piper voice"
    )
