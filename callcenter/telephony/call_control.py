"""Call control for the dialogue (its :class:`CallControlPort`), done with Twilio's REST API.

Transfer: the handoff is opened first (a row a human can read, written by whoever built
this object), then the live call is redirected to the human destination's TwiML. After the
redirect the Media Stream gets ``stop``: that is the transfer, not a hang-up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from callcenter.dialogue.ports import StreamContext
from callcenter.settings import Settings
from callcenter.telephony.browser_calls import AGENT_HUNG_UP, HANDED_OFF, BrowserCalls
from callcenter.telephony.rest import CallControl, CallEndedError
from callcenter.telephony.twiml import transfer_twiml

log = logging.getLogger(__name__)

OpenHandoff = Callable[[str, str], Awaitable[None]]  # (call id, reason)


class TwilioCallControl:
    def __init__(
        self,
        settings: Settings,
        rest: CallControl,
        open_handoff: OpenHandoff,
        browser_calls: BrowserCalls | None = None,
    ) -> None:
        self.settings = settings
        self.rest = rest
        self.open_handoff = open_handoff
        self.browser_calls = browser_calls or BrowserCalls()

    async def transfer(self, context: StreamContext, reason: str) -> None:
        try:
            await self.open_handoff(context.call_id, reason)
        except Exception:
            log.exception("handoff row not written yet; transferring anyway")
        if await self.browser_calls.end(context.call_sid, HANDED_OFF, "handed off to a person"):
            return
        try:
            await self.rest.redirect(
                context.call_sid, transfer_twiml(self.settings, context.call_id, line="")
            )
        except CallEndedError:
            log.info("call %s ended before the transfer", context.call_sid)

    async def hang_up(self, context: StreamContext) -> None:
        if await self.browser_calls.end(context.call_sid, AGENT_HUNG_UP, "the agent hung up"):
            return
        await self.rest.hangup(context.call_sid)
