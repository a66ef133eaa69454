"""Cut the LLM's streamed text into clauses the TTS can speak while the rest is generated.

The caller hears the first audio only after the first clause is complete, so the first
clause may also end at a comma, semicolon, colon or dash once it has a few words
("Sure, | let me look up your account."). Later clauses end at sentence ends only,
which keeps prosody natural. A boundary is punctuation followed by whitespace, so
"2,417.35", "$1.50" and "9:30" are never cut; known abbreviations ("Mr.", "e.g.") and
initials are not sentence ends.

Clauses are exact slices of the input with surrounding whitespace trimmed: joining all
clauses and :meth:`ClauseChunker.flush` gives back the text, modulo whitespace.
"""

from __future__ import annotations

import re


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


SENTENCE_END = ".!?…"
SOFT_BREAK = ",;:—–-"
# Closing quotes, brackets and markdown emphasis may sit between the punctuation and
# the space ("He said “no.” Then…", "**Done.** Next").
CLOSERS = "\"'”’)]*_"
# Never sentence ends: a title or "for example" is always followed by more words.
ABBREVIATIONS = _words(
    "mr mrs ms dr prof st jr sr vs e.g i.e approx dept inc ltd co corp mt ft ave blvd fig cf u.s"
)
# Sentence ends only when a capitalised word follows ("… at 9 a.m. Tomorrow we …").
AMBIGUOUS_ABBREVIATIONS = _words("a.m p.m etc jan feb mar apr jun jul aug sep sept oct nov dec")
DEFAULT_FIRST_CLAUSE_MIN_WORDS = 3
# The first clause is cut at a word boundary after this many words even without
# punctuation: a caller waits for the whole first clause (generation + synthesis),
# and a model may write twenty words before its first comma.
DEFAULT_FIRST_CLAUSE_MAX_WORDS = 8
# Preferred places for such a forced cut: before these words the break sounds natural.
BREAK_BEFORE = _words(
    "and but or so because which who that when where while if then from to for with at on"
)
_COMPLETE_WORD = re.compile(r"\S+\s+")


class ClauseChunker:
    """Feed text deltas; get complete clauses back as soon as they are complete.

    One chunker per agent reply: only the reply's first clause is cut at soft breaks.
    """

    def __init__(
        self,
        first_clause_min_words: int = DEFAULT_FIRST_CLAUSE_MIN_WORDS,
        first_clause_max_words: int = DEFAULT_FIRST_CLAUSE_MAX_WORDS,
    ) -> None:
        self.first_clause_min_words = first_clause_min_words
        self.first_clause_max_words = first_clause_max_words
        self._buffer = ""
        self._emitted = 0

    def feed(self, delta: str) -> list[str]:
        """Add a text delta; return the clauses it completed (possibly none)."""
        self._buffer += delta
        clauses: list[str] = []
        while (end := self._next_boundary()) is not None:
            clause = self._buffer[:end].strip()
            self._buffer = self._buffer[end:]
            clauses.append(clause)
            self._emitted += 1
        return clauses

    def flush(self) -> str:
        """The rest of the text at the end of the reply ("" if nothing is left)."""
        rest, self._buffer = self._buffer.strip(), ""
        if rest:
            self._emitted += 1
        return rest

    @property
    def pending(self) -> str:
        return self._buffer

    def _next_boundary(self) -> int | None:
        first = self._emitted == 0
        soft = first and self.first_clause_min_words > 0
        end = find_boundary(self._buffer, soft=soft, min_words=self.first_clause_min_words)
        if end is None and first and self.first_clause_max_words > 0:
            end = forced_break(
                self._buffer, self.first_clause_min_words, self.first_clause_max_words
            )
        return end


def forced_break(text: str, min_words: int, max_words: int) -> int | None:
    """Where to cut a first clause that has no punctuation yet: before a conjunction or
    preposition between min and max words, else after max words (None: not long yet)."""
    words = list(_COMPLETE_WORD.finditer(text))
    if len(words) < max_words:
        return None
    for k in range(max_words - 1, max(min_words, 1) - 1, -1):
        if words[k].group().strip().lower() in BREAK_BEFORE:
            return words[k].start()
    return words[max_words - 1].end()


def find_boundary(
    text: str, soft: bool, min_words: int = DEFAULT_FIRST_CLAUSE_MIN_WORDS
) -> int | None:
    """End index (exclusive) of the first complete clause in ``text``, or None.

    None also when the first candidate cannot be decided yet (the text ends right after
    the punctuation): a later candidate must not be taken before an undecided one.
    """
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            if _has_words(text[:i]):
                return i + 1
            i += 1
            continue
        terminal = ch in SENTENCE_END
        if not terminal and not (soft and ch in SOFT_BREAK):
            i += 1
            continue
        j = i + 1
        if terminal:
            while j < n and text[j] in SENTENCE_END:
                j += 1
        while j < n and text[j] in CLOSERS:
            j += 1
        if j >= n:
            return None  # undecided until the next delta shows what follows
        if not text[j].isspace():
            i = j  # "2,417.35", "$1.50", "9:30", "well-known": not a boundary
            continue
        if terminal:
            verdict = _sentence_end_verdict(text, i, j)
            if verdict is None:
                return None
            if verdict and _has_words(text[:j]):
                return j
        elif _soft_break_ok(text, i, min_words):
            return j
        i = j
    return None


def _has_words(text: str) -> bool:
    return any(c.isalnum() for c in text)


def _word_before(text: str, i: int) -> str:
    """The token that ends just before index ``i``, without leading quotes/brackets."""
    start = i
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:i].lstrip("\"'“‘([*_").lower()


def _sentence_end_verdict(text: str, i: int, j: int) -> bool | None:
    """Whether the terminal punctuation at ``i`` ends a sentence (None: not known yet)."""
    if text[i] != "." or (i + 1 < len(text) and text[i + 1] == "."):
        return True  # "!", "?", "…" and "..." always end a sentence
    word = _word_before(text, i)
    if word in ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha() and text[i - 1].isupper():
        return False  # an initial: "John F. Kennedy"
    if word.isdigit() and _at_line_start(text, i - len(word)):
        return False  # a numbered list item: "1. Pay your bill"
    if word in AMBIGUOUS_ABBREVIATIONS:
        k = j
        while k < len(text) and text[k].isspace():
            k += 1
        if k >= len(text):
            return None
        return text[k].isupper()
    return True


def _at_line_start(text: str, index: int) -> bool:
    k = index - 1
    while k >= 0 and text[k] in " \t":
        k -= 1
    return k < 0 or text[k] == "\n"


def _soft_break_ok(text: str, i: int, min_words: int) -> bool:
    ch = text[i]
    if ch == "-" and (i == 0 or not text[i - 1].isspace()):
        return False  # a hyphen or a trailing "-", not a spaced dash " - "
    return len(text[:i].split()) >= min_words
