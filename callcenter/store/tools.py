"""Versioned tool definitions: every save is a new row; publishing makes one version live.

Built-in tools exist in code before any row does; the first save of one creates
version 1. The registry (callcenter.tools.registry) applies the newest published
version of each name to new calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from callcenter.store.models import ToolDefinition, VersionStatus


@dataclass(frozen=True)
class ToolSummary:
    name: str
    kind: str
    latest_version: int
    published_version: int | None
    enabled: bool
    description: str


def versions(session: Session, name: str) -> list[ToolDefinition]:
    return list(
        session.scalars(
            select(ToolDefinition)
            .where(ToolDefinition.name == name)
            .order_by(ToolDefinition.version.desc())
        )
    )


def get_version(session: Session, name: str, version: int) -> ToolDefinition | None:
    return session.scalar(
        select(ToolDefinition).where(ToolDefinition.name == name, ToolDefinition.version == version)
    )


def latest(session: Session, name: str) -> ToolDefinition | None:
    rows = versions(session, name)
    return rows[0] if rows else None


def published(session: Session, name: str) -> ToolDefinition | None:
    return session.scalar(
        select(ToolDefinition)
        .where(ToolDefinition.name == name, ToolDefinition.status == VersionStatus.published)
        .order_by(ToolDefinition.version.desc())
    )


def names_by_kind(session: Session) -> dict[str, str]:
    """Every tool name that has rows, with the kind of its newest version."""
    return {row.name: row.kind for row in _newest_rows(session)}


def _newest_rows(session: Session) -> list[ToolDefinition]:
    newest = (
        select(ToolDefinition.name, func.max(ToolDefinition.version).label("version"))
        .group_by(ToolDefinition.name)
        .subquery()
    )
    query = select(ToolDefinition).join(
        newest,
        (ToolDefinition.name == newest.c.name) & (ToolDefinition.version == newest.c.version),
    )
    return list(session.scalars(query.order_by(ToolDefinition.name)))


def save_version(
    session: Session, name: str, *, fields: dict[str, Any], user_id: int | None
) -> ToolDefinition:
    """A new draft version of ``name`` with these fields (kind, enabled, description,
    parameters, requires_verification, http)."""
    newest = session.scalar(
        select(func.max(ToolDefinition.version)).where(ToolDefinition.name == name)
    )
    row = ToolDefinition(
        name=name,
        version=(newest or 0) + 1,
        status=VersionStatus.draft,
        created_by=user_id,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def publish(session: Session, row: ToolDefinition, user_id: int | None) -> ToolDefinition:
    """Make ``row`` the live version of its tool; the one live before is archived."""
    session.execute(
        update(ToolDefinition)
        .where(
            ToolDefinition.name == row.name,
            ToolDefinition.status == VersionStatus.published,
            ToolDefinition.id != row.id,
        )
        .values(status=VersionStatus.archived)
        .execution_options(synchronize_session="fetch")
    )
    row.status = VersionStatus.published
    row.published_at = datetime.now(UTC)
    row.published_by = user_id
    session.flush()
    return row


def archive(session: Session, name: str) -> int:
    """Take a tool out of service: every live or draft version is archived, so new calls
    no longer get it. Publishing any version brings it back. Returns rows changed."""
    result = session.execute(
        update(ToolDefinition)
        .where(ToolDefinition.name == name, ToolDefinition.status != VersionStatus.archived)
        .values(status=VersionStatus.archived)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
