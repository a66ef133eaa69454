"""Call control through Twilio's REST API: hang up, transfer (redirect), place calls.

twilio's ``Client`` is synchronous (requests); every call runs in a worker thread so a
slow API never stalls the event loop that carries live audio. The client is pointed at
``settings.twilio_api_base`` so tests (and air-gapped demos) use the local stub.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from callcenter.settings import Settings
from callcenter.telephony.twiml import transfer_twiml

log = logging.getLogger(__name__)
T = TypeVar("T")

NOT_FOUND = 20404  # "The requested resource was not found": the call is gone
NOT_IN_PROGRESS = 21220  # "Call is not in-progress. Cannot redirect."


class CallControlError(RuntimeError):
    def __init__(self, message: str, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class CallEndedError(CallControlError):
    """The call ended before we could act on it (a transfer that cannot happen)."""


@dataclass(frozen=True)
class PlacedCall:
    call_sid: str
    status: str


def make_client(settings: Settings) -> Client:
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token)
    # Domain.base_url is what every api.twilio.com request is built from.
    client.api.base_url = settings.twilio_api_base
    return client


class CallControl:
    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self.client = client or make_client(settings)
        self._lock = threading.Lock()
        # CallSids we redirected: their stream's `stop` is a transfer, not a hang-up.
        self._redirected: set[str] = set()

    async def _run(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn)

    def was_redirected(self, call_sid: str) -> bool:
        with self._lock:
            return call_sid in self._redirected

    def forget(self, call_sid: str) -> None:
        with self._lock:
            self._redirected.discard(call_sid)

    async def hangup(self, call_sid: str) -> bool:
        """End the call. False if it had already ended (Twilio 20404), not an error."""
        try:
            await self._run(lambda: self.client.calls(call_sid).update(status="completed"))
        except TwilioRestException as error:
            if error.code == NOT_FOUND or error.status == 404:
                log.info("hangup %s: already ended (20404)", call_sid)
                return False
            raise CallControlError(str(error.msg), error.code, error.status) from error
        return True

    async def redirect(self, call_sid: str, twiml: str) -> None:
        """Replace the call's TwiML (our stream then gets `stop`: a transfer)."""
        with self._lock:
            self._redirected.add(call_sid)
        try:
            await self._run(lambda: self.client.calls(call_sid).update(twiml=twiml))
        except TwilioRestException as error:
            self.forget(call_sid)
            if error.code in (NOT_FOUND, NOT_IN_PROGRESS) or error.status == 404:
                raise CallEndedError(str(error.msg), error.code, error.status) from error
            raise CallControlError(str(error.msg), error.code, error.status) from error

    async def transfer(self, call_sid: str, call_id: str = "") -> None:
        """Hand the caller to ``settings.human_destination`` (with a short spoken line)."""
        await self.redirect(call_sid, transfer_twiml(self.settings, call_id))

    async def create_call(
        self,
        to: str,
        from_: str | None = None,
        *,
        twiml: str | None = None,
        url: str | None = None,
        status_callback: str | None = None,
        machine_detection_callback: str | None = None,
    ) -> PlacedCall:
        """Place an outbound call that runs ``twiml`` or fetches it from ``url``."""
        if (twiml is None) == (url is None):
            raise ValueError("give exactly one of twiml= or url=")
        kwargs: dict[str, Any] = {"to": to, "from_": from_ or self.settings.twilio_caller_id}
        if twiml is not None:
            kwargs["twiml"] = twiml
        else:
            kwargs["url"] = url
            kwargs["method"] = "POST"
        if status_callback:
            kwargs["status_callback"] = status_callback
            kwargs["status_callback_method"] = "POST"
            kwargs["status_callback_event"] = ["initiated", "ringing", "answered", "completed"]
        if machine_detection_callback:
            # Twilio's answering-machine detection, asynchronous: the call connects at
            # once (no dead air for a person) and the verdict comes to the callback once
            # the greeting ended (DetectMessageEnd: after the beep, ready for a message).
            kwargs["machine_detection"] = "DetectMessageEnd"
            kwargs["async_amd"] = "true"
            kwargs["async_amd_status_callback"] = machine_detection_callback
            kwargs["async_amd_status_callback_method"] = "POST"
        try:
            call = await self._run(lambda: self.client.calls.create(**kwargs))
        except TwilioRestException as error:
            raise CallControlError(str(error.msg), error.code, error.status) from error
        return PlacedCall(call_sid=str(call.sid), status=str(call.status))
