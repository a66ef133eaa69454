"""Semantic end of turn: at each pause, is the caller done, or only thinking?

Silence alone answers callers in their thinking pauses ("my account number is ... one zero
zero one"). At each pause the listening stage asks the turn-completion model (Smart Turn,
on the turn's audio) and, once the speculative transcript is in, the words. A finished turn
ends after ``vad_min_silence_ms`` as before; an unfinished one waits up to
``turn_max_silence_ms`` of silence (speculation keeps running meanwhile, its audio held).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from callcenter.settings import Settings

# Words a finished sentence rarely ends on: conjunctions, fillers, articles, prepositions,
# possessives, "is"-type verbs waiting for their object.
_DANGLING = frozenset(
    {
        "and",
        "would",
        "could",
        "should",
        "can",
        "will",
        "must",
        "i",
        "i'm",
        "i'd",
        "we",
        "about",
        "into",
        "onto",
        "this",
        "these",
        "those",
        "some",
        "any",
        "every",
        "very",
        "or",
        "but",
        "so",
        "because",
        "then",
        "um",
        "uh",
        "er",
        "erm",
        "hmm",
        "like",
        "the",
        "a",
        "an",
        "my",
        "your",
        "our",
        "his",
        "her",
        "their",
        "to",
        "of",
        "for",
        "with",
        "from",
        "at",
        "in",
        "on",
        "by",
        "is",
        "are",
        "was",
        "were",
        "it's",
        "its",
        "that",
        "which",
        "who",
        "if",
        "when",
        "than",
        "as",
    }
)
_DIGIT_WORDS = frozenset(
    {
        "zero",
        "oh",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "double",
        "triple",
    }
)
_WORD = re.compile(r"[a-z0-9']+")


def words_unfinished(text: str) -> bool:
    """The words stop where a sentence cannot end ("... and", "my number is", "um")."""
    stripped = text.strip().lower()
    if not stripped or stripped.endswith(("...", "…", ",", "-")):
        return bool(stripped)
    words = _WORD.findall(stripped)
    return bool(words) and words[-1] in _DANGLING


def dictating_digits(text: str) -> bool:
    """The caller is reading out a number: more digits may follow after a breath."""
    words = _WORD.findall(text.lower())
    return bool(words) and (words[-1] in _DIGIT_WORDS or words[-1].isdigit())


@dataclass(frozen=True)
class EndOfTurnPolicy:
    """Attributes:
    complete_at: model probability at or above which the turn counts as finished.
    digits_complete_at: the stricter bar while the caller is dictating digits.
    min_silence_ms: silence that ends a finished turn (``vad_min_silence_ms``).
    max_silence_ms: the longest wait for an unfinished one (then the agent answers).
    """

    complete_at: float = 0.5
    digits_complete_at: float = 0.85
    min_silence_ms: int = 450
    max_silence_ms: int = 2000

    @classmethod
    def from_settings(cls, settings: Settings) -> EndOfTurnPolicy:
        return cls(
            complete_at=settings.turn_complete_threshold,
            min_silence_ms=settings.vad_min_silence_ms,
            max_silence_ms=max(settings.turn_max_silence_ms, settings.vad_min_silence_ms),
        )

    def silence_ms(self, probability: float | None, text: str | None) -> int:
        """The silence after which this pause ends the turn.

        ``probability`` None = no model verdict (yet); ``text`` None = no transcript yet.
        """
        if text is not None and words_unfinished(text):
            return self.max_silence_ms
        if probability is None:
            return self.min_silence_ms
        bar = self.complete_at
        if text is not None and dictating_digits(text):
            bar = max(bar, self.digits_complete_at)
        return self.min_silence_ms if probability >= bar else self.max_silence_ms
