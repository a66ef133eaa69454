"""A local Twilio REST stub: a real HTTP server on loopback speaking the Calls API.

It implements what :class:`callcenter.telephony.rest.CallControl` uses, with Twilio's
JSON shapes and errors, and records every request so tests can assert transfers and
hang-ups::

    with TwilioStub() as stub:
        settings = load_settings(twilio_api_base=stub.url, ...)
        ...
        assert stub.calls[sid].status == "completed"
        assert [r.form.get("Twiml") for r in stub.requests if r.call_sid == sid]

Optionally (``caller=``) a created call is answered by the call simulator: the stub
fetches the call's ``Url`` as a signed webhook and plays ``caller.steps`` through its
Media Stream; a later REST redirect or hang-up ends that stream with ``stop``, as
Twilio does.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from callcenter.simulator.caller import CallRemote, SimulationOptions, run_call
from callcenter.simulator.result import SimulationResult
from callcenter.simulator.script import Step

API = "/2010-04-01/Accounts/{account_sid}/Calls"


class BackgroundServer:
    """Any ASGI app under uvicorn on 127.0.0.1 (random port) in a daemon thread."""

    def __init__(
        self,
        app: Any,
        name: str = "server",
        port: int = 0,
        *,
        lifespan: Literal["auto", "on", "off"] = "off",
        start_timeout_s: float = 10.0,
    ) -> None:
        # lifespan="on" runs the app's startup (engines) before `start()` returns.
        self.app, self.name, self.lifespan = app, name, lifespan
        self.start_timeout_s = start_timeout_s
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port: int = self.sock.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BackgroundServer:
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan=self.lifespan,
            ws_max_size=1 << 20,
            ws_ping_interval=None,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self.sock]}, name=self.name, daemon=True
        )
        thread.start()
        deadline = time.monotonic() + self.start_timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start on {self.url}")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None
        self.sock.close()


@dataclass
class RecordedRequest:
    method: str
    path: str
    form: dict[str, str]
    auth_ok: bool
    call_sid: str | None
    status_code: int = 0


@dataclass
class StubCall:
    sid: str
    to: str
    from_: str
    status: str = "queued"
    url: str | None = None
    twiml: str | None = None
    redirects: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class StubCaller:
    """Answer created calls with the simulator: which server, what the callee does."""

    server_url: str
    steps: list[Step]
    options: SimulationOptions = field(default_factory=SimulationOptions)


class TwilioStub:
    def __init__(
        self,
        account_sid: str = "AC00000000000000000000000000000000",
        auth_token: str = "dev-auth-token",
        caller: StubCaller | None = None,
    ) -> None:
        self.account_sid, self.auth_token, self.caller = account_sid, auth_token, caller
        self.requests: list[RecordedRequest] = []
        self.calls: dict[str, StubCall] = {}
        self.simulations: dict[str, SimulationResult] = {}
        self._remotes: dict[str, CallRemote] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        base = API.format(account_sid="{account_sid}")
        app = Starlette(
            routes=[
                Route(base + ".json", self._create, methods=["POST"]),
                Route(base + "/{call_sid}.json", self._update, methods=["POST"]),
                Route(base + "/{call_sid}.json", self._fetch, methods=["GET"]),
            ]
        )
        self.server = BackgroundServer(app, name="twilio-stub")

    @property
    def url(self) -> str:
        return self.server.url

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> TwilioStub:
        self.server.start()
        return self

    def stop(self) -> None:
        for remote in list(self._remotes.values()):
            remote.end("stub_stopped")
        for thread in self._threads:
            thread.join(timeout=30)
        self.server.stop()

    def __enter__(self) -> TwilioStub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_simulation(self, call_sid: str, timeout: float = 60) -> SimulationResult:
        deadline = time.monotonic() + timeout
        while call_sid not in self.simulations:
            if time.monotonic() > deadline:
                raise TimeoutError(f"simulated call {call_sid} did not finish")
            time.sleep(0.02)
        return self.simulations[call_sid]

    # --- HTTP ---------------------------------------------------------------------------

    def _auth_ok(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user == self.account_sid and password == self.auth_token

    async def _record(self, request: Request) -> RecordedRequest:
        form = await request.form()
        record = RecordedRequest(
            method=request.method,
            path=request.url.path,
            form={k: str(v) for k, v in form.multi_items()},
            auth_ok=self._auth_ok(request),
            call_sid=request.path_params.get("call_sid"),
        )
        with self._lock:
            self.requests.append(record)
        return record

    def _error(self, record: RecordedRequest, status: int, code: int, message: str) -> JSONResponse:
        record.status_code = status
        return JSONResponse(
            {
                "code": code,
                "message": message,
                "status": status,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
            },
            status_code=status,
        )

    def _json(self, call: StubCall, status: int = 200) -> JSONResponse:
        uri = API.format(account_sid=self.account_sid) + f"/{call.sid}.json"
        date = format_datetime(call.created_at)
        ended = call.status in ("completed", "canceled", "failed", "busy", "no-answer")
        return JSONResponse(
            {
                "sid": call.sid,
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "to": call.to,
                "to_formatted": call.to,
                "from": call.from_,
                "from_formatted": call.from_,
                "status": call.status,
                "direction": "outbound-api",
                "date_created": date,
                "date_updated": date,
                "start_time": None,
                "end_time": date if ended else None,
                "duration": "0" if ended else None,
                "parent_call_sid": None,
                "phone_number_sid": None,
                "price": None,
                "price_unit": "USD",
                "answered_by": None,
                "forwarded_from": None,
                "group_sid": None,
                "caller_name": None,
                "queue_time": "0",
                "trunk_sid": None,
                "uri": uri,
                "subresource_uris": {},
            },
            status_code=status,
        )

    async def _create(self, request: Request) -> JSONResponse:
        record = await self._record(request)
        if not record.auth_ok:
            return self._error(record, 401, 20003, "Authenticate")
        form = record.form
        if not form.get("To") or not form.get("From"):
            return self._error(record, 400, 21201, "No 'To' or 'From' number is specified")
        if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
            return self._error(record, 400, 21205, "Url parameter is required")
        call = StubCall(
            "CA" + uuid.uuid4().hex,
            form["To"],
            form["From"],
            url=form.get("Url"),
            twiml=form.get("Twiml"),
        )
        with self._lock:
            self.calls[call.sid] = call
        record.call_sid, record.status_code = call.sid, 201
        if self.caller is not None:
            self._play(call)
        return self._json(call, 201)

    async def _update(self, request: Request) -> JSONResponse:
        record = await self._record(request)
        if not record.auth_ok:
            return self._error(record, 401, 20003, "Authenticate")
        call = self.calls.get(str(record.call_sid))
        if call is None:
            path = request.url.path
            return self._error(record, 404, 20404, f"The requested resource {path} was not found")
        ended = call.status in ("completed", "canceled", "failed", "busy", "no-answer")
        twiml, url, status = (
            record.form.get("Twiml"),
            record.form.get("Url"),
            record.form.get("Status"),
        )
        if twiml or url:
            if ended:
                return self._error(record, 400, 21220, "Call is not in-progress. Cannot redirect.")
            call.redirects.append(twiml or url or "")
            self._end_stream(call.sid, "transfer")
        if status in ("completed", "canceled") and not ended:
            call.status = "completed" if status == "completed" else "canceled"
            self._end_stream(call.sid, "agent_hangup")
        record.status_code = 200
        return self._json(call)

    async def _fetch(self, request: Request) -> JSONResponse:
        record = RecordedRequest(
            "GET", request.url.path, {}, self._auth_ok(request), request.path_params.get("call_sid")
        )
        call = self.calls.get(str(record.call_sid))
        if call is None:
            return self._error(record, 404, 20404, "The requested resource was not found")
        return self._json(call)

    # --- the simulated callee ------------------------------------------------------------

    def add_call(
        self,
        call_sid: str,
        to: str = "+15550001111",
        from_: str = "+15005550006",
        status: str = "in-progress",
    ) -> StubCall:
        """Make an inbound call known to the stub (so REST updates find it)."""
        call = StubCall(call_sid, to, from_, status=status)
        with self._lock:
            self.calls[call_sid] = call
        return call

    def attach(self, call_sid: str, remote: CallRemote) -> StubCall:
        """An inbound simulated call: REST updates to it end its stream as Twilio would."""
        self._remotes[call_sid] = remote
        return self.add_call(call_sid)

    def _end_stream(self, call_sid: str, reason: str) -> None:
        remote = self._remotes.get(call_sid)
        if remote is not None:
            remote.end(reason)

    def _play(self, call: StubCall) -> None:
        assert self.caller is not None
        caller = self.caller
        remote = CallRemote()
        self._remotes[call.sid] = remote
        base = caller.options
        options = SimulationOptions(
            **{
                **base.__dict__,
                "call_sid": call.sid,
                "direction": "outbound-api",
                "from_number": call.from_,
                "to_number": call.to,
                "twiml": call.twiml,
                "auth_token": self.auth_token,
                "account_sid": self.account_sid,
            }
        )
        if call.url:  # Twilio fetches the call's Url (signed) when the callee answers
            parts = urlsplit(call.url)
            options.public_url = f"{parts.scheme}://{parts.netloc}"
            options.webhook_path = parts.path + (f"?{parts.query}" if parts.query else "")

        def play() -> None:
            call.status = "in-progress"
            try:
                result = asyncio.run(run_call(caller.server_url, caller.steps, options, remote))
            except Exception as error:  # keep the stub alive; the test sees the failure
                result = SimulationResult(call_sid=call.sid, end_reason=f"error: {error!r}")
            if call.status == "in-progress":
                call.status = "completed"
            self.simulations[call.sid] = result

        thread = threading.Thread(target=play, name=f"stub-call-{call.sid[:8]}", daemon=True)
        self._threads.append(thread)
        thread.start()
