"""The supervisor's dashboard: aggregates over the store for a period, all in SQL.

PostgreSQL computes percentiles with ``percentile_cont``; SQLite (the embedded default)
has none, so there the percentile is taken over the values the same query selects.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, select, union
from sqlalchemy.orm import Session

from callcenter.store.call_search import outcome_expression
from callcenter.store.calls import LIVE_STATUSES
from callcenter.store.models import (
    Call,
    CallEvent,
    Handoff,
    Speaker,
    ToolInvocation,
    ToolStatus,
    Turn,
)


@dataclass(frozen=True)
class Dashboard:
    since: datetime
    until: datetime
    live_calls: int
    calls: int
    outcomes: dict[str, int]
    containment: float | None  # resolved / ended calls
    calls_per_hour: list[tuple[str, int]]
    handoff_reasons: list[tuple[str, int]]
    task_success: list[dict[str, Any]]  # per tool: ok, total, rate
    answer_latency_ms: dict[str, float | None]  # p50, p95
    barge_in_reaction_ms: dict[str, float | None]
    sentiment: list[tuple[str, int]]
    # Calls whose caller sounded frustrated at some turn (``mood`` events).
    frustrated_calls: int = 0
    # Per task flow: calls where the caller asked for it, how many of them its tool
    # completed, and the rate.
    flow_success: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "live_calls": self.live_calls,
            "calls": self.calls,
            "outcomes": self.outcomes,
            "containment": self.containment,
            "calls_per_hour": [{"hour": h, "calls": n} for h, n in self.calls_per_hour],
            "handoff_reasons": [{"reason": r, "count": n} for r, n in self.handoff_reasons],
            "task_success": self.task_success,
            "flow_success": self.flow_success,
            "answer_latency_ms": self.answer_latency_ms,
            "barge_in_reaction_ms": self.barge_in_reaction_ms,
            "sentiment": [{"sentiment": s, "count": n} for s, n in self.sentiment],
            "frustrated_calls": self.frustrated_calls,
        }


def _percentiles(session: Session, column: Any, *where: Any) -> dict[str, Any]:
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(
            select(
                func.percentile_cont(0.5).within_group(column),
                func.percentile_cont(0.95).within_group(column),
            ).where(*where)
        ).one()
        return {"p50": _round(row[0]), "p95": _round(row[1])}
    values = sorted(
        float(v) for v in session.scalars(select(column).where(*where)) if v is not None
    )
    if not values:
        return {"p50": None, "p95": None}
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0]}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": _round(cuts[49]), "p95": _round(cuts[94])}


def _round(value: Any) -> float | None:
    return round(float(value), 1) if value is not None else None


def _hour(session: Session) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(
            func.date_trunc("hour", func.timezone("UTC", Call.started_at)), "YYYY-MM-DD HH24:00"
        )
    return func.strftime("%Y-%m-%d %H:00", Call.started_at)


def flow_success(
    session: Session, call_ids: Any, flow_tools: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Task success by flow: of the calls in which the caller asked for a flow (a
    ``flow_turn`` event names it as the intent or the running flow), those in which the
    flow's tool then ran successfully. ``flow_tools``: flow name -> its tool."""
    if not flow_tools:
        return []
    turns = (CallEvent.kind == "flow_turn", CallEvent.call_id.in_(call_ids))
    asked = union(
        *(
            select(CallEvent.call_id, CallEvent.payload[key].as_string().label("flow")).where(
                *turns
            )
            for key in ("intent", "flow")
        )
    ).subquery()
    tool = case(
        *((asked.c.flow == flow, literal(name)) for flow, name in flow_tools.items()),
        else_=literal(""),
    )
    done = exists().where(
        and_(
            ToolInvocation.call_id == asked.c.call_id,
            ToolInvocation.name == tool,
            ToolInvocation.status == ToolStatus.ok,
        )
    )
    rows = session.execute(
        select(asked.c.flow, func.count(), func.sum(case((done, 1), else_=0)))
        .where(asked.c.flow.in_(list(flow_tools)))
        .group_by(asked.c.flow)
        .order_by(func.count().desc(), asked.c.flow)
    )
    return [
        {"flow": str(flow), "ok": int(good or 0), "total": int(total), "rate": (good or 0) / total}
        for flow, total, good in rows
    ]


