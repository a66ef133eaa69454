"""Accepting and resolving handoffs, and their JSON shape, for the console and the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from callcenter.store import audit
from callcenter.store import handoffs as handoff_store
from callcenter.store.models import Handoff, Role, User
from callcenter.store.translations import needs_translation, translations_of_call
from callcenter.web.errors import Conflict, NotFound
from callcenter.web.turn_view import iso, translation_info, turn_dict

MAX_NOTE = 4000


def detail(session: Session, handoff_id: int) -> handoff_store.HandoffDetail:
    found = handoff_store.detail(session, handoff_id)
    if found is None:
        raise NotFound(f"no handoff {handoff_id}")
    return found


def accept(session: Session, actor: User, handoff_id: int) -> Handoff:
    detail(session, handoff_id)
    try:
        handoff = handoff_store.accept(session, handoff_id, actor)
    except handoff_store.HandoffConflict as error:
        raise Conflict(str(error)) from None
    audit.record(
        session,
        actor=actor,
        action="handoff.accept",
        target_type="handoff",
        target_id=handoff_id,
        details={"call_id": handoff.call_id},
    )
    return handoff


def resolve(session: Session, actor: User, handoff_id: int, note: str) -> Handoff:
    detail(session, handoff_id)
    try:
        handoff = handoff_store.resolve(
            session, handoff_id, actor, note[:MAX_NOTE], force=actor.role == Role.admin
        )
    except handoff_store.HandoffConflict as error:
        raise Conflict(str(error)) from None
    audit.record(
        session,
        actor=actor,
        action="handoff.resolve",
        target_type="handoff",
        target_id=handoff_id,
        details={"call_id": handoff.call_id, "note_chars": len(handoff.resolution_note)},
    )
    return handoff


def detail_view(session: Session, handoff_id: int, translation_language: str) -> dict[str, Any]:
    """One handoff for the agent's page and the API, turns with their machine
    translation into ``translation_language`` (the human agents') where one was made."""
    found = detail(session, handoff_id)
    translations = translations_of_call(session, found.call.id, translation_language)
    view = detail_dict(found, translations)
    view["translation"] = translation_info(
        translation_language, needs_translation(session, found.call.id, translation_language)
    )
    return view


def detail_dict(
    found: handoff_store.HandoffDetail, translations: Mapping[int, str] | None = None
) -> dict[str, Any]:
    h, call = found.handoff, found.call
    translations = translations or {}
    return {
        "id": h.id,
        "status": h.status.value,
        "reason": h.reason,
        "reason_label": handoff_store.reason_label(h.reason),
        "summary": h.summary or {},
        "summary_source": h.summary_source,
        "destination": h.destination,
        "assigned_to": found.assigned_to,
        "created_at": iso(h.created_at),
        "accepted_at": iso(h.accepted_at),
        "resolved_at": iso(h.resolved_at),
        "resolution_note": h.resolution_note,
        "call": {
            "id": call.id,
            "call_sid": call.call_sid,
            "from_number": call.from_number,
            "to_number": call.to_number,
            "status": call.status.value,
            "started_at": iso(call.started_at),
            "ended_at": iso(call.ended_at),
            "language": call.language,
        },
        "verified_identity": (
            {
                "account_number": found.verified.account_number,
                "customer_name": found.verified.customer_name,
            }
            if found.verified
            else None
        ),
        "transcript": [
            turn_dict(turn, call_language=call.language, translation=translations.get(turn.seq))
            for turn in found.turns
        ],
        "tool_calls": [
            {
                "name": t.name,
                "status": t.status.value,
                "arguments": t.arguments,
                "result": t.result,
                "duration_ms": t.duration_ms,
                "turn_seq": t.turn_seq,
                "created_at": iso(t.created_at),
            }
            for t in found.tools
        ],
    }
