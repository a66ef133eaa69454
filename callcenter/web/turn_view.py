"""One turn of a transcript as the console and the API show it (call page and handoff page)."""

from __future__ import annotations

from typing import Any

from callcenter.store.models import Turn
from callcenter.text.languages import english_name


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


def turn_dict(
    turn: Turn, *, call_language: str | None = None, translation: str | None = None
) -> dict[str, Any]:
    """``translation``: the machine translation into the human agents' language, if any
    (shown beside the original, labelled machine-made; ``call_ops.translation_info``)."""
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
        # Turns stored before languages were recorded were said in the call's language.
        "language": turn.language or call_language,
        "translation": translation,
    }


def translation_info(target: str, pending: bool) -> dict[str, Any]:
    """What the console says about the call's machine translation into ``target``."""
    return {"language": target, "language_name": english_name(target), "pending": pending}
