"""Twilio webhooks and the outbound-call API.

Every ``/twilio/*`` POST is checked against ``X-Twilio-Signature`` before anything is
read into the store; a bad or missing signature gets 403 and leaves no trace but a log
line. Store writes run in a thread (sync SQLAlchemy) and are best effort where the
caller would otherwise hear nothing: an answer always goes back to Twilio.
"""

from __future__ import annotations

import hmac
import logging
import re
import uuid
from collections.abc import Callable
from typing import TypeVar

import anyio
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from callcenter.keys import stream_token_keys
from callcenter.store import calls as call_store
from callcenter.store.db import transaction
from callcenter.store.models import CallDirection, CallStatus
from callcenter.telephony import twiml
from callcenter.telephony.edge import TelephonyEdge
from callcenter.telephony.media_stream import media_stream_endpoint
from callcenter.telephony.rest import CallControlError
from callcenter.telephony.signatures import SIGNATURE_HEADER, create_stream_token, validate_webhook

log = logging.getLogger(__name__)
T = TypeVar("T")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Twilio's final call statuses -> ours (a call we already transferred stays transferred).
FINAL_STATUS = {
    "completed": CallStatus.completed,
    "busy": CallStatus.failed,
    "failed": CallStatus.failed,
    "no-answer": CallStatus.failed,
    "canceled": CallStatus.failed,
}
DIAL_ANSWERED = {"completed", "answered", "bridged", "hangup", "leave", "redirected"}


def _twiml(body: str) -> Response:
    return Response(body, media_type="application/xml")


async def _signed_form(request: Request) -> FormData | None:
    runtime: TelephonyEdge = request.app.state.runtime
    form = await request.form()
    ok = validate_webhook(
        runtime.settings,
        request.url.path,
        [(key, str(value)) for key, value in form.multi_items()],
        request.headers.get(SIGNATURE_HEADER),
        query=request.url.query,
    )
    if not ok:
        log.warning("rejected unsigned webhook %s", request.url.path)
        return None
    return form


def _forbidden() -> Response:
    return Response("invalid Twilio signature", status_code=403, media_type="text/plain")


