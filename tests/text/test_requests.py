"""Requests for a person are recognised by code, and questions about the bot are not."""

from __future__ import annotations

from callcenter.text.requests import asks_for_human


def test_detects_requests_for_a_person() -> None:
    for text in [
        "Can I talk to a real person?",
        "AGENT!",
        "representative please",
        "I want to speak to someone",
        "get me an operator",
        "customer service",
    ]:
        assert asks_for_human(text), text
    for text in ["Are you a human?", "Somebody stole my card", "what's my balance", ""]:
        assert not asks_for_human(text), text
