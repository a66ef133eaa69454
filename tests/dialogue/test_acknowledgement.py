"""A model clause that only acknowledges is recognised, one that answers is not."""

from __future__ import annotations

import pytest

from callcenter.dialogue.prompts import backchannel_lines, default_prompt_set, is_acknowledgement

BACKCHANNELS = backchannel_lines(default_prompt_set())


@pytest.mark.parametrize("clause", ["Sure.", "Got it!", "okay", "All right.", "Of course."])
def test_bare_acknowledgements(clause: str) -> None:
    assert is_acknowledgement(clause, BACKCHANNELS)


@pytest.mark.parametrize(
    "clause",
    ["Sure, I can help with that.", "Okay, your balance is ready.", "No.", "", "1001."],
)
def test_clauses_that_say_something(clause: str) -> None:
    assert not is_acknowledgement(clause, BACKCHANNELS)


def test_an_admins_own_backchannel_line_counts() -> None:
    assert not is_acknowledgement("Mm-hmm.", BACKCHANNELS)
    assert is_acknowledgement("Mm-hmm.", ["Mm-hmm."])
