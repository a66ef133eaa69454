"""What a caller's words ask for, recognised by plain code (never by the model)."""

from __future__ import annotations

import re

HUMAN_WORDS = re.compile(
    r"\b(agent|representative|rep|human|real person|live person|someone real|operator|"
    r"supervisor|customer service|(speak|talk) (to|with) (someone|somebody|a person))\b"
)
# Questions about the bot are not requests for a person ("are you a human?").
_ABOUT_THE_BOT = re.compile(r"\b(are|r) (you|u) (a |an )?(real |actual )?(human|person|agent)\b")


def asks_for_human(text: str) -> bool:
    lowered = " ".join(re.findall(r"[a-z']+", text.lower()))
    return bool(HUMAN_WORDS.search(lowered)) and not _ABOUT_THE_BOT.search(lowered)