async def _db(fn: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(fn)


def _direction(value: str) -> CallDirection:
    return CallDirection.outbound if value.startswith("outbound") else CallDirection.inbound


async def voice(request: Request) -> Response:
    """A call arrived (or an outbound call we placed was answered): connect our stream."""
    form = await _signed_form(request)
    if form is None:
        return _forbidden()
    runtime: TelephonyEdge = request.app.state.runtime
    settings = runtime.settings
    call_sid = str(form.get("CallSid") or "")
    if not call_sid:
        return Response("CallSid missing", status_code=400)
    accepting = runtime.accepting_calls

    def record() -> str:
        with transaction(runtime.session_factory) as session:
            call = call_store.get_or_create_call(
                session,
                call_sid=call_sid,
                from_number=str(form.get("From") or ""),
                to_number=str(form.get("To") or ""),
                direction=_direction(str(form.get("Direction") or "inbound")),
            )
            call_store.add_event(
                session,
                call_id=call.id,
                kind="twilio_voice",
                payload={"accepting": accepting, "direction": str(form.get("Direction") or "")},
            )
            if not accepting:
                call_store.set_call_status(
                    session, call.id, CallStatus.transferred, end_reason="not_accepting"
                )
            return call.id

    try:
        call_id = await _db(record)
    except Exception:
        # Answer anyway: the stream can work without the row; the caller must not hang.
        log.exception("could not record call %s", call_sid)
        call_id = str(uuid.uuid4())
    if not accepting:
        return _twiml(twiml.busy_twiml(settings, call_id))
    key = stream_token_keys(settings)[0]
    token = create_stream_token(key, call_id, call_sid, settings.stream_token_ttl_s)
    return _twiml(twiml.answer_twiml(settings, call_id, token))


async def status(request: Request) -> Response:
    """Call status callbacks (CallStatus) and stream status callbacks (StreamEvent)."""
    form = await _signed_form(request)
    if form is None:
        return _forbidden()
    runtime: TelephonyEdge = request.app.state.runtime
    call_sid = str(form.get("CallSid") or "")
    if not call_sid:
        return Response(status_code=204)
    params = {key: str(value) for key, value in form.multi_items()}

    def record() -> None:
        with transaction(runtime.session_factory) as session:
            call = call_store.get_or_create_call(
                session,
                call_sid=call_sid,
                from_number=params.get("From", ""),
                to_number=params.get("To", ""),
                direction=_direction(params.get("Direction", "inbound")),
            )
            kind = "twilio_stream_status" if "StreamEvent" in params else "twilio_call_status"
            call_store.add_event(session, call_id=call.id, kind=kind, payload=params)
            final = FINAL_STATUS.get(params.get("CallStatus", ""))
            if final is not None and call.status != CallStatus.transferred:
                call_store.set_call_status(
                    session, call.id, final, end_reason=f"twilio:{params['CallStatus']}"
                )
            elif params.get("CallStatus") == "in-progress" and call.status == CallStatus.ringing:
                call_store.set_call_status(session, call.id, CallStatus.in_progress)

    await _db(record)
    return Response(status_code=204)


def _call_event(runtime: TelephonyEdge, call_sid: str, kind: str, payload: dict[str, str]) -> None:
    with transaction(runtime.session_factory) as session:
        call = call_store.get_call_by_sid(session, call_sid)
        if call is not None:
            call_store.add_event(session, call_id=call.id, kind=kind, payload=payload)


async def dial_result(request: Request) -> Response:
    """Dial/Enqueue action: when the human leg did not happen, fall back."""
    form = await _signed_form(request)
    if form is None:
        return _forbidden()
    runtime: TelephonyEdge = request.app.state.runtime
    params = {key: str(value) for key, value in form.multi_items()}
    outcome = params.get("DialCallStatus") or params.get("QueueResult") or ""
    call_id = request.query_params.get("call_id", "")
    fell_back = request.query_params.get("fallback") == "1"
    await _db(lambda: _call_event(runtime, params.get("CallSid", ""), "transfer_result", params))
    if outcome in DIAL_ANSWERED:
        return _twiml(twiml.hangup_twiml())
    log.info("transfer of call %s ended %r: falling back", call_id, outcome)
    return _twiml(twiml.fallback_twiml(runtime.settings, call_id, already_fell_back=fell_back))


async def connect_action(request: Request) -> Response:
    """Our stream ended while the call is still up (session gone, server draining):
    never leave the caller in silence; hand them to a human."""
    form = await _signed_form(request)
    if form is None:
        return _forbidden()
    runtime: TelephonyEdge = request.app.state.runtime
    call_sid = str(form.get("CallSid") or "")
    call_id = request.query_params.get("call_id", "")

    def record() -> None:
        with transaction(runtime.session_factory) as session:
            call = call_store.get_call_by_sid(session, call_sid)
            if call is not None:
                call_store.add_event(session, call_id=call.id, kind="stream_ended_call_up")
                call_store.set_call_status(
                    session, call.id, CallStatus.transferred, end_reason="stream_ended"
                )

    await _db(record)
    return _twiml(twiml.transfer_twiml(runtime.settings, call_id))


# --- JSON API ---------------------------------------------------------------------------


def _call_id_by_sid(runtime: TelephonyEdge, call_sid: str) -> str:
    with transaction(runtime.session_factory) as session:
        call = call_store.get_call_by_sid(session, call_sid)
        return call.id if call is not None else ""


def _bearer_ok(request: Request, expected: str) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), expected.encode())
    )


