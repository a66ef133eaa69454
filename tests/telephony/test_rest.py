"""CallControl through twilio's REST client against the local stub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from callcenter.settings import Settings, load_settings
from callcenter.telephony.rest import CallControl, CallControlError, CallEndedError
from callcenter.testing.twilio_stub import TwilioStub

SID, TOKEN = "AC" + "2" * 32, "stub-token"


@pytest.fixture
def stub() -> Iterator[TwilioStub]:
    with TwilioStub(account_sid=SID, auth_token=TOKEN) as server:
        yield server


def settings_for(stub: TwilioStub, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "twilio_api_base": stub.url,
        "twilio_account_sid": SID,
        "twilio_auth_token": TOKEN,
        "human_destination": "tel:+15550009999",
    }
    return load_settings(**{**values, **overrides})


async def test_hangup_and_already_ended(stub: TwilioStub) -> None:
    control = CallControl(settings_for(stub))
    stub.add_call("CA1")
    assert await control.hangup("CA1") is True
    assert stub.calls["CA1"].status == "completed"
    assert await control.hangup("CA-unknown") is False  # 20404: already gone
    (first, second) = stub.requests
    assert first.form == {"Status": "completed"} and first.auth_ok
    assert second.status_code == 404


async def test_transfer_redirects_with_transfer_twiml(stub: TwilioStub) -> None:
    control = CallControl(settings_for(stub))
    stub.add_call("CA2")
    await control.transfer("CA2", "call-2")
    assert control.was_redirected("CA2")
    twiml = stub.requests[-1].form["Twiml"]
    assert "<Dial" in twiml and "+15550009999" in twiml and "call_id=call-2" in twiml
    await control.hangup("CA2")
    with pytest.raises(CallEndedError) as error:  # 21220: not in progress
        await control.redirect("CA2", "<Response/>")
    assert error.value.code == 21220
    with pytest.raises(CallEndedError):
        await control.redirect("CA-unknown", "<Response/>")


async def test_create_call_and_bad_credentials(stub: TwilioStub) -> None:
    control = CallControl(settings_for(stub))
    placed = await control.create_call("+15551234567", twiml="<Response><Hangup/></Response>")
    assert placed.call_sid in stub.calls and placed.status == "queued"
    assert stub.requests[-1].form["From"] == control.settings.twilio_caller_id
    wrong = CallControl(settings_for(stub, twilio_auth_token="nope"))
    with pytest.raises(CallControlError) as error:
        await wrong.create_call("+15551234567", twiml="<Response/>")
    assert error.value.code == 20003
