"""DTMF runs: '#' ends a run, '*' erases it, other keys are ignored."""

from __future__ import annotations

from callcenter.dialogue.turns import DtmfCollector


def test_hash_ends_a_run() -> None:
    keys = DtmfCollector()
    assert [keys.press(k) for k in "1001"] == [None] * 4
    assert keys.press("#") == "1001"
    assert keys.pending == ""


def test_star_erases_and_timeout_takes() -> None:
    keys = DtmfCollector()
    for k in "12*43":
        keys.press(k)
    assert keys.pending == "43"
    assert keys.take() == "43"
    assert keys.take() is None


def test_empty_run_is_nothing() -> None:
    assert DtmfCollector().press("#") is None
