"""What a call's Media Stream starting and stopping means for the store.

Start: the call is in progress on this server. Stop: its final status, the
``stream_stopped`` event, and the post-call job (summary, disposition, CRM event),
enqueued in the same transaction so it is never lost.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from callcenter.dialogue.ports import StopReason, StreamContext
from callcenter.store import calls as call_store
from callcenter.store.db import transaction
from callcenter.store.models import Call, CallStatus
from callcenter.tasks.outbox import enqueue_after_commit
from callcenter.tasks.post_call import summarise_call

log = logging.getLogger(__name__)


class StoreCallRecords:
    def __init__(self, session_factory: sessionmaker[Session], server_id: str) -> None:
        self.session_factory = session_factory
        self.server_id = server_id

    def stream_started(self, context: StreamContext) -> None:
        with transaction(self.session_factory) as session:
            call = session.get(Call, context.call_id)
            if call is None:
                log.warning("call not in the store")
                return
            call.stream_sid = context.stream_sid
            call.server_id = self.server_id
            call.status = CallStatus.in_progress
            call_store.add_event(
                session,
                call_id=call.id,
                kind="stream_started",
                payload={"stream_sid": context.stream_sid},
            )

    def stream_stopped(
        self,
        context: StreamContext,
        reason: StopReason,
        malformed_frames: int,
        dropped_media_frames: int = 0,
    ) -> None:
        status = CallStatus.transferred if reason == "transfer" else CallStatus.completed
        with transaction(self.session_factory) as session:
            call = session.get(Call, context.call_id)
            if call is None:
                return
            if call.status != CallStatus.transferred:
                call_store.set_call_status(session, call.id, status, end_reason=reason)
            call_store.add_event(
                session,
                call_id=call.id,
                kind="stream_stopped",
                payload={
                    "reason": reason,
                    "malformed_frames": malformed_frames,
                    # Caller audio dropped because the call fell behind (see media_stream).
                    "dropped_media_frames": dropped_media_frames,
                },
            )
            enqueue_after_commit(session, summarise_call, call.id)
