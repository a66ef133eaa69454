"""The one writer for a Media Stream: ordering, re-chunking and ``clear`` done right.

Every outbound message goes through :class:`StreamSender`'s queue and a single writer
task, so frames never interleave and ``send_audio`` never waits on the network.

* Audio is re-chunked: Twilio stutters on very small media messages, so messages carry
  at least 40 ms. Audio shorter than that waits for more audio; a mark flushes it,
  padded with μ-law silence to 40 ms (a mark must follow *all* audio sent before it).
* ``clear`` also drops what is still in *our* queue: that audio must not reach Twilio
  after the clear. Marks dropped that way are reported through ``on_dropped_marks`` so
  the session still sees every mark it sent come back, exactly as Twilio does for the
  marks it drops on ``clear``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from callcenter.telephony.media_protocol import (
    Clear,
    OutboundCommand,
    SendMark,
    SendMedia,
    encode_outbound,
)

log = logging.getLogger(__name__)

MIN_CHUNK_BYTES = 320  # 40 ms of 8 kHz μ-law
# Upper bound per message, so a clear can still drop queued audio at a fine grain.
MAX_CHUNK_BYTES = 1600  # 200 ms
ULAW_SILENCE = b"\xff"


class OutboundTap(Protocol):
    """Sees the agent's audio as sent and each ``clear`` (the call recording)."""

    def agent(self, ulaw: bytes) -> None: ...

    def clear(self) -> None: ...


class StreamSender:
    """Implements :class:`callcenter.dialogue.ports.StreamOutput` for one stream."""

    def __init__(
        self,
        stream_sid: str,
        send_text: Callable[[str], Awaitable[None]],
        on_dropped_marks: Callable[[list[str]], None] | None = None,
        tap: OutboundTap | None = None,
    ) -> None:
        self.stream_sid = stream_sid
        self._send_text = send_text
        self._on_dropped_marks = on_dropped_marks
        self._tap = tap
        self._pending = bytearray()
        self._queue: deque[OutboundCommand] = deque()
        self._wakeup = asyncio.Event()
        self._closing = False
        self.closed = False
        self.messages_sent = 0

    # --- StreamOutput -------------------------------------------------------------------

    async def send_audio(self, ulaw: bytes) -> None:
        if self._closing:
            return
        if self._tap is not None:
            self._tap.agent(ulaw)
        self._pending += ulaw
        if len(self._pending) >= MIN_CHUNK_BYTES:
            self._flush_audio(pad=False)

    async def send_mark(self, name: str) -> None:
        if self._closing:
            return
        self._flush_audio(pad=True)
        self._put(SendMark(self.stream_sid, name))

    async def clear(self) -> None:
        if self._closing:
            return
        if self._tap is not None:
            self._tap.clear()
        self._pending.clear()
        dropped = [c.name for c in self._queue if isinstance(c, SendMark)]
        self._queue.clear()
        self._put(Clear(self.stream_sid))
        if dropped and self._on_dropped_marks is not None:
            self._on_dropped_marks(dropped)

    # --- writer -------------------------------------------------------------------------

    def _flush_audio(self, *, pad: bool) -> None:
        data = bytes(self._pending)
        self._pending.clear()
        if not data:
            return
        if len(data) < MIN_CHUNK_BYTES:
            if not pad:
                self._pending += data
                return
            data += ULAW_SILENCE * (MIN_CHUNK_BYTES - len(data))
        # Cut MAX-sized pieces but never leave a tail shorter than MIN.
        while len(data) >= MAX_CHUNK_BYTES + MIN_CHUNK_BYTES:
            self._put(SendMedia(self.stream_sid, data[:MAX_CHUNK_BYTES]))
            data = data[MAX_CHUNK_BYTES:]
        self._put(SendMedia(self.stream_sid, data))

    def _put(self, command: OutboundCommand) -> None:
        self._queue.append(command)
        self._wakeup.set()

    async def run(self) -> None:
        """The writer task: sends queued messages in order until :meth:`close`."""
        try:
            while True:
                while not self._queue:
                    if self._closing:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                command = self._queue.popleft()
                await self._send_text(encode_outbound(command))
                self.messages_sent += 1
        except Exception as error:  # the socket went away: nothing more can be sent
            log.info("stream %s: writer stopped (%s)", self.stream_sid, type(error).__name__)
        finally:
            self.closed = True
            self._closing = True
            self._queue.clear()

    def close(self, *, drain: bool = True) -> None:
        """Stop accepting output; the writer exits once the queue is sent (or dropped)."""
        self._closing = True
        if not drain:
            self._queue.clear()
        self._wakeup.set()
