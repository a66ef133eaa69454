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


def test_calls_whose_caller_sounded_frustrated_are_counted(session: Session) -> None:
    calm, cross, old = (
        _call(session, HOUR + timedelta(minutes=5), CallStatus.completed),
        _call(session, HOUR + timedelta(minutes=6), CallStatus.completed),
        _call(session, HOUR - timedelta(days=2), CallStatus.completed),
    )
    levels = {calm.id: (0.1, 0.2), cross.id: (0.2, 0.5, 0.6), old.id: (0.9,)}
    session.add_all(
        CallEvent(call_id=call_id, kind="mood", payload={"seq": n, "frustration": level})
        for call_id, seq in levels.items()
        for n, level in enumerate(seq, start=1)
    )
    session.flush()
    d = dashboard.build(session, HOUR, HOUR + timedelta(hours=2))
    assert d.frustrated_calls == 1  # once per call, and only calls in the period
    assert d.as_dict()["frustrated_calls"] == 1


FLOW_TOOLS = {"balance": "get_balance", "block_card": "block_card", "verify": "verify_identity"}


def _flow_turn(call: Call, **payload: str | None) -> CallEvent:
    return CallEvent(call_id=call.id, kind="flow_turn", payload=payload)


def test_task_success_by_flow_counts_calls_that_asked_and_those_the_tool_completed(
    session: Session,
) -> None:
    asked_balance = [
        _call(session, HOUR + timedelta(minutes=m), CallStatus.completed) for m in (1, 2, 3)
    ]
    card = _call(session, HOUR + timedelta(minutes=4), CallStatus.transferred)
    earlier = _call(session, HOUR - timedelta(days=2), CallStatus.completed)
    session.add_all(
        [
            # Asked as the intent, then run as the flow: one call counts once.
            _flow_turn(asked_balance[0], intent="balance", flow="verify"),
            _flow_turn(asked_balance[0], intent=None, flow="balance"),
            _flow_turn(asked_balance[1], intent="balance", flow="verify"),
            _flow_turn(asked_balance[2], intent="balance", flow=None),
            _flow_turn(card, intent="block_card", flow="block_card"),
            _flow_turn(earlier, intent="balance", flow="balance"),  # outside the period
            ToolInvocation(
                call_id=asked_balance[0].id, name="verify_identity", status=ToolStatus.ok
            ),
            ToolInvocation(call_id=asked_balance[0].id, name="get_balance", status=ToolStatus.ok),
            ToolInvocation(
                call_id=asked_balance[1].id, name="verify_identity", status=ToolStatus.refused
            ),
            # A tool of another flow does not complete this one.
            ToolInvocation(call_id=asked_balance[2].id, name="block_card", status=ToolStatus.ok),
            ToolInvocation(call_id=card.id, name="block_card", status=ToolStatus.error),
            ToolInvocation(call_id=earlier.id, name="get_balance", status=ToolStatus.ok),
        ]
    )
    session.flush()

    flows = dashboard.build(session, HOUR, HOUR + timedelta(hours=1), FLOW_TOOLS).flow_success
    by_flow = {row["flow"]: (row["ok"], row["total"]) for row in flows}
    assert by_flow == {"balance": (1, 3), "verify": (1, 2), "block_card": (0, 1)}
    assert flows[0]["flow"] == "balance" and round(flows[0]["rate"], 3) == 0.333
    # Without the flows' tools there is nothing to count.
    assert dashboard.build(session, HOUR, HOUR + timedelta(hours=1)).flow_success == []
