"""Yes, no and corrections, as callers say them to "Is that right?".

"yes", "yeah that's right", "correct" and a keyed 1 are yes; "no", "nope", "that's wrong"
and a keyed 2 are no. "No, it's one zero zero two" is a no *with* a new value: the caller
corrects; the dialogue reads the value from the same turn.
"""

from __future__ import annotations

import re
from typing import Literal

from callcenter.text.digits import keyed_digits

Answer = Literal["yes", "no"]

_WORD = re.compile(r"[a-z']+|\d+")
_YES = frozenset(
    ["yes", "yeah", "yep", "yup", "ya", "yea", "yas", "correct", "right", "sure", "ok", "okay",
     "absolutely", "affirmative", "definitely", "exactly", "confirm", "confirmed", "perfect",
     "alright", "fine", "true", "please", "go", "ahead", "proceed", "do", "it", "that",
     "that's", "thats", "is", "sounds", "good", "great", "thank", "thanks", "you", "uh", "um",
     "oh", "all", "i", "we", "well", "so", "just", "yes,", "mhm", "uh-huh", "indeed", "true"]
)  # fmt: skip
_YES_CORE = frozenset(
    ["yes", "yeah", "yep", "yup", "ya", "yea", "yas", "correct", "right", "sure", "ok", "okay",
     "absolutely", "affirmative", "definitely", "exactly", "confirm", "confirmed", "perfect",
     "alright", "fine", "proceed", "mhm", "indeed", "true"]
)  # fmt: skip
# Whole answers that say yes without a yes word ("Yes, please." reaches a small ASR model
# as "Please." often enough).
_YES_PHRASES = frozenset(
    ["please", "please do", "please do it", "do it", "do it please", "go ahead",
     "go ahead please", "please go ahead", "go for it", "do that", "please do that"]
)  # fmt: skip
_NO = frozenset(["no", "nope", "nah", "not", "wrong", "incorrect", "cancel", "don't", "dont"])
_CORRECTION = re.compile(r"\b(actually|i meant|i mean|instead|rather|make it|change it)\b")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def is_yes_phrase(text: str) -> bool:
    """The whole answer is one of the yeses without a yes word ("Please.", "Go ahead.")."""
    return " ".join(words(text)) in _YES_PHRASES


def yes_or_no(text: str) -> Answer | None:
    """A clear yes or no to a confirmation question, else None (e.g. a new request)."""
    keyed = keyed_digits(text)
    if keyed is not None:
        return "yes" if keyed == "1" else "no" if keyed == "2" else None
    tokens = words(text)
    if not tokens:
        return None
    if any(token in _NO for token in tokens[:3]) or "wrong" in tokens:
        return "no"
    if text.strip().endswith("?"):
        return None  # "is that right?" asks, it does not confirm
    if len(tokens) <= 8 and all(t in _YES for t in tokens) and any(t in _YES_CORE for t in tokens):
        return "yes"
    if is_yes_phrase(text):
        return "yes"
    return None


def is_correction(text: str) -> bool:
    """The caller is changing something they said ("no, it's ...", "actually ...")."""
    lowered = " ".join(words(text))
    return yes_or_no(text) == "no" or bool(_CORRECTION.search(lowered))
