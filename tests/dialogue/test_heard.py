"""What the caller heard: whole clauses played, plus whole words of the clause in progress."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from callcenter.dialogue.heard import SpokenUtterance


def utterance() -> SpokenUtterance:
    spoken = SpokenUtterance()
    spoken.add("Your balance is 2,417 dollars.", 2000)
    spoken.add("Anything else I can help with today?", 2000)
    return spoken


def test_nothing_played_nothing_heard() -> None:
    assert utterance().heard_text(0) == ""


def test_everything_played_is_the_full_text() -> None:
    spoken = utterance()
    assert spoken.heard_text(spoken.duration_ms) == spoken.text
    assert spoken.heard_text(10_000) == spoken.text


def test_first_clause_exactly() -> None:
    assert utterance().heard_text(2000) == "Your balance is 2,417 dollars."


def test_partial_clause_keeps_only_whole_words() -> None:
    heard = utterance().heard_text(2000 + 700)
    assert heard.startswith("Your balance is 2,417 dollars. Anything")
    assert not heard.endswith("today?")
    for word in heard.split():
        assert word in utterance().text.split()


@given(st.floats(min_value=0, max_value=5000), st.floats(min_value=0, max_value=5000))
def test_heard_text_is_a_growing_prefix(a: float, b: float) -> None:
    spoken = utterance()
    first, second = sorted((a, b))
    shorter, longer = spoken.heard_text(first), spoken.heard_text(second)
    assert spoken.text.startswith(longer)
    assert longer.startswith(shorter)
