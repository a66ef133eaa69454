"""Call control for a browser test call: no Twilio call behind it, so hanging up or
handing off closes its socket (the handoff row is still opened); phone calls still go
to Twilio's REST API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from callcenter.dialogue.ports import StreamContext
from callcenter.settings import load_settings
from callcenter.telephony.browser_calls import AGENT_HUNG_UP, HANDED_OFF, BrowserCalls
from callcenter.telephony.call_control import TwilioCallControl
from callcenter.telephony.rest import CallControl
from callcenter.testing.twilio_stub import TwilioStub

ACCOUNT_SID = "AC" + "3" * 32
AUTH_TOKEN = "browser-calls-auth-token"


def _context(call_sid: str) -> StreamContext:
    return StreamContext(call_id="call-1", call_sid=call_sid, stream_sid="MZ1", account_sid="")


@pytest.fixture
def twilio() -> Iterator[TwilioStub]:
    stub = TwilioStub(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    yield stub
    stub.stop()


async def test_a_browser_call_is_ended_by_closing_its_socket(twilio: TwilioStub) -> None:
    settings = load_settings(
        twilio_api_base=twilio.url, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN
    )
    closed: list[tuple[int, str]] = []
    handoffs: list[tuple[str, str]] = []

    async def close(code: int, reason: str) -> None:
        closed.append((code, reason))

    async def open_handoff(call_id: str, reason: str) -> None:
        handoffs.append((call_id, reason))

    calls = BrowserCalls()
    control = TwilioCallControl(settings, CallControl(settings), open_handoff, calls)
    calls.add("BR1", close)
    await control.transfer(_context("BR1"), "caller_request")
    assert handoffs == [("call-1", "caller_request")]
    assert closed == [(HANDED_OFF, "handed off to a person")]

    calls.add("BR2", close)
    await control.hang_up(_context("BR2"))
    assert closed[-1] == (AGENT_HUNG_UP, "the agent hung up")
    assert not await calls.end("BR2", AGENT_HUNG_UP, "again")  # ended once

    assert not twilio.requests  # nothing went to Twilio for the browser calls
    phone = "CA" + "1" * 32
    await control.hang_up(_context(phone))  # a phone call still goes to Twilio
    assert [r.call_sid for r in twilio.requests] == [phone]
