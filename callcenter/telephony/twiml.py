"""The TwiML we answer with, built with twilio's own TwiML classes (escaping, attribute names).

All URLs come from ``settings.public_url``: Twilio fetches and signs exactly what we
write here, and the webhook validator rebuilds the same URLs from the same setting.
"""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.twiml.voice_response import Connect, Dial, VoiceResponse

from callcenter.settings import Settings

VOICE_PATH = "/twilio/voice"
STATUS_PATH = "/twilio/status"
DIAL_RESULT_PATH = "/twilio/dial-result"
CONNECT_ACTION_PATH = "/twilio/connect-action"
AMD_PATH = "/twilio/amd"  # answering-machine detection results (async AMD)
MEDIA_PATH = "/twilio/media"

TRANSFER_LINE = "Please hold while I connect you with a colleague."
BUSY_LINE = "All our assistants are busy right now. Let me connect you with a colleague."
NOBODY_LINE = (
    "I'm sorry, nobody is available to take your call right now. "
    "We have noted your number and will call you back as soon as possible. Goodbye."
)
FALLBACK_LINE = "I'm sorry, nobody answered. Let me try another number."
VOICE = "Polly.Joanna"  # Twilio <Say> voice; only used for the short lines around transfers
DIAL_TIMEOUT_S = 25


def public_url(settings: Settings, path: str, **query: str) -> str:
    # Query strings are fine on webhook URLs (Twilio signs them); only the Stream url
    # must not carry one.
    return settings.public_url + path + (f"?{urlencode(query)}" if query else "")


def answer_twiml(settings: Settings, call_id: str, token: str) -> str:
    """Connect the call to our Media Stream; Connect's action runs if the stream ends.
    When calls are recorded, the recording notice is said first."""
    response = VoiceResponse()
    if settings.recording_enabled and settings.recording_notice.strip():
        response.say(settings.recording_notice.strip(), voice=VOICE)
    connect = Connect(action=public_url(settings, CONNECT_ACTION_PATH, call_id=call_id))
    stream = connect.stream(
        url=settings.public_ws_url,
        status_callback=public_url(settings, STATUS_PATH),
        status_callback_method="POST",
    )
    stream.parameter(name="call_id", value=call_id)
    stream.parameter(name="token", value=token)
    response.append(connect)
    return str(response)


def _destination_verb(
    settings: Settings, destination: str, response: VoiceResponse, call_id: str
) -> None:
    kind, _, target = destination.partition(":")
    action = public_url(settings, DIAL_RESULT_PATH, call_id=call_id) if call_id else None
    if kind == "queue":
        response.enqueue(target, action=action, method="POST")
        return
    dial = Dial(
        action=action, method="POST", timeout=DIAL_TIMEOUT_S, caller_id=settings.twilio_caller_id
    )
    if kind == "tel":
        dial.number(target)
    elif kind == "sip":
        dial.sip("sip:" + target)
    elif kind == "client":
        dial.client(identity=target)
    else:  # settings validate this; keep the error obvious if it ever happens
        raise ValueError(f"unknown destination kind {kind!r} in {destination!r}")
    response.append(dial)


def transfer_twiml(settings: Settings, call_id: str = "", line: str = TRANSFER_LINE) -> str:
    """Say a short line, then hand the caller to ``settings.human_destination``.

    The Dial/Enqueue ``action`` brings us back to the dial-result route when nobody
    answers, so the caller is never left in silence.
    """
    response = VoiceResponse()
    if line:
        response.say(line, voice=VOICE)
    _destination_verb(settings, settings.human_destination, response, call_id)
    return str(response)


def busy_twiml(settings: Settings, call_id: str = "") -> str:
    """While draining (or over capacity) new calls go straight to the humans."""
    return transfer_twiml(settings, call_id, line=BUSY_LINE)


def fallback_twiml(settings: Settings, call_id: str = "", *, already_fell_back: bool) -> str:
    """Nobody answered the transfer: try the fallback number once, else apologise."""
    response = VoiceResponse()
    if settings.human_fallback_number and not already_fell_back:
        response.say(FALLBACK_LINE, voice=VOICE)
        action = public_url(settings, DIAL_RESULT_PATH, call_id=call_id, fallback="1")
        dial = Dial(
            action=action,
            method="POST",
            timeout=DIAL_TIMEOUT_S,
            caller_id=settings.twilio_caller_id,
        )
        dial.number(settings.human_fallback_number)
        response.append(dial)
        return str(response)
    response.say(NOBODY_LINE, voice=VOICE)
    response.hangup()
    return str(response)


def hangup_twiml() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def voicemail_twiml(message: str) -> str:
    """After the beep: leave ``message`` (if any) and hang up."""
    response = VoiceResponse()
    if message:
        response.say(message, voice=VOICE)
    response.hangup()
    return str(response)
