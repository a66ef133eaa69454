"""Named queries for calls and what happened in them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from callcenter.store.models import (
    Call,
    CallDirection,
    CallEvent,
    CallStatus,
    Speaker,
    ToolInvocation,
    ToolStatus,
    Turn,
)

LIVE_STATUSES = (CallStatus.ringing, CallStatus.in_progress)


def get_or_create_call(
    session: Session,
    *,
    call_sid: str,
    from_number: str = "",
    to_number: str = "",
    direction: CallDirection = CallDirection.inbound,
) -> Call:
    """Twilio retries webhooks: the CallSid makes recording a call idempotent."""
    call = get_call_by_sid(session, call_sid)
    if call is None:
        call = Call(
            call_sid=call_sid,
            from_number=from_number,
            to_number=to_number,
            direction=direction,
            status=CallStatus.ringing,
        )
        session.add(call)
        session.flush()
    return call


def get_call(session: Session, call_id: str) -> Call | None:
    return session.get(Call, call_id)


def get_call_by_sid(session: Session, call_sid: str) -> Call | None:
    return session.scalar(select(Call).where(Call.call_sid == call_sid))


def set_call_status(
    session: Session, call_id: str, status: CallStatus, *, end_reason: str | None = None
) -> None:
    values: dict[str, Any] = {"status": status}
    if status not in LIVE_STATUSES:
        values["ended_at"] = datetime.now(UTC)
        if end_reason:
            values["end_reason"] = end_reason
    session.execute(update(Call).where(Call.id == call_id).values(**values))


def set_call_language(session: Session, call_id: str, language: str) -> None:
    """The language the call is now held in (the latest one it switched to)."""
    call = session.get(Call, call_id)
    if call is not None:
        call.language = language
        session.flush()


def mark_orphaned_calls_interrupted(session: Session, live_server_ids: Sequence[str]) -> int:
    """Calls left live by a server that is gone (crash, kill -9) are marked interrupted."""
    query = (
        update(Call)
        .where(Call.status.in_(LIVE_STATUSES))
        .values(status=CallStatus.interrupted, ended_at=datetime.now(UTC), end_reason="server_lost")
    )
    if live_server_ids:
        query = query.where(Call.server_id.not_in(live_server_ids) | Call.server_id.is_(None))
    result = session.execute(query)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def add_turn(
    session: Session,
    *,
    call_id: str,
    seq: int,
    speaker: Speaker,
    text: str,
    heard_text: str | None = None,
    interrupted: bool = False,
    source: str = "speech",
    start_ms: int | None = None,
    end_ms: int | None = None,
    asr_confidence: float | None = None,
    latency_ms: int | None = None,
    language: str | None = None,
) -> Turn:
    turn = Turn(
        call_id=call_id,
        seq=seq,
        speaker=speaker,
        text=text,
        heard_text=heard_text,
        interrupted=interrupted,
        source=source,
        start_ms=start_ms,
        end_ms=end_ms,
        asr_confidence=asr_confidence,
        latency_ms=latency_ms,
        language=language,
    )
    session.add(turn)
    if language is not None and speaker == Speaker.caller:
        # The call is held in the language its caller last spoke (the call's language).
        session.execute(update(Call).where(Call.id == call_id).values(language=language))
    session.flush()
    return turn


# Call events that are a reading of one caller turn (``seq`` in the payload): they go
# with the turn when it is taken back.
TURN_READINGS = ("mood",)


def delete_turn(session: Session, *, call_id: str, seq: int) -> None:
    """Take back a turn recorded speculatively (the caller turned out to go on), and
    the readings of it (:data:`TURN_READINGS`), so the call log keeps none of it."""
    session.execute(delete(Turn).where(Turn.call_id == call_id, Turn.seq == seq))
    # Matched here rather than in SQL: a JSON value compares differently per database,
    # and a call has one reading per caller turn.
    readings = session.scalars(
        select(CallEvent).where(CallEvent.call_id == call_id, CallEvent.kind.in_(TURN_READINGS))
    ).all()
    for event in readings:
        if (event.payload or {}).get("seq") == seq:
            session.delete(event)
    session.flush()


def update_agent_turn(
    session: Session,
    *,
    call_id: str,
    seq: int,
    text: str,
    heard_text: str,
    interrupted: bool,
    end_ms: int | None,
) -> None:
    session.execute(
        update(Turn)
        .where(Turn.call_id == call_id, Turn.seq == seq)
        .values(text=text, heard_text=heard_text, interrupted=interrupted, end_ms=end_ms)
    )


def list_turns(session: Session, call_id: str) -> list[Turn]:
    return list(session.scalars(select(Turn).where(Turn.call_id == call_id).order_by(Turn.seq)))


def add_tool_invocation(
    session: Session,
    *,
    call_id: str,
    name: str,
    arguments: dict[str, Any],
    result: dict[str, Any],
    status: ToolStatus,
    duration_ms: int,
    turn_seq: int | None = None,
) -> ToolInvocation:
    row = ToolInvocation(
        call_id=call_id,
        name=name,
        arguments=arguments,
        result=result,
        status=status,
        duration_ms=duration_ms,
        turn_seq=turn_seq,
    )
    session.add(row)
    session.flush()
    return row


def list_tool_invocations(session: Session, call_id: str) -> list[ToolInvocation]:
    return list(
        session.scalars(
            select(ToolInvocation)
            .where(ToolInvocation.call_id == call_id)
            .order_by(ToolInvocation.id)
        )
    )


def add_event(
    session: Session,
    *,
    call_id: str,
    kind: str,
    payload: dict[str, Any] | None = None,
    at_ms: int | None = None,
) -> CallEvent:
    event = CallEvent(call_id=call_id, kind=kind, payload=payload or {}, at_ms=at_ms)
    session.add(event)
    session.flush()
    return event


def list_events(session: Session, call_id: str, kind: str | None = None) -> list[CallEvent]:
    query = select(CallEvent).where(CallEvent.call_id == call_id)
    if kind:
        query = query.where(CallEvent.kind == kind)
    return list(session.scalars(query.order_by(CallEvent.id)))


# --- console test calls -------------------------------------------------------------------

BROWSER_CALL_EVENT = "browser_call"


def create_browser_call(
    session: Session, *, user_id: int, username: str, drafts: Sequence[int] = ()
) -> Call:
    """A call placed from the console's browser (microphone, not a phone line). Who placed
    it and which prompt drafts it tries are recorded in its ``test_call`` event."""
    call = Call(
        call_sid="BR" + uuid.uuid4().hex,
        from_number=f"console:{username}"[:64],
        to_number="agent",
        direction=CallDirection.browser,
        status=CallStatus.ringing,
    )
    session.add(call)
    session.flush()
    add_event(
        session,
        call_id=call.id,
        kind=BROWSER_CALL_EVENT,
        payload={"user_id": user_id, "prompt_version_ids": list(drafts)},
    )
    return call


def browser_call_owner(session: Session, call_id: str) -> int | None:
    """The user who placed a browser test call (None for any other call)."""
    call = get_call(session, call_id)
    if call is None or call.direction != CallDirection.browser:
        return None
    events = list_events(session, call_id, BROWSER_CALL_EVENT)
    owner = events[0].payload.get("user_id") if events else None
    return owner if isinstance(owner, int) else None


def browser_call_drafts(session: Session, call_id: str) -> list[int]:
    """Prompt versions a browser test call tries instead of the published ones. Only a
    browser call has them: nothing a phone call carries can select a draft."""
    call = get_call(session, call_id)
    if call is None or call.direction != CallDirection.browser:
        return []
    events = list_events(session, call_id, BROWSER_CALL_EVENT)
    ids = events[0].payload.get("prompt_version_ids", []) if events else []
    return [i for i in ids if isinstance(i, int)]
