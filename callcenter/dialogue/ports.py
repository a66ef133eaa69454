"""The boundary between the telephony edge and the call session, declared by the session.

The edge (``telephony/media_stream.py``) owns the WebSocket; the session owns the
conversation. They meet only here: the edge gives the session a :class:`StreamContext`
and a :class:`StreamOutput`, and calls the :class:`MediaStreamHandler` the session
returns; the session leaves the call through a :class:`CallControlPort` that telephony
implements. Telephony imports this module; dialogue never imports telephony.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from callcenter.tools.base import ToolCall, ToolOutcome
from callcenter.tools.context import CallContext

StopReason = Literal["hangup", "transfer", "disconnected"]


@dataclass(frozen=True)
class StreamContext:
    """Who is on the line, known once Twilio's ``start`` has been verified."""

    call_id: str  # our calls.id
    call_sid: str  # Twilio CallSid (for REST: transfer, hang-up)
    stream_sid: str
    account_sid: str
    custom_parameters: Mapping[str, str] = field(default_factory=dict, hash=False)


class StreamOutput(Protocol):
    """How the session talks to Twilio. All calls are cheap: they enqueue, never block.

    Messages leave in the order the calls were made, through one writer.
    """

    async def send_audio(self, ulaw: bytes) -> None:
        """8 kHz μ-law, any length. The edge re-chunks into messages of >= 40 ms."""

    async def send_mark(self, name: str) -> None:
        """Twilio echoes ``name`` once all audio sent before it has played (or on clear)."""

    async def clear(self) -> None:
        """Drop all audio not yet played (ours and Twilio's buffer); pending marks echo."""


class MediaStreamHandler(Protocol):
    """What the session implements. Calls arrive in stream order, one at a time.

    A slow handler delays only its own queue: the edge keeps reading the socket and
    drops media (counted) rather than letting Twilio's side back up.
    """

    async def on_media(self, ulaw: bytes, timestamp_ms: int) -> None:
        """One inbound frame (normally 20 ms = 160 bytes); timestamp from stream start."""

    async def on_dtmf(self, digit: str) -> None: ...

    async def on_mark(self, name: str) -> None:
        """A mark we sent came back: played, or dropped by a clear (see playout.py)."""

    async def on_stop(self, reason: StopReason) -> None:
        """Last call: "hangup" (caller/Twilio ended), "transfer" (we redirected the call),
        "disconnected" (the socket went away without ``stop``)."""


HandlerFactory = Callable[[StreamContext, StreamOutput], Awaitable[MediaStreamHandler]]


class CallControlPort(Protocol):
    """Leaving the call: hand it to a human, or hang up."""

    async def transfer(self, context: StreamContext, reason: str) -> None:
        """Open the handoff and redirect the live call to a person."""

    async def hang_up(self, context: StreamContext) -> None: ...


class ToolBox(Protocol):
    def schemas(self) -> Sequence[dict[str, Any]]: ...

    async def refresh(self, max_age_s: float | None = None) -> None: ...

    async def execute(
        self, ctx: CallContext, request: ToolCall, *, turn_seq: int | None
    ) -> ToolOutcome: ...
