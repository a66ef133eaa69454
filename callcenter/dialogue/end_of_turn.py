"""Semantic end of turn: at each pause, is the caller done, or only thinking?

Silence alone answers callers in their thinking pauses ("my account number is ... one zero
zero one"). At each pause the listening stage asks the turn-completion model (Smart Turn,
on the turn's audio) and, once the speculative transcript is in, the words:

* finished: words that wholly answer the question the agent waits on (the task flow's
  exact parsers read the account number, PIN, date, amount or choice it asked for, or a
  yes/no to a read-back), or a standalone reply ("yes", "no thanks", "that's right") the
  model calls finished: the turn ends after ``vad_min_silence_ms`` (the answer stays
  fast: most turns of a task are answers to the agent's questions);
* unsure: anything else, or the model's doubt: ``turn_max_silence_ms``, above a thinking
  pause (speculation keeps running meanwhile, its audio held);
* unfinished: words that stop mid-sentence ("... and", "my number is"): after
  ``turn_prompt_after_ms`` the turn ends unfinished and the agent says a gentle "Take
  your time." instead of answering the fragment.

Why other turns are never "finished" on the model's word: on 8 kHz phone audio Smart Turn
hears a sentence cut at a word gap as finished as often as the whole one (README,
``callcenter bench turns``), so only the wait protects a caller's thinking pause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

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
_CLAUSE_BREAK = re.compile(r"[.,!?;]+")


def words_unfinished(text: str) -> bool:
    """The words stop where a sentence cannot end ("... and", "my number is", "um")."""
    stripped = text.strip().lower()
    if stripped.endswith("?"):
        return False  # a whole question ("can you repeat that?"), whatever its last word
    if not stripped or stripped.endswith(("...", "…", ",", "-")):
        return bool(stripped)
    return ends_on_dangling_word(stripped)


def ends_on_dangling_word(text: str) -> bool:
    """The last word is one a sentence rarely ends on ("and", "my", "is", "um")."""
    words = _WORD.findall(text.lower())
    return bool(words) and words[-1] in _DANGLING


# Replies that are whole on their own: a caller who pauses after one of them is done.
# Anything else may be the first half of a sentence ("My card ... was stolen").
STANDALONE_REPLIES = frozenset(
    {
        "yes", "yeah", "yep", "yup", "yes please", "yes it is", "yes that's right", "no",
        "nope", "no thanks", "no thank you", "no thank", "no it isn't", "no it's not",
        "not right", "that's not right", "that's wrong", "wrong", "okay", "ok",
        "sure", "correct", "that's correct", "that is correct", "right", "that's right",
        "exactly", "thanks", "thank you", "thank you very much", "goodbye", "bye",
        "bye bye", "that's all", "that's it", "nothing else", "no that's all", "hello",
        "hi", "stop", "cancel", "never mind", "agent", "operator", "representative",
        "a person", "a human", "that's all goodbye", "that's all thank you",
        "that's all thanks", "thank you goodbye", "thanks bye", "okay bye", "okay thank you",
    }
)  # fmt: skip


def standalone_reply(text: str) -> bool:
    """ "Yes.", "No, thank you.", "No, that's all. Goodbye.": a reply nothing more follows
    (the whole of it, or each of its comma- or sentence-separated parts)."""
    parts = [part for part in _CLAUSE_BREAK.split(text) if part.strip()]
    if len(parts) > 1 and all(_standalone(part) for part in parts):
        return True
    return _standalone(text)


def _standalone(text: str) -> bool:
    phrase = " ".join(_WORD.findall(text.lower().replace("’", "'")))
    if phrase in STANDALONE_REPLIES:
        return True
    for tail in (" please", " thanks", " thank you"):
        if phrase.endswith(tail) and phrase[: -len(tail)] in STANDALONE_REPLIES:
            return True
    return False


def dictating_digits(text: str) -> bool:
    """The caller is reading out a number: more digits may follow after a breath."""
    words = _WORD.findall(text.lower())
    return bool(words) and (words[-1] in _DIGIT_WORDS or words[-1].isdigit())


Verdict = Literal["finished", "unsure", "unfinished"]


@dataclass(frozen=True)
class EndOfTurnPolicy:
    """Attributes:
    complete_at: model probability at or above which the turn may count as finished.
    quick_replies: a standalone reply ("yes", "no thanks", "that's right") the model calls
        finished is *finished* (False: every turn waits ``max_silence_ms``). Anything else
        is *unsure*: on phone audio the model hears a sentence cut at a word gap as
        finished as often as a whole one (README, ``bench turns``).
    min_silence_ms: silence that ends a finished turn (``vad_min_silence_ms``).
    max_silence_ms: silence that ends an unsure turn (``turn_max_silence_ms``): above a
        thinking pause, so a caller is not answered mid-sentence.
    prompt_after_ms: silence after words that stop where a sentence cannot ("... and",
        "my number is"): the turn ends *unfinished* and the agent prompts gently instead
        of answering (``turn_prompt_after_ms``; 0 = end after ``max_silence_ms`` and
        answer like an unsure turn).
    """

    complete_at: float = 0.5
    quick_replies: bool = True
    min_silence_ms: int = 450
    max_silence_ms: int = 2000
    prompt_after_ms: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> EndOfTurnPolicy:
        max_ms = max(settings.turn_max_silence_ms, settings.vad_min_silence_ms)
        return cls(
            complete_at=settings.turn_complete_threshold,
            quick_replies=settings.turn_quick_replies,
            min_silence_ms=settings.vad_min_silence_ms,
            max_silence_ms=max_ms,
            prompt_after_ms=max(settings.turn_prompt_after_ms, max_ms)
            if settings.turn_prompt_after_ms
            else 0,
        )

    def verdict(
        self, probability: float | None, text: str | None, *, answered: bool = False
    ) -> Verdict:
        """``probability`` None = no model verdict; ``text`` None = no transcript yet;
        ``answered``: the words wholly answer the question the agent waits on (its
        exact parsers read a slot value or a yes/no), which the words themselves prove:
        finished without the model."""
        # A trailing comma or "..." is the recogniser's guess, not the caller's: an answer
        # that ends on a whole word ("No, no, no," for "No, that's all") is whole. An
        # answer ending on "and" or "my" is still unfinished, and so is a number read out
        # with a breath after it ("one zero zero one, ...").
        if (
            text is not None
            and answered
            and self.quick_replies
            and not ends_on_dangling_word(text)
            and not (words_unfinished(text) and dictating_digits(text))
        ):
            return "finished"
        if text is not None and words_unfinished(text):
            return "unfinished"
        if probability is None or text is None or probability < self.complete_at:
            return "unsure"
        return "finished" if self.quick_replies and standalone_reply(text) else "unsure"

    def silence_ms(
        self, probability: float | None, text: str | None, *, answered: bool = False
    ) -> int:
        """The silence after which this pause ends the turn."""
        verdict = self.verdict(probability, text, answered=answered)
        if verdict == "finished":
            return self.min_silence_ms
        if verdict == "unfinished" and self.prompt_after_ms:
            return self.prompt_after_ms
        return self.max_silence_ms
