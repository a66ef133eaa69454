"""The audit log: who changed what, when. Rows are only ever added."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from callcenter.store.models import AuditLog, User


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    target_type: str = "",
    target_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    row = AuditLog(
        actor_user_id=actor.id if actor is not None else None,
        # The name is copied: the log must still read right after a user is renamed/removed.
        actor=actor.username if actor is not None else "system",
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=details or {},
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor: str = ""
    target_type: str = ""
    target_id: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.action:
            # "prompt." matches every prompt action; a full name matches exactly.
            if self.action.endswith("."):
                query = query.where(AuditLog.action.startswith(self.action))
            else:
                query = query.where(AuditLog.action == self.action)
        if self.actor:
            query = query.where(func.lower(AuditLog.actor) == self.actor.lower())
        if self.target_type:
            query = query.where(AuditLog.target_type == self.target_type)
        if self.target_id:
            query = query.where(AuditLog.target_id == self.target_id)
        if self.since is not None:
            query = query.where(AuditLog.created_at >= self.since)
        if self.until is not None:
            query = query.where(AuditLog.created_at < self.until)
        return query


def search(
    session: Session, filters: AuditFilter, *, limit: int = 100, offset: int = 0
) -> tuple[list[AuditLog], int]:
    """Matching rows, newest first, and how many match in all."""
    rows = session.scalars(
        filters.apply(select(AuditLog))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = session.scalar(filters.apply(select(func.count()).select_from(AuditLog)))
    return list(rows), int(total or 0)


def known_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))


def known_target_types(session: Session) -> list[str]:
    query = select(AuditLog.target_type).distinct().order_by(AuditLog.target_type)
    return [value for value in session.scalars(query) if value]