def build(
    session: Session,
    since: datetime,
    until: datetime,
    flow_tools: Mapping[str, str] | None = None,
) -> Dashboard:
    in_period = (Call.started_at >= since, Call.started_at < until)
    live = session.scalar(
        select(func.count()).select_from(Call).where(Call.status.in_(LIVE_STATUSES))
    )
    outcome = outcome_expression().label("outcome")
    outcomes = {
        str(o): int(n)
        for o, n in session.execute(
            select(outcome, func.count()).where(*in_period).group_by(outcome)
        )
    }
    ended = sum(n for o, n in outcomes.items() if o != "live")
    hour = _hour(session).label("hour")
    per_hour = [
        (str(h), int(n))
        for h, n in session.execute(
            select(hour, func.count()).where(*in_period).group_by(hour).order_by(hour)
        )
    ]
    reasons = [
        (str(r), int(n))
        for r, n in session.execute(
            select(Handoff.reason, func.count())
            .join(Call, Call.id == Handoff.call_id)
            .where(*in_period)
            .group_by(Handoff.reason)
            .order_by(func.count().desc())
        )
    ]
    ok = func.sum(case((ToolInvocation.status == ToolStatus.ok, 1), else_=0))
    tasks = [
        {"task": str(name), "ok": int(good or 0), "total": int(total), "rate": (good or 0) / total}
        for name, good, total in session.execute(
            select(ToolInvocation.name, ok, func.count())
            .join(Call, Call.id == ToolInvocation.call_id)
            .where(*in_period)
            .group_by(ToolInvocation.name)
            .order_by(func.count().desc())
        )
    ]
    call_ids = select(Call.id).where(*in_period)
    latency = _percentiles(
        session,
        Turn.latency_ms,
        Turn.call_id.in_(call_ids),
        Turn.speaker == Speaker.agent,
        Turn.latency_ms.is_not(None),
    )
    reaction_value = CallEvent.payload["reaction_ms"].as_float()
    reaction = _percentiles(
        session,
        reaction_value,
        CallEvent.call_id.in_(call_ids),
        CallEvent.kind == "barge_in",
        reaction_value.is_not(None),
    )
    mood = Call.summary["sentiment"].as_string().label("sentiment")
    sentiment = [
        (str(s), int(n))
        for s, n in session.execute(
            select(mood, func.count())
            .where(*in_period, mood.is_not(None))
            .group_by(mood)
            .order_by(func.count().desc())
        )
    ]
    return Dashboard(
        since=since,
        until=until,
        live_calls=int(live or 0),
        calls=sum(outcomes.values()),
        outcomes=outcomes,
        containment=(outcomes.get("resolved", 0) / ended) if ended else None,
        calls_per_hour=per_hour,
        handoff_reasons=reasons,
        task_success=tasks,
        answer_latency_ms=latency,
        barge_in_reaction_ms=reaction,
        sentiment=sentiment,
        frustrated_calls=frustrated_calls(session, call_ids),
        flow_success=flow_success(session, call_ids, flow_tools or {}),
    )


# The caller's smoothed frustration (dialogue/mood.py) from which a call counts as one
# with a frustrated caller: the level at which task flows speak their softer lines.
FRUSTRATED_AT = 0.35


def frustrated_calls(session: Session, call_ids: Any) -> int:
    """Calls among ``call_ids`` whose caller's frustration reached ``FRUSTRATED_AT``."""
    level = CallEvent.payload["frustration"].as_float()
    count = session.scalar(
        select(func.count(func.distinct(CallEvent.call_id))).where(
            CallEvent.call_id.in_(call_ids),
            CallEvent.kind == "mood",
            level >= FRUSTRATED_AT,
        )
    )
    return int(count or 0)
