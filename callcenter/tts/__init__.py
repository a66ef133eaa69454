"""Text-to-speech: clause chunking, speech normalisation, Piper and XTTS synthesizers.

Importing this package never imports torch: XTTS is loaded only when selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.tts.base import AudioChunk, Synthesizer

if TYPE_CHECKING:
    from callcenter.settings import Settings

__all__ = ["AudioChunk", "Synthesizer", "make_synthesizer"]


def make_synthesizer(settings: Settings) -> Synthesizer:
    """The configured engine, loaded and ready (blocking: call it at start-up)."""
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
    from callcenter.tts.piper import PiperSynthesizer

    return PiperSynthesizer(settings.tts_voice, speaking_rate=settings.tts_speaking_rate)
