"""Returning callers' preferences, keyed by a keyed hash of the caller ID.

The key is an HMAC of the caller's number (computed above the store, with a key derived
from the deployment's secret): the raw number is never stored here, and the table holds
no account data, only how the caller likes the call (pace, volume, keypad, language).
Rows not touched for the retention period go with the nightly purge.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callcenter.store.models import CallerPreference, utcnow


def find_preferences(session: Session, caller_keys: list[str]) -> dict[str, Any] | None:
    """The preferences stored under the first of ``caller_keys`` that has any (the
    current key first, then those of previous secrets)."""
    if not caller_keys:
        return None
    rows = {
        row.caller_key: row
        for row in session.scalars(
            select(CallerPreference).where(CallerPreference.caller_key.in_(caller_keys))
        )
    }
    for key in caller_keys:
        if key in rows:
            return dict(rows[key].preferences)
    return None


def save_preferences(
    session: Session, caller_key: str, preferences: dict[str, Any], *, stale_keys: list[str]
) -> None:
    """Store under the current key; rows under previous keys of the same caller go."""
    forget_preferences(session, stale_keys)
    row = session.get(CallerPreference, caller_key)
    if row is None:
        session.add(CallerPreference(caller_key=caller_key, preferences=preferences))
    else:
        row.preferences = preferences
        row.updated_at = utcnow()
    session.flush()


def forget_preferences(session: Session, caller_keys: list[str]) -> int:
    if not caller_keys:
        return 0
    result = session.execute(
        delete(CallerPreference).where(CallerPreference.caller_key.in_(caller_keys))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_preferences(session: Session, cutoff: datetime) -> int:
    result = session.execute(delete(CallerPreference).where(CallerPreference.updated_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
