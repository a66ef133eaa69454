"""Live test calls from the console's browser, by CallSid: they have no Twilio call to
hang up or redirect, so call control ends one by closing its WebSocket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

BROWSER_CALL_SID_PREFIX = "BR"  # Twilio's CallSids start with "CA"
# Close codes the page reads (4000-4999 are the application's own).
AGENT_HUNG_UP = 4000
HANDED_OFF = 4001

Closer = Callable[[int, str], Awaitable[None]]


def is_browser_call(call_sid: str) -> bool:
    return call_sid.startswith(BROWSER_CALL_SID_PREFIX)


class BrowserCalls:
    """Live browser calls by CallSid, so call control can end them."""

    def __init__(self) -> None:
        self._live: dict[str, Closer] = {}

    def add(self, call_sid: str, close: Closer) -> None:
        self._live[call_sid] = close

    def remove(self, call_sid: str) -> None:
        self._live.pop(call_sid, None)

    async def end(self, call_sid: str, code: int, reason: str) -> bool:
        """Close the call's socket; False when it is not a live browser call here."""
        close = self._live.pop(call_sid, None)
        if close is None:
            return False
        await close(code, reason)
        return True