async def create_call(request: Request) -> Response:
    """``POST /api/calls {"to": "+1555...", "from": optional}`` -> 201 {call_id, call_sid}.

    Twilio fetches the TwiML from /twilio/voice when the callee answers, so the stream
    token is minted at answer time (a ringing phone can outlast its TTL) and the call row
    is the same one the webhook finds by CallSid.
    """
    runtime: TelephonyEdge = request.app.state.runtime
    settings = runtime.settings
    if not settings.api_token:
        return JSONResponse({"error": "API disabled: set CALLCENTER_API_TOKEN"}, status_code=403)
    if not _bearer_ok(request, settings.api_token):
        return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "body must be JSON"}, status_code=400)
    to = body.get("to") if isinstance(body, dict) else None
    from_ = body.get("from") if isinstance(body, dict) else None
    if not isinstance(to, str) or not E164.match(to):
        return JSONResponse(
            {"error": "'to' must be an E.164 number like +15551234567"}, status_code=422
        )
    if from_ is not None and (not isinstance(from_, str) or not E164.match(from_)):
        return JSONResponse({"error": "'from' must be an E.164 number"}, status_code=422)
    if not runtime.accepting_calls:
        return JSONResponse({"error": "not accepting calls (draining)"}, status_code=503)
    try:
        placed = await runtime.call_control.create_call(
            to,
            from_,
            url=twiml.public_url(settings, twiml.VOICE_PATH),
            status_callback=twiml.public_url(settings, twiml.STATUS_PATH),
            machine_detection_callback=(
                twiml.public_url(settings, twiml.AMD_PATH) if settings.voicemail_detection else None
            ),
        )
    except CallControlError as error:
        return JSONResponse({"error": str(error), "twilio_code": error.code}, status_code=502)

    def record() -> str:
        with transaction(runtime.session_factory) as session:
            call = call_store.get_or_create_call(
                session,
                call_sid=placed.call_sid,
                from_number=from_ or settings.twilio_caller_id,
                to_number=to,
                direction=CallDirection.outbound,
            )
            call_store.add_event(session, call_id=call.id, kind="outbound_placed")
            return call.id

    try:
        call_id = await _db(record)
    except IntegrityError:  # the answer webhook recorded the CallSid first
        call_id = await _db(lambda: _call_id_by_sid(runtime, placed.call_sid))
    return JSONResponse(
        {"call_id": call_id, "call_sid": placed.call_sid, "status": placed.status},
        status_code=201,
    )


MACHINE_ANSWERS = ("machine_end_beep", "machine_end_silence", "machine_end_other", "fax")


async def machine_detection(request: Request) -> Response:
    """Async AMD result (``AnsweredBy``) for an outbound call: record it; on a machine,
    leave ``VOICEMAIL_MESSAGE`` after the beep (or hang up when it is empty)."""
    form = await _signed_form(request)
    if form is None:
        return _forbidden()
    runtime: TelephonyEdge = request.app.state.runtime
    call_sid = str(form.get("CallSid") or "")
    answered_by = str(form.get("AnsweredBy") or "unknown")
    if not call_sid:
        return Response(status_code=204)
    payload = {"answered_by": answered_by}
    if answered_by in MACHINE_ANSWERS:
        message = runtime.settings.voicemail_message
        payload["action"] = "message" if message and answered_by != "fax" else "hang_up"
        try:
            await runtime.call_control.redirect(
                call_sid, twiml.voicemail_twiml(message if answered_by != "fax" else "")
            )
        except CallControlError as error:
            payload["error"] = str(error)
    await _db(lambda: _call_event(runtime, call_sid, "answered_by", payload))
    return Response(status_code=204)


def telephony_routes() -> list[BaseRoute]:
    return [
        Route(twiml.VOICE_PATH, voice, methods=["POST"]),
        Route(twiml.STATUS_PATH, status, methods=["POST"]),
        Route(twiml.DIAL_RESULT_PATH, dial_result, methods=["POST"]),
        Route(twiml.CONNECT_ACTION_PATH, connect_action, methods=["POST"]),
        Route(twiml.AMD_PATH, machine_detection, methods=["POST"]),
        Route("/api/calls", create_call, methods=["POST"]),
        WebSocketRoute(twiml.MEDIA_PATH, media_stream_endpoint),
    ]
