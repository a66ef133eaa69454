"""The deployment's own words: product, street, town, plan and payee names, with how they sound.

Admins keep the glossary as the versioned ``glossary`` prompt (edited and published in the
console like every prompt), one term per line::

    Quillfield | quill field, kill field | town
    Okonkwo Street | oconkwo street, okon kwo street | street

The same list is used three ways: it steers the ASR (a decoder prompt naming the terms,
what faster-whisper calls ``hotwords``), it tells the language model how the names are
spelled, and it fixes known mis-hearings in transcripts. The fix is conservative: it only
ever writes a glossary term, only over a run of words that is one of the term's listed
mis-hearings or spells nearly the same letters (difflib ratio >= ``MIN_SIMILARITY``), and
never over digits.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from typing import Literal, get_args

log = logging.getLogger(__name__)

TermKind = Literal["product", "street", "town", "plan", "payee"]
KINDS: tuple[str, ...] = get_args(TermKind)
PROMPT_NAME = "glossary"

# Letters a run of words must share with a term (difflib ratio on letters only) to be
# taken for it. 0.84 fixes "then plan gold" -> "ZenPlan Gold" (0.87) and leaves
# "plan" vs "plans" or "gold" vs "good" alone (the short-term floor below).
MIN_SIMILARITY = 0.84
MIN_FUZZY_LETTERS = 6  # shorter terms are corrected only from their listed mis-hearings
# Whisper's decoder prompt holds at most 223 tokens; the terms get a share of that.
MAX_PROMPT_CHARS = 400

_WORD = re.compile(r"[A-Za-z0-9'’]+")


class GlossaryError(ValueError):
    """A glossary line an admin wrote that cannot be read (with its line number)."""


@dataclass(frozen=True)
class Term:
    text: str
    sounds_like: tuple[str, ...] = ()
    kind: TermKind = "product"


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def parse_glossary(body: str, *, strict: bool = False) -> list[Term]:
    """Terms from the prompt body. ``strict``: raise on the first bad line (the console
    checks a draft); otherwise bad lines are skipped and logged (a live call goes on)."""
    terms: list[Term] = []
    for number, raw in enumerate(body.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            terms.append(_parse_line(line))
        except GlossaryError as error:
            if strict:
                raise GlossaryError(f"line {number}: {error}") from None
            log.warning("glossary line %d skipped: %s", number, error)
    return terms


def _parse_line(line: str) -> Term:
    parts = [part.strip() for part in line.split("|")]
    if len(parts) > 3:
        raise GlossaryError("expected 'term | sounds like, ... | kind'")
    text = parts[0]
    if len(_letters(text)) < 2 or len(text) > 80:
        raise GlossaryError(f"term {text!r} must have 2 to 80 characters")
    sounds = tuple(s.strip() for s in parts[1].split(",") if s.strip()) if len(parts) > 1 else ()
    kind = parts[2].lower() if len(parts) > 2 and parts[2] else "product"
    if kind not in KINDS:
        raise GlossaryError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if any(ch.isdigit() for s in sounds for ch in s):
        raise GlossaryError("a mis-hearing with digits would rewrite numbers")
    return Term(text, sounds, kind)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Match:
    score: float
    start: int  # word indices, end exclusive
    end: int
    term: Term


class Glossary:
    def __init__(self, terms: list[Term]) -> None:
        self.terms = terms
        # letters of each way a term is said -> (term, whether it is a listed mis-hearing)
        self._forms: list[tuple[str, Term, bool]] = []
        for term in terms:
            self._forms.append((_letters(term.text), term, False))
            for heard in term.sounds_like:
                self._forms.append((_letters(heard), term, True))
        self._max_words = max((_span_words(t) for t in terms), default=0) + 1

    @classmethod
    def from_body(cls, body: str) -> Glossary:
        return cls(parse_glossary(body))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def asr_prompt(self) -> str | None:
        """The decoder prompt that steers Whisper toward the terms (None: no glossary)."""
        if not self.terms:
            return None
        names: list[str] = []
        size = 0
        for term in self.terms:
            size += len(term.text) + 2
            if size > MAX_PROMPT_CHARS:
                break
            names.append(term.text)
        return ", ".join(names) + "."

    def llm_note(self) -> str:
        """A paragraph for the model's system prompt: the names, spelled right."""
        if not self.terms:
            return ""
        listed = "; ".join(f"{t.text} ({t.kind})" for t in self.terms)
        return (
            "Names callers may use (transcripts may mis-spell them; write them exactly "
            f"like this): {listed}."
        )

    def correct(self, text: str) -> tuple[str, list[str]]:
        """The transcript with known mis-hearings fixed, and the terms written in."""
        if not self.terms or not text.strip():
            return text, []
        words = list(_WORD.finditer(text))
        candidates: list[_Match] = []
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + self._max_words) + 1):
                span = text[words[start].start() : words[end - 1].end()]
                if any(ch.isdigit() for ch in span):
                    break
                match = self._best(_letters(span), start, end)
                if match is not None:
                    candidates.append(match)
        chosen: list[_Match] = []
        taken: set[int] = set()
        for match in sorted(candidates, key=lambda m: (-m.score, m.start)):
            if taken.isdisjoint(range(match.start, match.end)):
                chosen.append(match)
                taken.update(range(match.start, match.end))
        out, fixed, cursor = [], [], 0
        for match in sorted(chosen, key=lambda m: m.start):
            begin, finish = words[match.start].start(), words[match.end - 1].end()
            if text[begin:finish] == match.term.text:
                continue  # already right
            out.append(text[cursor:begin])
            out.append(match.term.text)
            fixed.append(match.term.text)
            cursor = finish
        out.append(text[cursor:])
        return "".join(out), fixed

    def _best(self, letters: str, start: int, end: int) -> _Match | None:
        if len(letters) < 2:
            return None
        best: _Match | None = None
        for form, term, listed in self._forms:
            if not form:
                continue
            if letters == form:
                score = 1.0
            elif len(form) >= MIN_FUZZY_LETTERS and abs(len(form) - len(letters)) <= 3:
                score = difflib.SequenceMatcher(None, letters, form).ratio()
                if score < MIN_SIMILARITY:
                    continue
            else:
                continue
            # A listed mis-hearing wins over a near spelling of the term itself.
            score += 0.01 if listed else 0.0
            if best is None or score > best.score:
                best = _Match(score, start, end, term)
        return best


def _span_words(term: Term) -> int:
    return max(len(_WORD.findall(form)) for form in (term.text, *term.sounds_like))
