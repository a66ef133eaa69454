"""Post-call job: the call's summary and disposition, stored on ``calls.summary``.

Enqueued (after commit) when a call's stream ends. The disposition is decided by code
from the store's facts; the LLM may only rewrite the interpretive parts (intent, open
items, sentiment, notes), as for handoffs. Without a usable model the deterministic
summary is stored with ``source: "fallback"``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.llm.base import ChatModel
from callcenter.settings import Settings, get_settings
from callcenter.store.calls import LIVE_STATUSES, list_tool_invocations, list_turns
from callcenter.store.db import transaction
from callcenter.store.models import Call, CallStatus, Handoff, Speaker, ToolStatus
from callcenter.tasks.celery_app import app
from callcenter.tasks.common import build_chat_model, factory_for
from callcenter.tasks.summary import (
    HandoffSummary,
    fallback_summary,
    summarise_with_llm,
    transcript,
)

log = logging.getLogger(__name__)

LLM = "llm"
FALLBACK = "fallback"
# Tools that change or report something for the caller (verify alone resolves nothing).
_RESOLVING_TOOLS = frozenset(
    {
        "get_balance",
        "list_recent_transactions",
        "update_address",
        "make_payment",
        "block_card",
        "schedule_callback",
    }
)


class Disposition(enum.StrEnum):
    resolved = "resolved"  # the agent answered or acted and the call ended normally
    transferred = "transferred"  # handed to a human
    abandoned = "abandoned"  # the caller left before the agent could answer them
    interrupted = "interrupted"  # our server died during the call
    failed = "failed"  # the call never connected (busy, no answer, ...)


def disposition(session: Session, call: Call) -> Disposition:
    """Plain rules over the stored facts, in order of precedence."""
    has_handoff = session.scalar(select(Handoff.id).where(Handoff.call_id == call.id).limit(1))
    if call.status == CallStatus.transferred or has_handoff is not None:
        return Disposition.transferred
    if call.status == CallStatus.interrupted:
        return Disposition.interrupted
    turns = list_turns(session, call.id)
    if call.status == CallStatus.failed and not turns:
        return Disposition.failed
    tools = list_tool_invocations(session, call.id)
    if any(t.status == ToolStatus.ok and t.name in _RESOLVING_TOOLS for t in tools):
        return Disposition.resolved
    caller = [t for t in turns if t.speaker == Speaker.caller]
    if not caller:
        return Disposition.abandoned
    answered = any(
        t.speaker == Speaker.agent and t.seq > caller[-1].seq and (t.heard_text or t.text)
        for t in turns
    )
    return Disposition.resolved if answered else Disposition.abandoned


def _stored(
    summary: HandoffSummary, call: Call, outcome: Disposition, n_turns: int
) -> dict[str, Any]:
    data: dict[str, Any] = summary.model_dump(
        mode="json",
        include={"intent", "verified", "actions", "open_items", "sentiment", "notes"},
    )
    duration = (
        round((call.ended_at - call.started_at).total_seconds(), 1)
        if call.ended_at and call.started_at
        else None
    )
    return data | {
        "disposition": outcome.value,
        "status": call.status.value,
        "end_reason": call.end_reason,
        "turns": n_turns,
        "duration_s": duration,
    }


def run_post_call(
    factory: sessionmaker[Session],
    call_id: str,
    model_factory: Callable[[], ChatModel] | None,
    settings: Settings,
) -> str:
    """Summarise one ended call; returns what happened (for logs and tests)."""
    with factory() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "missing"
        if call.status in LIVE_STATUSES:
            return "live"  # a late stop; the final status write enqueues again
        if call.summary and call.summary.get("source") == LLM:
            return "already"
        outcome = disposition(session, call)
        facts = fallback_summary(session, call_id, call.end_reason or call.status.value)
        lines = transcript(session, call_id)
    summary, error = facts, None
    if model_factory is not None and any(line.speaker == "caller" for line in lines):
        try:
            summary, error = asyncio.run(_summarise(model_factory, lines, facts))
        except Exception as failure:  # building the model failed
            error = f"{type(failure).__name__}: {str(failure)[:300]}"
    source = LLM if error is None and summary is not facts else FALLBACK
    if error is not None:
        log.warning("call %s keeps the deterministic summary: %s", call_id, error)
    with transaction(factory) as session:
        call = session.get(Call, call_id, with_for_update=True)
        if call is None:
            return "missing"
        if call.summary and call.summary.get("source") == LLM:
            return "already"  # a duplicate delivery finished first
        first = call.summary is None
        data = _stored(summary, call, outcome, len(lines)) | {"source": source}
        if error is not None:
            data["llm_error"] = error
        call.summary = data
        if first and settings.crm_webhook_url:
            from callcenter.tasks.webhooks import queue_event

            queue_event(session, "call.completed", call_id, {"call": call_payload(call)})
    return source


def call_payload(call: Call) -> dict[str, Any]:
    """The call as the CRM sees it (no transcript: it may hold personal data)."""
    return {
        "id": call.id,
        "call_sid": call.call_sid,
        "direction": call.direction.value,
        "from": call.from_number,
        "to": call.to_number,
        "status": call.status.value,
        "started_at": call.started_at.isoformat() if call.started_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "summary": call.summary,
    }


async def _summarise(model_factory: Callable[[], ChatModel], lines: Any, facts: Any) -> Any:
    model = model_factory()
    try:
        return await summarise_with_llm(model, lines, facts)
    finally:
        await model.close()


@app.task(name="callcenter.summarise_call", acks_late=True)
def summarise_call(call_id: str) -> str:
    settings = get_settings()
    return run_post_call(
        factory_for(settings.sqlalchemy_url), call_id, lambda: build_chat_model(settings), settings
    )
