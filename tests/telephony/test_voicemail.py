"""Outbound calls ask Twilio's answering-machine detection; a machine gets the message."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.store import calls as call_store
from callcenter.store.models import CallEvent
from callcenter.telephony.rest import CallControl
from callcenter.testing.twilio_stub import TwilioStub
from tests.support.live_app import ACCOUNT_SID, AUTH_TOKEN, LiveApp
from tests.telephony.stream_client import post_signed

MESSAGE = "Hello, this is your bank. Please call us back."


def place(app: LiveApp, stub: TwilioStub) -> str:
    app.runtime.call_control = CallControl(
        app.settings.model_copy(update={"twilio_api_base": stub.url})
    )
    response = httpx.post(
        app.url + "/api/calls",
        json={"to": "+15551234567"},
        headers={"Authorization": "Bearer t0ken"},
        timeout=20,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["call_sid"])


def events(factory: sessionmaker[Session], call_sid: str) -> list[CallEvent]:
    with factory() as session:
        call = call_store.get_call_by_sid(session, call_sid)
        assert call is not None
        return list(session.scalars(select(CallEvent).where(CallEvent.call_id == call.id)))


def test_a_machine_gets_the_message_after_the_beep(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session]
) -> None:
    app = live_app(api_token="t0ken", voicemail_message=MESSAGE)
    with TwilioStub(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as stub:
        call_sid = place(app, stub)
        (create,) = [r for r in stub.requests if r.path.endswith("/Calls.json")]
        assert create.form["MachineDetection"] == "DetectMessageEnd"
        assert create.form["AsyncAmd"] == "true"
        assert create.form["AsyncAmdStatusCallback"] == app.settings.public_url + "/twilio/amd"
        answered = post_signed(
            app, "/twilio/amd", {"CallSid": call_sid, "AnsweredBy": "machine_end_beep"}
        )
        assert answered.status_code == 204
        redirects = [r.form.get("Twiml") or "" for r in stub.requests if r.call_sid == call_sid]
    assert any(MESSAGE in twiml and "<Hangup" in twiml for twiml in redirects), redirects
    recorded = [e.payload for e in events(live_factory, call_sid) if e.kind == "answered_by"]
    assert recorded == [{"answered_by": "machine_end_beep", "action": "message"}]


def test_a_person_is_recorded_and_left_alone(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session]
) -> None:
    app = live_app(api_token="t0ken")
    with TwilioStub(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as stub:
        call_sid = place(app, stub)
        post_signed(app, "/twilio/amd", {"CallSid": call_sid, "AnsweredBy": "human"})
        redirects = [r for r in stub.requests if r.call_sid == call_sid and r.form.get("Twiml")]
    assert redirects == []
    recorded = [e.payload for e in events(live_factory, call_sid) if e.kind == "answered_by"]
    assert recorded == [{"answered_by": "human"}]


def test_an_unsigned_amd_callback_is_refused(live_app: Callable[..., LiveApp]) -> None:
    app = live_app()
    response = post_signed(
        app, "/twilio/amd", {"CallSid": "CA1", "AnsweredBy": "human"}, signature=""
    )
    assert response.status_code == 403
