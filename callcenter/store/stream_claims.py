"""Stream tokens are single-use, and a call has at most one live Media Stream.

Both rules hold across server processes because the database enforces them: the token's
hash is the primary key of ``stream_claims`` (a second use is a duplicate key), and a
partial unique index allows one unreleased claim per call.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callcenter.store.models import Call, StreamClaim


class ClaimRefused(StrEnum):
    token_reused = "token_reused"
    stream_live = "stream_live"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def claim_stream(
    session: Session, *, token: str, call_id: str, stream_sid: str, server_id: str
) -> ClaimRefused | None:
    """Record the stream; None when it may go on, else why it may not. A call the store
    does not know (its row could not be written at answer time) is not claimable here;
    the caller decides (the in-process rules still hold for it)."""
    if session.get(Call, call_id) is None:
        return None
    digest = token_hash(token)
    if session.get(StreamClaim, digest) is not None:
        return ClaimRefused.token_reused
    live = session.query(StreamClaim).filter_by(call_id=call_id, released_at=None).first()
    if live is not None:
        return ClaimRefused.stream_live
    claim = StreamClaim(
        token_hash=digest, call_id=call_id, stream_sid=stream_sid, server_id=server_id
    )
    try:
        with session.begin_nested():
            session.add(claim)
            session.flush()
    except IntegrityError:
        # Another process claimed between our look and our insert: see which rule.
        if session.get(StreamClaim, digest) is not None:
            return ClaimRefused.token_reused
        return ClaimRefused.stream_live
    return None


def release_stream(session: Session, token: str) -> None:
    session.execute(
        update(StreamClaim)
        .where(StreamClaim.token_hash == token_hash(token), StreamClaim.released_at.is_(None))
        .values(released_at=datetime.now(UTC))
    )
