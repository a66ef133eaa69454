"""Token sets for constrained decoding: which Whisper tokens can spell a number."""

from __future__ import annotations

import re

from faster_whisper.tokenizer import Tokenizer

from callcenter.text.spoken_numbers import DIGIT_WORDS, REPEATS, SCALES, TEENS, TENS

_NUMBER_WORDS = (set(DIGIT_WORDS) | set(TEENS) | set(TENS) | set(REPEATS) | set(SCALES)) - {
    "o",
    "nil",
    "null",
    "naught",
    "nought",
}
_DIGITS = re.compile(r"^\d+$")
_PUNCT = re.compile(r"^[\s,.\-]*$")


def digit_token_ids(tokenizer: Tokenizer) -> set[int]:
    """Text tokens that are a number word (any case), a run of digits, or separators."""
    allowed: set[int] = {tokenizer.eot}
    vocab = tokenizer.tokenizer.get_vocab()
    for token_id in vocab.values():
        if token_id >= tokenizer.eot:
            continue
        text = tokenizer.tokenizer.decode([token_id])
        core = text.strip()
        if not core:
            continue
        if _DIGITS.match(core) or _PUNCT.match(core) or core.lower() in _NUMBER_WORDS:
            allowed.add(token_id)
    return allowed


def suppress_all_but(allowed: set[int], *, vocab_size: int) -> list[int]:
    """The ``suppress_tokens`` list for CTranslate2: every text token not in ``allowed``."""
    return [i for i in range(vocab_size) if i not in allowed]
