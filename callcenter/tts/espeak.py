"""espeak-ng phonemes from the copy bundled in the ``piper-tts`` wheel.

espeak-ng keeps one current voice per process, so phonemising in two languages from two
threads (Piper in English, Kokoro in Spanish) must take turns: :data:`ESPEAK_LOCK`.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache

ESPEAK_LOCK = threading.Lock()
# espeak-ng voice per language code.
ESPEAK_VOICES = {"en": "en-us", "es": "es", "de": "de", "fr": "fr-fr", "it": "it", "pt": "pt"}


@lru_cache(maxsize=1)
def _phonemizer() -> object:
    from piper.phonemize_espeak import EspeakPhonemizer

    return EspeakPhonemizer()


def phonemes(text: str, language: str) -> list[str]:
    """IPA phonemes per sentence (NFC, punctuation kept) for ``text`` in ``language``."""
    voice = ESPEAK_VOICES.get(language, language)
    with ESPEAK_LOCK:
        sentences = _phonemizer().phonemize(voice, text)  # type: ignore[attr-defined]
    return [unicodedata.normalize("NFC", "".join(sentence)).strip() for sentence in sentences]
