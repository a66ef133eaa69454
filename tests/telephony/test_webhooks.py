"""Signed webhooks, the TwiML they answer, and the outbound-call API (against the stub)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.simulator import script as sc
from callcenter.simulator.caller import SimulationOptions
from callcenter.simulator.twiml_reader import read_answer
from callcenter.store import calls as call_store
from callcenter.store.models import Call, CallEvent, CallStatus
from callcenter.testing.handlers import EchoAgentFactory, tone_ulaw
from callcenter.testing.twilio_stub import StubCaller, TwilioStub
from tests.support.live_app import ACCOUNT_SID, AUTH_TOKEN, LiveApp, wait_for
from tests.telephony.stream_client import answer_call, post_signed


def counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Call)) or 0,
            session.scalar(select(func.count()).select_from(CallEvent)) or 0,
        )


@pytest.mark.parametrize(
    "path", ["/twilio/voice", "/twilio/status", "/twilio/dial-result", "/twilio/connect-action"]
)
@pytest.mark.parametrize("signature", ["", "d3Jvbmc=", "wrong-token"])
def test_unsigned_webhooks_get_403_and_write_nothing(
    live_app: Callable[..., LiveApp],
    live_factory: sessionmaker[Session],
    path: str,
    signature: str,
) -> None:
    app = live_app()
    before = counts(live_factory)
    params = {"CallSid": "CA" + uuid.uuid4().hex, "From": "+15550001111", "CallStatus": "completed"}
    if signature == "wrong-token":
        response = post_signed(app, path, params, token="not-the-token")
    else:
        response = post_signed(app, path, params, signature=signature)
    assert response.status_code == 403
    assert counts(live_factory) == before


def test_voice_answers_a_stream_and_records_the_call(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session]
) -> None:
    app = live_app()
    call_sid, params = answer_call(app)
    with live_factory() as session:
        call = call_store.get_call_by_sid(session, call_sid)
        assert call is not None and call.from_number == "+15550001111"
        assert params["call_id"] == call.id and params["token"]
    # Twilio retries webhooks: the same CallSid is the same call.
    _, again = answer_call(app, call_sid)
    assert again["call_id"] == params["call_id"]


def test_status_callbacks_are_events_and_final_status(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session]
) -> None:
    app = live_app()
    call_sid, _params = answer_call(app)
    stream = post_signed(
        app,
        "/twilio/status",
        {"CallSid": call_sid, "StreamSid": "MZ1", "StreamEvent": "stream-started"},
    )
    done = post_signed(
        app,
        "/twilio/status",
        {"CallSid": call_sid, "CallStatus": "completed", "CallDuration": "42"},
    )
    assert stream.status_code == done.status_code == 204
    with live_factory() as session:
        call = call_store.get_call_by_sid(session, call_sid)
        assert call is not None and call.status == CallStatus.completed
        kinds = [e.kind for e in call_store.list_events(session, call.id)]
        assert kinds == ["twilio_voice", "twilio_stream_status", "twilio_call_status"]


def test_dial_result_falls_back_when_nobody_answers(live_app: Callable[..., LiveApp]) -> None:
    app = live_app(human_fallback_number="+15550007777")
    call_sid, params = answer_call(app)
    path = f"/twilio/dial-result?call_id={params['call_id']}"
    no_answer = post_signed(app, path, {"CallSid": call_sid, "DialCallStatus": "no-answer"})
    assert no_answer.status_code == 200
    assert read_answer(no_answer.text).kind == "dial" and "+15550007777" in no_answer.text
    # The fallback's own Dial comes back with fallback=1: then we apologise and hang up.
    again = post_signed(app, path + "&fallback=1", {"CallSid": call_sid, "DialCallStatus": "busy"})
    assert "<Say" in again.text and read_answer(again.text).kind == "hangup"
    answered = post_signed(app, path, {"CallSid": call_sid, "DialCallStatus": "completed"})
    assert read_answer(answered.text).kind == "hangup" and "<Say" not in answered.text
    queue_full = post_signed(app, path, {"CallSid": call_sid, "QueueResult": "queue-full"})
    assert read_answer(queue_full.text).kind == "dial"


def test_api_calls_needs_the_bearer_token(live_app: Callable[..., LiveApp]) -> None:
    disabled = live_app()
    assert httpx.post(disabled.url + "/api/calls", json={"to": "+15551234567"}).status_code == 403
    app = live_app(api_token="t0ken")
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic t0ken"}):
        response = httpx.post(app.url + "/api/calls", json={"to": "+15551234567"}, headers=headers)
        assert response.status_code == 401
    bad = httpx.post(
        app.url + "/api/calls", json={"to": "555"}, headers={"Authorization": "Bearer t0ken"}
    )
    assert bad.status_code == 422


def test_outbound_call_via_the_stub_plays_the_callee(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session]
) -> None:
    agents = EchoAgentFactory(greeting=tone_ulaw(400))
    app = live_app(handler_factory=agents, api_token="t0ken")
    callee = StubCaller(
        app.url,
        [sc.WaitAgent(quiet_ms=200), sc.Say(ulaw=tone_ulaw(300)), sc.WaitAgent(quiet_ms=200)],
        SimulationOptions(speed=4.0),
    )
    with TwilioStub(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, caller=callee) as stub:
        app.runtime.call_control = __import__(
            "callcenter.telephony.rest", fromlist=["CallControl"]
        ).CallControl(app.settings.model_copy(update={"twilio_api_base": stub.url}))
        response = httpx.post(
            app.url + "/api/calls",
            json={"to": "+15551234567"},
            headers={"Authorization": "Bearer t0ken"},
            timeout=20,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        result = stub.wait_simulation(body["call_sid"])
    (create,) = [r for r in stub.requests if r.path.endswith("/Calls.json")]
    assert create.auth_ok and create.form["Url"] == app.settings.public_url + "/twilio/voice"
    assert create.form["To"] == "+15551234567"
    assert result.answer == "stream" and result.end_reason == "caller_hangup"
    assert len(result.turns) == 1 and result.turns[0].response_delay_ms is not None
    (agent,) = agents.agents
    assert agent.context.call_id == body["call_id"]
    with live_factory() as session:
        call = call_store.get_call_by_sid(session, body["call_sid"])
        assert call is not None and call.direction.value == "outbound"
    assert wait_for(lambda: agent.stop_reason) == "hangup"
