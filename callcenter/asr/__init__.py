"""Speech to text: the Transcriber protocol, the Whisper engine and cross-call batching."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.asr.base import ASR_RATE, HINT_DIGITS, Transcriber, Transcript

if TYPE_CHECKING:
    from callcenter.asr.faster_whisper import WhisperEngine
    from callcenter.settings import Settings

__all__ = [
    "ASR_RATE",
    "HINT_DIGITS",
    "Transcriber",
    "Transcript",
    "make_local_transcriber",
    "make_transcriber",
]


def make_transcriber(settings: Settings) -> Transcriber:
    """The process-wide transcriber: the ASR service at ``CALLCENTER_ASR_URL`` when set
    (one GPU shared by many web pods), else the in-process engine."""
    if settings.asr_url:
        from callcenter.asr.remote import RemoteTranscriber

        return RemoteTranscriber(settings.asr_url, token=settings.speech_service_token)
    return make_local_transcriber(settings)


def make_local_transcriber(settings: Settings) -> Transcriber:
    """The Whisper engine behind the cross-call batcher (what ``asr-server`` serves); with
    ``CALLCENTER_LANGUAGE_ASR_MODELS``, one per model, chosen by the call's language.

    Loading a model takes a few seconds; call this once at start-up (app lifespan).
    """
    # Imported here so that importing callcenter.asr stays cheap (no CTranslate2 load).
    from callcenter.asr.batcher import BatchingTranscriber
    from callcenter.asr.routing import LanguageRoutedTranscriber

    # More than one language: the multilingual model names each utterance's language.
    multilingual = settings.language_codes != ("en",)
    default_model = settings.asr_multilingual_model if multilingual else settings.asr_model
    engines = {default_model: _whisper(settings, default_model)}
    for language, model in settings.asr_models_by_language.items():
        if model not in engines:  # a model named twice (or the default's) loads once
            engines[model] = _whisper(settings, model)
        if language != "en" and not engines[model].multilingual:
            raise ValueError(
                f"CALLCENTER_LANGUAGE_ASR_MODELS: {model} is an English-only model; "
                f"it cannot hear {language!r}"
            )
    batched = {
        model: BatchingTranscriber(
            engine, max_batch_size=settings.asr_batch_size, max_wait_ms=settings.asr_batch_wait_ms
        )
        for model, engine in engines.items()
    }
    default = batched[default_model]
    overrides = {
        language: batched[model]
        for language, model in settings.asr_models_by_language.items()
        if model != default_model
    }
    if not overrides:
        return default
    # A multilingual override keeps naming the language; a one-language one cannot.
    detecting = [
        language
        for language, model in settings.asr_models_by_language.items()
        if engines[model].multilingual
    ]
    return LanguageRoutedTranscriber(default, overrides, detecting=detecting)


def _whisper(settings: Settings, model: str) -> WhisperEngine:
    from callcenter.asr.faster_whisper import WhisperEngine
    from callcenter.threads import thread_plan

    return WhisperEngine(
        model,
        # A multilingual model names each utterance's language among these (an
        # English-only model ignores them).
        languages=settings.language_codes,
        device=settings.asr_device,
        compute_type=settings.asr_compute_type,
        min_window_s=settings.asr_window_s,
        # On the CPU, share the cores with the other engines (see callcenter/threads.py).
        intra_threads=settings.asr_threads
        if settings.asr_device == "cuda"
        else thread_plan(settings).asr,
    )
