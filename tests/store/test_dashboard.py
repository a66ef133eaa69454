"""Dashboard aggregates, on PostgreSQL (percentile_cont) and on SQLite (the embedded one)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from callcenter.store import dashboard
from callcenter.store.models import (
    Base,
    Call,
    CallEvent,
    CallStatus,
    Handoff,
    Speaker,
    ToolInvocation,
    ToolStatus,
    Turn,
)

HOUR = datetime(2031, 5, 6, 10, tzinfo=UTC)
OUTCOMES_OF_TOOLS = (ToolStatus.ok, ToolStatus.ok, ToolStatus.error)


@pytest.fixture(params=["postgresql", "sqlite"])
def session(request: pytest.FixtureRequest, db_session: Session) -> Iterator[Session]:
    if request.param == "postgresql":
        yield db_session
        return
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as lite:
        yield lite
    engine.dispose()


def _call(session: Session, at: datetime, status: CallStatus, **summary: str) -> Call:
    call = Call(
        call_sid="CA" + uuid.uuid4().hex,
        status=status,
        started_at=at,
        ended_at=at + timedelta(minutes=2),
        summary=summary or None,
    )
    session.add(call)
    session.flush()
    return call


def test_the_numbers_come_from_the_records(session: Session) -> None:
    resolved = [
        _call(session, HOUR + timedelta(minutes=m), CallStatus.completed,
              disposition="resolved", sentiment="positive")
        for m in (1, 2, 3)
    ]  # fmt: skip
    moved = _call(session, HOUR + timedelta(hours=1), CallStatus.transferred,
                  disposition="transferred", sentiment="negative")  # fmt: skip
    _call(session, HOUR + timedelta(hours=1, minutes=5), CallStatus.in_progress)  # live
    _call(session, HOUR - timedelta(days=3), CallStatus.completed, disposition="resolved")
    session.add_all(
        [Handoff(call_id=moved.id, reason="caller_request")]
        + [
            Turn(call_id=resolved[0].id, seq=i, speaker=Speaker.agent, text="x", latency_ms=ms)
            for i, ms in enumerate((400, 500, 600, 700, 2000), start=1)
        ]
        + [
            ToolInvocation(call_id=c.id, name="get_balance", status=status)
            for c, status in zip(resolved, OUTCOMES_OF_TOOLS, strict=True)
        ]
        + [CallEvent(call_id=moved.id, kind="barge_in", payload={"reaction_ms": 180.0})]
    )  # fmt: skip
    session.flush()

    d = dashboard.build(session, HOUR, HOUR + timedelta(hours=2))
    assert d.calls == 5 and d.live_calls >= 1
    assert d.outcomes == {"resolved": 3, "transferred": 1, "live": 1}
    assert d.containment == pytest.approx(3 / 4)
    assert d.calls_per_hour == [("2031-05-06 10:00", 3), ("2031-05-06 11:00", 2)]
    assert d.handoff_reasons == [("caller_request", 1)]
    (task,) = d.task_success
    assert task["task"] == "get_balance" and (task["ok"], task["total"]) == (2, 3)
    assert d.answer_latency_ms["p50"] == 600.0
    assert d.answer_latency_ms["p95"] == pytest.approx(1740.0)  # interpolated, as in SQL
    assert d.barge_in_reaction_ms == {"p50": 180.0, "p95": 180.0}
    assert dict(d.sentiment) == {"positive": 3, "negative": 1}

    empty = dashboard.build(session, HOUR + timedelta(days=1), HOUR + timedelta(days=2))
    assert empty.calls == 0 and empty.containment is None
    assert empty.answer_latency_ms == {"p50": None, "p95": None}
