"""Searching every call (handed off or not) for the console's call list and the API.

The outcome is the post-call summary's disposition once it is written; before that it
is read from the call's status, so a live or just-ended call is listed too. Filters and
pagination run in SQL (PostgreSQL in production, SQLite embedded).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, or_, select
from sqlalchemy.orm import Session

from callcenter.store.models import (
    Call,
    CallStatus,
    Handoff,
    Speaker,
    ToolInvocation,
    ToolStatus,
    Turn,
)

# What the list shows and filters on; "live" and "ended" are calls not yet summarised.
OUTCOMES = ("resolved", "transferred", "abandoned", "failed", "interrupted", "live", "ended")


def outcome_expression() -> ColumnElement[str]:
    disposition = Call.summary["disposition"].as_string()
    return case(
        (Call.status.in_((CallStatus.ringing, CallStatus.in_progress)), "live"),
        (disposition.is_not(None), disposition),
        (Call.status == CallStatus.transferred, "transferred"),
        (exists().where(Handoff.call_id == Call.id), "transferred"),
        (Call.status == CallStatus.failed, "failed"),
        (Call.status == CallStatus.interrupted, "interrupted"),
        else_="ended",
    )


@dataclass(frozen=True)
class CallFilter:
    outcome: str | None = None
    verified: bool | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    text: str = ""  # in the caller's or called number, or anywhere in the transcript
    direction: str | None = None


@dataclass(frozen=True)
class CallRow:
    id: str
    started_at: datetime
    from_number: str
    to_number: str
    direction: str
    duration_s: float | None
    language: str
    outcome: str
    verified: bool
    tasks_done: int
    sentiment: str
    p50_latency_ms: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at.isoformat(),
            "from_number": self.from_number,
            "to_number": self.to_number,
            "direction": self.direction,
            "duration_s": self.duration_s,
            "language": self.language,
            "outcome": self.outcome,
            "verified": self.verified,
            "tasks_done": self.tasks_done,
            "sentiment": self.sentiment,
            "p50_latency_ms": self.p50_latency_ms,
        }


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(filters: CallFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.outcome:
        where.append(outcome_expression() == filters.outcome)
    if filters.verified is not None:
        column = Call.verified_account_id
        where.append(column.is_not(None) if filters.verified else column.is_(None))
    if filters.since:
        where.append(Call.started_at >= datetime.combine(filters.since, time.min, UTC))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time.min, UTC)
        where.append(Call.started_at < end)
    if filters.direction:
        where.append(Call.direction == filters.direction)
    if filters.text.strip():
        pattern = _like(filters.text.strip())
        said = exists().where(Turn.call_id == Call.id, Turn.text.ilike(pattern, escape="\\"))
        where.append(
            or_(
                Call.from_number.ilike(pattern, escape="\\"),
                Call.to_number.ilike(pattern, escape="\\"),
                said,
            )
        )
    return where


def _median_latencies(session: Session, call_ids: list[str]) -> dict[str, int]:
    if not call_ids:
        return {}
    rows = session.execute(
        select(Turn.call_id, Turn.latency_ms).where(
            Turn.call_id.in_(call_ids),
            Turn.speaker == Speaker.agent,
            Turn.latency_ms.is_not(None),
        )
    )
    by_call: dict[str, list[int]] = {}
    for call_id, latency in rows:
        if latency is not None:
            by_call.setdefault(call_id, []).append(latency)
    return {cid: round(statistics.median(values)) for cid, values in by_call.items()}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def search(
    session: Session, filters: CallFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[CallRow], int]:
    """One page of calls, newest first, and how many match in all."""
    where = _conditions(filters)
    total = int(session.scalar(select(func.count()).select_from(Call).where(*where)) or 0)
    tasks = (
        select(func.count())
        .where(ToolInvocation.call_id == Call.id, ToolInvocation.status == ToolStatus.ok)
        .correlate(Call)
        .scalar_subquery()
    )
    query = (
        select(Call, outcome_expression(), tasks)
        .where(*where)
        .order_by(Call.started_at.desc(), Call.id)
        .limit(limit)
        .offset(offset)
    )
    found = list(session.execute(query))
    latencies = _median_latencies(session, [call.id for call, _, _ in found])
    rows = []
    for call, outcome, tasks_done in found:
        started = _aware(call.started_at)
        duration = (
            round((_aware(call.ended_at) - started).total_seconds(), 1) if call.ended_at else None
        )
        summary = call.summary or {}
        rows.append(
            CallRow(
                id=call.id,
                started_at=started,
                from_number=call.from_number,
                to_number=call.to_number,
                direction=call.direction.value,
                duration_s=duration,
                language=call.language,
                outcome=str(outcome),
                verified=call.verified_account_id is not None,
                tasks_done=int(tasks_done or 0),
                sentiment=str(summary.get("sentiment") or ""),
                p50_latency_ms=latencies.get(call.id),
            )
        )
    return rows, total
