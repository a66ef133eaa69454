"""Handoffs to human agents: the queue, one handoff with its call, accept and resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from callcenter.store.calls import list_tool_invocations, list_turns
from callcenter.store.models import (
    Account,
    Call,
    Handoff,
    HandoffStatus,
    ToolInvocation,
    Turn,
    User,
)

# Resolved handoffs stay in the live list this long, so an agent sees what just closed.
RECENTLY_RESOLVED = timedelta(hours=12)


class HandoffConflict(Exception):
    """The handoff is not in a state that allows the action (e.g. accepted by someone else)."""


# Handoff reasons are stored as codes (EscalationReason); people read these.
REASON_LABELS = {
    "caller_request": "Caller asked for a person",
    "dtmf_zero": "Caller pressed 0",
    "frustration": "Caller sounded frustrated",
    "misunderstanding": "Agent kept misunderstanding",
    "failed_verification": "Identity could not be verified",
    "model_transfer": "Agent decided to transfer",
    "llm_unavailable": "Language model unavailable",
    "shutdown": "Server was shutting down",
    "other": "Other",
}


def reason_label(code: str) -> str:
    if not code:
        return ""
    return REASON_LABELS.get(code, code.replace("_", " ").capitalize())


@dataclass(frozen=True)
class HandoffRow:
    """One line of the queue, as the list page and the live feed show it."""

    id: int
    call_id: str
    status: str
    reason: str
    caller: str
    caller_intent: str
    sentiment: str
    verified: bool
    assigned_to: str | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "call_id": self.call_id,
            "status": self.status,
            "reason": self.reason,
            "reason_label": reason_label(self.reason),
            "caller": self.caller,
            "caller_intent": self.caller_intent,
            "sentiment": self.sentiment,
            "verified": self.verified,
            "assigned_to": self.assigned_to,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class VerifiedAccount:
    account_number: str
    customer_name: str


@dataclass(frozen=True)
class HandoffDetail:
    handoff: Handoff
    call: Call
    turns: list[Turn]
    tools: list[ToolInvocation]
    verified: VerifiedAccount | None
    assigned_to: str | None


def queue(session: Session, *, status: str | None = None, limit: int = 200) -> list[HandoffRow]:
    """Open handoffs (pending, accepted) and recently resolved ones, newest first."""
    query = (
        select(Handoff, Call.from_number, User.username)
        .join(Call, Call.id == Handoff.call_id)
        .outerjoin(User, User.id == Handoff.assigned_user_id)
    )
    if status:
        query = query.where(Handoff.status == HandoffStatus(status))
    else:
        cutoff = datetime.now(UTC) - RECENTLY_RESOLVED
        query = query.where(
            or_(Handoff.status != HandoffStatus.resolved, Handoff.resolved_at >= cutoff)
        )
    query = query.order_by(Handoff.created_at.desc(), Handoff.id.desc()).limit(limit)
    rows: list[HandoffRow] = []
    for handoff, caller, assigned in session.execute(query):
        summary = handoff.summary or {}
        rows.append(
            HandoffRow(
                id=handoff.id,
                call_id=handoff.call_id,
                status=handoff.status.value,
                reason=handoff.reason,
                caller=caller or "",
                # The summary stores "intent"; older rows used "caller_intent".
                caller_intent=str(summary.get("intent") or summary.get("caller_intent") or ""),
                sentiment=str(summary.get("sentiment") or ""),
                verified=bool(summary.get("verified")),
                assigned_to=assigned,
                created_at=handoff.created_at,
            )
        )
    return rows


def detail(session: Session, handoff_id: int) -> HandoffDetail | None:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        return None
    call = session.get(Call, handoff.call_id)
    if call is None:  # the FK cascades; only a concurrent delete gets here
        return None
    verified = None
    if call.verified_account_id is not None:
        account = session.get(Account, call.verified_account_id)
        if account is not None:
            verified = VerifiedAccount(account.account_number, account.customer.full_name)
    assigned = None
    if handoff.assigned_user_id is not None:
        user = session.get(User, handoff.assigned_user_id)
        assigned = user.username if user is not None else None
    return HandoffDetail(
        handoff=handoff,
        call=call,
        turns=list_turns(session, call.id),
        tools=list_tool_invocations(session, call.id),
        verified=verified,
        assigned_to=assigned,
    )


def accept(session: Session, handoff_id: int, user: User) -> Handoff:
    """Take a pending handoff. A conditional UPDATE: of two agents clicking at once,
    exactly one wins and the other gets a conflict."""
    now = datetime.now(UTC)
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.pending)
        .values(status=HandoffStatus.accepted, assigned_user_id=user.id, accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    handoff = _reload(session, handoff_id)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise HandoffConflict(f"handoff {handoff_id} is {handoff.status.value}, not pending")
    return handoff


def resolve(session: Session, handoff_id: int, user: User, note: str, *, force: bool) -> Handoff:
    """Close an accepted handoff. Only its assignee may, unless ``force`` (admins)."""
    handoff = _reload(session, handoff_id)
    if handoff.status != HandoffStatus.accepted:
        raise HandoffConflict(f"handoff {handoff_id} is {handoff.status.value}, not accepted")
    if handoff.assigned_user_id != user.id and not force:
        raise HandoffConflict(f"handoff {handoff_id} is assigned to someone else")
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.accepted)
        .values(
            status=HandoffStatus.resolved,
            resolved_at=datetime.now(UTC),
            resolution_note=note.strip()[:4000],
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise HandoffConflict(f"handoff {handoff_id} changed meanwhile")
    return _reload(session, handoff_id)


def _reload(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id, populate_existing=True)
    if handoff is None:
        raise LookupError(f"handoff {handoff_id} does not exist")
    return handoff
