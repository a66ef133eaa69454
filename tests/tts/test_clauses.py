"""ClauseChunker: clauses come out while the LLM is still writing, and lose no text."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.tts.clauses import ClauseChunker


def chunk_all(deltas: list[str], **kwargs: int) -> list[str]:
    chunker = ClauseChunker(**kwargs)
    clauses = [clause for delta in deltas for clause in chunker.feed(delta)]
    rest = chunker.flush()
    return [*clauses, rest] if rest else clauses


def test_first_clause_is_ready_before_the_text_is_complete() -> None:
    reply = "Okay, I see it, your balance is ready. Anything else?"
    chunker = ClauseChunker()
    words = reply.split(" ")
    first_at = None
    clauses: list[str] = []
    for index, word in enumerate(words):
        out = chunker.feed(word if index == 0 else " " + word)
        if out and first_at is None:
            first_at = index
        clauses += out
    # "Okay," has too few words to stand alone; "Okay, I see it," is spoken at once,
    # as soon as the next word shows the comma ends a clause.
    assert clauses[0] == "Okay, I see it,"
    assert first_at is not None and first_at < len(words) - 1
    assert chunker.flush() == "Anything else?"
    assert clauses[1:] == ["your balance is ready."]


def test_soft_breaks_only_for_the_first_clause() -> None:
    text = "Sure thing, let me check: one moment. Then, after that, we are done."
    assert chunk_all([text]) == [
        "Sure thing, let me check:",
        "one moment.",
        "Then, after that, we are done.",
    ]


def test_numbers_and_abbreviations_are_not_split() -> None:
    text = (
        "Your total is 2,417.35 dollars today. Mr. Smith, e.g. the owner, paid $1.50 at "
        "9:30 a.m. yesterday. Dr. J. Doe agreed! Is that right?"
    )
    assert chunk_all(list(text)) == [
        "Your total is 2,417.35 dollars today.",
        "Mr. Smith, e.g. the owner, paid $1.50 at 9:30 a.m. yesterday.",
        "Dr. J. Doe agreed!",
        "Is that right?",
    ]


def test_a_number_split_across_deltas_waits_for_the_next_delta() -> None:
    chunker = ClauseChunker()
    assert chunker.feed("It costs $1.") == []
    assert chunker.feed("50 a month. Okay") == ["It costs $1.50 a month."]
    assert chunker.flush() == "Okay"


def test_ambiguous_abbreviation_ends_a_sentence_before_a_capital() -> None:
    assert chunk_all(["We open at 9 a.m. Tomorrow works."]) == [
        "We open at 9 a.m.",
        "Tomorrow works.",
    ]


def test_lines_and_list_items_become_clauses() -> None:
    text = "Here are your options:\n1. Pay your bill\n2. Talk to an agent"
    assert chunk_all([text], first_clause_min_words=0) == [
        "Here are your options:",
        "1. Pay your bill",
        "2. Talk to an agent",
    ]


def test_dashes_and_quotes() -> None:
    assert chunk_all(["Let me see — yes, it's paid. He said “done.” Bye."]) == [
        "Let me see —",
        "yes, it's paid.",
        "He said “done.”",
        "Bye.",
    ]
    # A hyphen inside a word is not a dash.
    assert chunk_all(["A well-known, long-standing customer."]) == [
        "A well-known, long-standing customer."
    ]


def test_flush_is_empty_when_everything_was_spoken() -> None:
    chunker = ClauseChunker()
    assert chunker.feed("Done. ") == ["Done."]
    assert chunker.flush() == ""


# Characters plus the tokens the chunker must treat specially.
PIECES = [
    *"abcXYZ019 ",
    *".,!?;:-—$\n'\"",
    " Mr.",
    " e.g.",
    " a.m.",
    " 2,417.35",
    " $1.50",
    "...",
    " 1. ",
]
ALPHABET = st.sampled_from(PIECES)


@st.composite
def text_and_deltas(draw: st.DrawFn) -> tuple[str, list[str]]:
    text = "".join(draw(st.lists(ALPHABET, max_size=60)))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    bounds = [0, *cuts, len(text)]
    return text, [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=300, deadline=None)
@given(text_and_deltas())
def test_clauses_reproduce_the_text_for_any_chunking(case: tuple[str, list[str]]) -> None:
    text, deltas = case
    clauses = chunk_all(deltas)
    assert " ".join(clauses).split() == text.split()
    assert all(clause == clause.strip() and clause for clause in clauses)
    # Where a delta boundary falls never changes where clauses end.
    assert clauses == chunk_all([text])


def test_a_long_first_clause_is_cut_at_a_word_boundary() -> None:
    chunker = ClauseChunker(first_clause_max_words=8)
    text = "Harbor Bank is open Monday to Friday from eight to eight and Saturday mornings."
    clauses = [c for word in text.split(" ") for c in chunker.feed(word + " ")]
    assert clauses[0] == "Harbor Bank is open Monday to Friday"  # cut before "from"
    rest = " ".join([*clauses[1:], chunker.flush()]).strip()
    assert f"{clauses[0]} {rest}" == text


def test_only_the_first_clause_is_forced() -> None:
    chunker = ClauseChunker(first_clause_max_words=4)
    clauses = chunker.feed("Sure, one two three four five six seven eight nine ten ")
    assert clauses == ["Sure, one two three"]
    assert chunker.flush() == "four five six seven eight nine ten"
