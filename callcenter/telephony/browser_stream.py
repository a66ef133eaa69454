"""A test call from the console: the browser speaks Twilio's Media Streams protocol.

The console page captures the microphone, makes 8 kHz μ-law frames and sends the same
JSON messages Twilio sends (``connected``, ``start``, ``media``, ``mark``, ``dtmf``,
``stop``), so the call runs through the very code a phone call does:
:class:`MediaStreamConnection` (stream token, single-use claim, recording, the call
session). What differs is who may connect, and how the call ends:

* the web layer authenticates the upgrade (session cookie, same origin) and hands us the
  user; ``start`` must name a browser call that this user placed, and carry the stream
  token minted for it (short-lived, single use, as for Twilio);
* there is no Twilio call to hang up or redirect: :class:`BrowserCalls` closes the
  socket instead, which the page shows as the agent hanging up (or handing off).
"""

from __future__ import annotations

import asyncio
import logging

import anyio
from starlette.websockets import WebSocket

from callcenter.store.calls import browser_call_owner
from callcenter.store.db import transaction
from callcenter.telephony.browser_calls import BrowserCalls, is_browser_call
from callcenter.telephony.edge import TelephonyEdge
from callcenter.telephony.media_protocol import Start
from callcenter.telephony.media_stream import MediaStreamConnection

log = logging.getLogger(__name__)


class BrowserStreamConnection(MediaStreamConnection):
    """One browser test call; the user was authenticated by the web layer."""

    def __init__(
        self, websocket: WebSocket, runtime: TelephonyEdge, calls: BrowserCalls, user_id: int
    ) -> None:
        super().__init__(websocket, runtime)
        self._calls = calls
        self._user_id = user_id
        self._call_sid = ""

    async def _start(self, start: Start) -> None:
        call_id = start.custom_parameters.get("call_id", "")
        owner = await anyio.to_thread.run_sync(lambda: self._owner(call_id))
        if not is_browser_call(start.call_sid) or owner != self._user_id:
            # Another user's call, or a phone call: the token alone must not be enough.
            await self._reject("not_your_call", f"browser call {call_id[:40]} not this user's")
            return
        await super()._start(start)
        if self.context is not None and not self._rejected:
            self._call_sid = start.call_sid
            self._calls.add(start.call_sid, self._end_from_server)

    def _owner(self, call_id: str) -> int | None:
        with transaction(self.runtime.session_factory) as session:
            return browser_call_owner(session, call_id)

    async def _end_from_server(self, code: int, reason: str) -> None:
        # Let the agent's last words reach the page before the socket closes.
        if self.sender is not None:
            self.sender.close(drain=True)
            if self._tasks:
                await asyncio.wait([self._tasks[0]], timeout=5.0)
        await self._close(code, reason)

    async def _finish(self) -> None:
        if self._call_sid:
            self._calls.remove(self._call_sid)
        await super()._finish()
