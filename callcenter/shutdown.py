"""Graceful shutdown: on SIGTERM stop taking calls, let live ones finish, hand off the rest.

uvicorn's own SIGTERM handling closes every WebSocket at once (code 1012): a live caller
would be cut off mid-sentence. :class:`DrainingServer` runs :func:`drain_calls` first:

1. readiness goes false (``/readyz`` 503, so the load balancer stops sending calls) and
   ``/twilio/voice`` answers new calls with the busy line and a transfer to humans;
2. live calls go on for up to ``CALLCENTER_SHUTDOWN_GRACE_S``;
3. calls still live then are handed to a human (handoff reason ``shutdown``): the agent
   says its handoff line, Twilio redirects the call, its stream ends;
4. then uvicorn shuts down as usual. A second SIGTERM/SIGINT exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from callcenter.runtime import Runtime

log = logging.getLogger(__name__)

SHUTDOWN_REASON = "shutdown"
HANDOFF_TIMEOUT_S = 20.0  # the handoff line plays before the redirect
STREAMS_END_TIMEOUT_S = 15.0


async def _wait_no_calls(runtime: Runtime, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while runtime.live_calls > 0 and time.monotonic() < deadline:  # noqa: ASYNC110 (a counter, polled)
        await asyncio.sleep(0.1)
    return runtime.live_calls <= 0


async def _hand_off(handler: Any) -> None:
    hand_off = getattr(handler, "hand_off", None)
    if hand_off is None:
        return  # not a call session (e.g. the recording handler): nothing to say
    await asyncio.wait_for(hand_off(SHUTDOWN_REASON), HANDOFF_TIMEOUT_S)


async def drain_calls(runtime: Runtime, grace_s: float) -> None:
    runtime.accepting_calls = False
    log.info("draining: %d live call(s), grace %.0f s", runtime.live_calls, grace_s)
    if await _wait_no_calls(runtime, grace_s):
        return
    handlers = list(runtime.live_handlers.values())
    log.warning("grace period over: handing %d live call(s) to a human", len(handlers))
    results = await asyncio.gather(*(_hand_off(h) for h in handlers), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            log.error("shutdown handoff failed: %r", result)
    if not await _wait_no_calls(runtime, STREAMS_END_TIMEOUT_S):
        log.warning("%d stream(s) still open; closing them", runtime.live_calls)


class DrainingServer(uvicorn.Server):
    """uvicorn, with :func:`drain_calls` between the signal and the shutdown."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime, grace_s: float) -> None:
        super().__init__(config)
        self.runtime = runtime
        self.grace_s = grace_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining = False
        self._drain_task: asyncio.Task[None] | None = None

    async def serve(self, sockets: Any = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining or self._loop is None or not self.started:
            super().handle_exit(sig, frame)  # second signal, or not serving yet: exit now
            if self._draining:
                self.force_exit = True
            return
        self._draining = True
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        self._drain_task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            await drain_calls(self.runtime, self.grace_s)
        except Exception:
            log.exception("draining failed; shutting down")
        finally:
            self.should_exit = True
