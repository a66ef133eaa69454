"""One turn of a transcript as the console and the API show it (call page and handoff page)."""

from __future__ import annotations

from typing import Any

from callcenter.store.models import Turn


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def heard_parts(turn: Turn) -> tuple[str, str]:
    """(heard, not heard) of an agent turn. A barge-in cuts the text; what the caller
    never heard must not be mistaken for something they were told."""
    if turn.speaker.value != "agent":
        return turn.text, ""
    if turn.heard_text is None:
        return ("", turn.text) if turn.interrupted else (turn.text, "")
    heard = turn.heard_text
    if turn.text.startswith(heard):
        return heard, turn.text[len(heard) :]
    return heard, turn.text  # not a prefix: show what was heard, and the whole text unheard


def turn_dict(turn: Turn) -> dict[str, Any]:
    heard, unheard = heard_parts(turn)
    return {
        "seq": turn.seq,
        "speaker": turn.speaker.value,
        "text": turn.text,
        "heard_text": heard,
        "unheard_text": unheard,
        "interrupted": turn.interrupted,
        "source": turn.source,
        "start_ms": turn.start_ms,
        "end_ms": turn.end_ms,
        "latency_ms": turn.latency_ms,
        "asr_confidence": turn.asr_confidence,
    }
