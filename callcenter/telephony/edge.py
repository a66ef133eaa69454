"""What the Twilio edge needs from the process it runs in (the runtime provides it).

Telephony never imports the runtime or the jobs: the webhooks and the Media Stream
endpoint read ``app.state.runtime`` through this protocol, and what a call's start and end
mean for the store (status, events, the post-call job) is behind :class:`CallRecords`.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from callcenter.dialogue.ports import HandlerFactory, StopReason, StreamContext
from callcenter.metrics import Metrics
from callcenter.recordings import RecordingStorage
from callcenter.settings import Settings
from callcenter.telephony.browser_calls import BrowserCalls
from callcenter.telephony.rest import CallControl


class CallRecords(Protocol):
    """Blocking store writes; the edge runs them in a thread, best effort."""

    def stream_started(self, context: StreamContext) -> None: ...

    def stream_stopped(
        self,
        context: StreamContext,
        reason: StopReason,
        malformed_frames: int,
        dropped_media_frames: int = 0,
    ) -> None: ...


class TelephonyEdge(Protocol):
    settings: Settings
    metrics: Metrics
    session_factory: sessionmaker[Session]
    # Identifies this process in calls.server_id and stream claims.
    server_id: str
    accepting_calls: bool
    live_calls: int
    # call_id -> the live call's handler (graceful shutdown hands these to humans).
    live_handlers: dict[str, Any]
    # Builds the per-call handler; None: no agent here (the caller gets a person).
    handler_factory: HandlerFactory | None
    call_records: CallRecords
    # Live test calls from the console's browser, ended by closing their sockets.
    browser_calls: BrowserCalls
    # Where a call's recording is written, and kept once the call ends.
    recordings: RecordingStorage

    @property
    def call_control(self) -> CallControl: ...

    @property
    def call_control_if_created(self) -> CallControl | None: ...
