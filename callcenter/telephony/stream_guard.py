"""One stream per token, one live stream per call: checked here, then in the store.

A replayed ``start`` (same token) or a second WebSocket for a live call would run a second
call session on the same call: two agents talking, and the recorder writing every turn
twice. The in-process check answers at once and holds even when the database is down;
the store's claim (callcenter.store.stream_claims) makes the rule hold across processes.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.orm import Session, sessionmaker

from callcenter.store.db import transaction
from callcenter.store.stream_claims import ClaimRefused, claim_stream, release_stream

log = logging.getLogger(__name__)


class StreamGuard:
    def __init__(self, token_ttl_s: float) -> None:
        # token -> when we may forget it (after it expired, it is refused anyway)
        self._used: dict[str, float] = {}
        self._live_calls: set[str] = set()
        self._ttl = token_ttl_s + 60

    def claim_here(self, token: str, call_id: str) -> ClaimRefused | None:
        now = time.monotonic()
        for old in [t for t, until in self._used.items() if until < now]:
            del self._used[old]
        if token in self._used:
            return ClaimRefused.token_reused
        if call_id in self._live_calls:
            # The token stays unspent, as in the store: the call may reconnect with it
            # once the live stream has ended.
            return ClaimRefused.stream_live
        self._used[token] = now + self._ttl
        self._live_calls.add(call_id)
        return None

    def release_here(self, call_id: str) -> None:
        self._live_calls.discard(call_id)

    def undo_claim(self, token: str, call_id: str, refused: ClaimRefused) -> None:
        """The store refused what this process allowed: keep both views the same."""
        self._live_calls.discard(call_id)
        if refused == ClaimRefused.stream_live:
            self._used.pop(token, None)


def claim_in_store(
    factory: sessionmaker[Session], *, token: str, call_id: str, stream_sid: str, server_id: str
) -> ClaimRefused | None:
    """Blocking; run in a worker thread. A store outage lets the stream go on (the
    in-process rule still holds): the caller must not lose the call to a database blip."""
    try:
        with transaction(factory) as session:
            return claim_stream(
                session,
                token=token,
                call_id=call_id,
                stream_sid=stream_sid,
                server_id=server_id,
            )
    except Exception:
        log.exception("could not record the stream claim; relying on this process's check")
        return None


def release_in_store(factory: sessionmaker[Session], token: str) -> None:
    try:
        with transaction(factory) as session:
            release_stream(session, token)
    except Exception:
        log.exception("could not release the stream claim")
