"""Calls for the console and the API: parsing the list's filters, one call's full record."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from callcenter.store import audit, call_search
from callcenter.store.calls import list_events, list_tool_invocations, list_turns
from callcenter.store.handoffs import reason_label
from callcenter.store.models import Account, Call, Handoff, User
from callcenter.store.translations import needs_translation, translations_of_call
from callcenter.tasks.outbox import enqueue_after_commit
from callcenter.tasks.translation import translate_call
from callcenter.web.errors import Invalid, NotFound
from callcenter.web.turn_view import iso, translation_info, turn_dict

PAGE_SIZE = 50
MAX_PAGE = 500
# Events the call page shows; marks and the like are plumbing, not what a supervisor reads.
SHOWN_EVENTS = (
    "barge_in",
    "answered_by",
    "dtmf",
    "backchannel",
    "escalation",
    "reprompt",
    "take_your_time",
    "false_interruption",
    "error",
    "guarded",
    "stop",
)


def parse_filter(params: QueryParams) -> call_search.CallFilter:
    def day(key: str) -> date | None:
        raw = params.get(key, "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise Invalid(f"{key}: use YYYY-MM-DD") from None

    outcome = params.get("outcome", "").strip() or None
    if outcome is not None and outcome not in call_search.OUTCOMES:
        raise Invalid("outcome: one of " + ", ".join(call_search.OUTCOMES))
    verified_raw = params.get("verified", "").strip().lower()
    if verified_raw not in ("", "yes", "no", "true", "false"):
        raise Invalid("verified: yes or no")
    verified = None if not verified_raw else verified_raw in ("yes", "true")
    direction = params.get("direction", "").strip() or None
    if direction is not None and direction not in ("inbound", "outbound", "browser"):
        raise Invalid("direction: inbound, outbound or browser")
    return call_search.CallFilter(
        outcome=outcome,
        verified=verified,
        since=day("since"),
        until=day("until"),
        text=params.get("q", "")[:200],
        direction=direction,
    )


def parse_page(params: QueryParams) -> tuple[int, int]:
    try:
        limit = min(max(int(params.get("limit", str(PAGE_SIZE))), 1), MAX_PAGE)
        offset = max(int(params.get("offset", "0")), 0)
    except ValueError:
        raise Invalid("limit/offset: whole numbers") from None
    return limit, offset


def _moods(session: Session, call_id: str) -> dict[int, float]:
    """The caller's smoothed frustration after each caller turn (``mood`` events)."""
    moods = {}
    for event in list_events(session, call_id):
        payload = event.payload or {}
        if event.kind == "mood" and isinstance(payload.get("seq"), int):
            moods[payload["seq"]] = float(payload.get("frustration", 0.0))
    return moods


def _transcript(session: Session, call: Call, target: str) -> list[dict[str, Any]]:
    moods = _moods(session, call.id)
    translations = translations_of_call(session, call.id, target)
    return [
        {
            **turn_dict(turn, call_language=call.language, translation=translations.get(turn.seq)),
            "frustration": moods.get(turn.seq),
        }
        for turn in list_turns(session, call.id)
    ]


def detail(session: Session, call_id: str, translation_language: str = "en") -> dict[str, Any]:
    """Everything the call page and ``GET /api/v1/calls/{id}`` show about one call;
    turns carry their machine translation into ``translation_language`` (the human
    agents' language), where one was made."""
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"no call {call_id}")
    row = session.scalar(select(call_search.outcome_expression()).where(Call.id == call_id))
    verified = None
    if call.verified_account_id is not None:
        account = session.get(Account, call.verified_account_id)
        if account is not None:
            verified = {
                "account_number": account.account_number,
                "customer_name": account.customer.full_name,
            }
    handoffs = session.scalars(
        select(Handoff).where(Handoff.call_id == call_id).order_by(Handoff.id)
    )
    return {
        "id": call.id,
        "call_sid": call.call_sid,
        "from_number": call.from_number,
        "to_number": call.to_number,
        "direction": call.direction.value,
        "status": call.status.value,
        "language": call.language,
        "outcome": str(row),
        "started_at": iso(call.started_at),
        "ended_at": iso(call.ended_at),
        "end_reason": call.end_reason,
        "verified_identity": verified,
        "summary": call.summary or {},
        "transcript": _transcript(session, call, translation_language),
        "translation": translation_info(
            translation_language, needs_translation(session, call_id, translation_language)
        ),
        "tool_calls": [
            {
                "name": t.name,
                "status": t.status.value,
                "arguments": t.arguments,
                "result": t.result,
                "duration_ms": t.duration_ms,
                "turn_seq": t.turn_seq,
            }
            for t in list_tool_invocations(session, call_id)
        ],
        "events": [
            {"kind": e.kind, "at_ms": e.at_ms, "payload": e.payload}
            for e in list_events(session, call_id)
            if e.kind in SHOWN_EVENTS
        ],
        "handoffs": [
            {
                "id": h.id,
                "status": h.status.value,
                "reason": h.reason,
                "reason_label": reason_label(h.reason),
            }
            for h in handoffs
        ],
    }


def request_translation(session: Session, actor: User, call_id: str, target: str) -> bool:
    """Ask the worker to machine-translate the call's turns into ``target`` (after the
    commit); False when no turn needs it (nothing is enqueued)."""
    if session.get(Call, call_id) is None:
        raise NotFound(f"no call {call_id}")
    if not needs_translation(session, call_id, target):
        return False
    enqueue_after_commit(session, translate_call, call_id, target)
    audit.record(
        session,
        actor=actor,
        action="call.translate",
        target_type="call",
        target_id=call_id,
        details={"language": target},
    )
    return True
