"""Requests about the call itself are read from short turns and star codes only."""

from __future__ import annotations

import pytest

from callcenter.text.caller_requests import caller_request


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Slower, please.", "slower"),
        ("Could you slow down a bit?", "slower"),
        ("You're talking too fast.", "slower"),
        ("Speak up please", "louder"),
        ("I can't hear you.", "louder"),
        ("Can you say that again?", "repeat"),
        ("Sorry?", "repeat"),
        ("Repeat that please.", "repeat"),
        ("I didn't catch that", "repeat"),
        ("I can't speak.", "keypad"),
        ("I'd rather use the keypad", "keypad"),
        ("Give me a moment.", "more_time"),
        ("Wait.", "more_time"),
        ("Hold on a second please", "more_time"),
        ("Forget my preferences.", "forget_preferences"),
        ("(keyed on the phone) *2", "slower"),
        ("(keyed on the phone) *1", "repeat"),
        ("(keyed on the phone) *4", "keypad"),
        ("(keyed on the phone) *", "help"),
    ],
)
def test_requests_are_recognised(text: str, expected: str) -> None:
    assert caller_request(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Wait, my account number is 1001.",  # an answer with numbers, not a request
        "I want to check my balance.",
        "Forget it, what's my balance?",  # "forget" the task, not the preferences
        "Can you block my card? I lost it somewhere on the train this morning, I think.",
        "(keyed on the phone) 1001",
        "(keyed on the phone) 2",
        "",
    ],
)
def test_task_turns_are_not_requests(text: str) -> None:
    assert caller_request(text) is None
