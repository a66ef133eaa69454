"""The vocabulary benchmark's scoring (the run itself needs the models: `callcenter bench
vocabulary`)."""

from __future__ import annotations

from callcenter.bench.vocabulary import SENTENCES, TERMS, has_term, table


def test_a_term_counts_only_when_written_whole() -> None:
    assert has_term("I moved to okonkwo street, last month", "Okonkwo Street")
    assert not has_term("I moved to oconkwo street", "Okonkwo Street")
    assert not has_term("I want the zenplan golden", "ZenPlan Gold")


def test_every_sentence_holds_its_term_and_every_term_is_used() -> None:
    assert all(has_term(text, term) for text, term in SENTENCES)
    assert {term for _, term in SENTENCES} == {t.text for t in TERMS}


def test_the_readme_table() -> None:
    cells = {"wer": 0.25, "term_accuracy": 0.5}
    report = {"voices": ["us"], "conditions": {"none": {"us": cells, "all": cells}}}
    assert table(report).splitlines()[-1] == "| none | 25.0 % / 50 % | 25.0 % / 50 % |"
