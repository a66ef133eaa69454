"""The glossary fixes known mis-hearings of its own terms, and nothing else."""

from __future__ import annotations

import pytest

from callcenter.text.glossary import Glossary, GlossaryError, parse_glossary

BODY = """
# term | sounds like | kind
Quillfield | quill field, kill field | town
Okonkwo Street | oconkwo street | street
ZenPlan Gold | | plan
Harbor Bank
"""


@pytest.fixture
def glossary() -> Glossary:
    return Glossary.from_body(BODY)


@pytest.mark.parametrize(
    ("heard", "fixed"),
    [
        ("I moved to kill field last week.", "I moved to Quillfield last week."),
        ("It's 12 oconkwo street.", "It's 12 Okonkwo Street."),
        ("I'm on the then plan gold.", "I'm on the ZenPlan Gold."),  # letters 0.87 alike
        ("Quill Field, Oregon", "Quillfield, Oregon"),
        ("I want the Zen Plan Gold please", "I want the ZenPlan Gold please"),
    ],
)
def test_known_mishearings_are_fixed(glossary: Glossary, heard: str, fixed: str) -> None:
    assert glossary.correct(heard)[0] == fixed


@pytest.mark.parametrize(
    "heard",
    [
        "My account number is 1001.",
        "I'd like to check my balance.",
        "I want a gold card and a new plan.",  # words of a term, not the term
        "Quillfield",  # already right
    ],
)
def test_other_words_are_left_alone(glossary: Glossary, heard: str) -> None:
    text, fixed = glossary.correct(heard)
    assert text == heard and fixed == []


def test_terms_steer_the_asr_and_the_model(glossary: Glossary) -> None:
    assert glossary.asr_prompt() == "Quillfield, Okonkwo Street, ZenPlan Gold, Harbor Bank."
    assert "Okonkwo Street (street)" in glossary.llm_note()
    assert Glossary([]).asr_prompt() is None and Glossary([]).llm_note() == ""


def test_bad_lines_are_reported_in_the_console_and_skipped_in_a_call() -> None:
    with pytest.raises(GlossaryError, match="line 2: kind 'village'"):
        parse_glossary("Quillfield | | town\nElm | | village", strict=True)
    with pytest.raises(GlossaryError, match="digits"):
        parse_glossary("Quillfield | quill 5 | town", strict=True)
    assert [t.text for t in parse_glossary("Quillfield | | town\nElm | | village")] == [
        "Quillfield"
    ]


def test_the_console_refuses_a_glossary_draft_it_cannot_read() -> None:
    from callcenter.web.errors import Invalid
    from callcenter.web.prompt_ops import validate_body

    assert validate_body("glossary", "Quillfield | kill field | town\n") == (
        "Quillfield | kill field | town"
    )
    with pytest.raises(Invalid, match="line 1: kind 'village'"):
        validate_body("glossary", "Elm | | village")
