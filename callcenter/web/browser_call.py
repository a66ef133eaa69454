"""The console's test call: talk to the agent from the browser, through the whole pipeline.

1. ``GET /test-call``: the page (any signed-in user), with the prompt drafts to try.
2. ``POST /api/v1/test-calls`` (session + CSRF token, or Bearer): stores a call with
   direction "browser" and mints its stream token (short-lived, single use), exactly as
   ``/twilio/voice`` does for a phone call.
3. ``WS /console/media``: the page speaks Twilio's Media Streams protocol here. The
   upgrade must carry the session cookie of an active user and come from this site's own
   origin (a cross-site page cannot open it with the user's cookie); ``start`` must name
   this user's call and carry its token (callcenter.telephony.browser_stream).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from callcenter.keys import stream_token_keys
from callcenter.store import calls as call_store
from callcenter.store.models import PromptVersion, VersionStatus
from callcenter.telephony.browser_stream import BrowserStreamConnection
from callcenter.telephony.signatures import create_stream_token
from callcenter.web.api_json import endpoint, json_body
from callcenter.web.auth import authenticate, page, principal_of, run_db
from callcenter.web.errors import Invalid
from callcenter.web.templating import render

log = logging.getLogger(__name__)

MEDIA_PATH = "/console/media"
POLICY_VIOLATION = 1008
MAX_DRAFTS = 10


def _drafts(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(PromptVersion)
        .where(PromptVersion.status == VersionStatus.draft)
        .order_by(PromptVersion.name, PromptVersion.version.desc())
    )
    return [{"id": r.id, "name": r.name, "version": r.version} for r in rows]


@page()
async def test_call_page(request: Request) -> Response:
    drafts = await run_db(request, _drafts)
    runtime = request.app.state.runtime
    return render(
        request,
        "test_call.html",
        {"drafts": drafts, "agent_ready": runtime.handler_factory is not None},
    )


def _draft_ids(body: dict[str, Any]) -> list[int]:
    raw = body.get("prompt_version_ids", [])
    if not isinstance(raw, list) or len(raw) > MAX_DRAFTS:
        raise Invalid(f"prompt_version_ids: a list of at most {MAX_DRAFTS} version ids")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in raw):
        raise Invalid("prompt_version_ids: whole numbers")
    return list(raw)


@endpoint()
async def start_test_call(request: Request) -> Response:
    runtime = request.app.state.runtime
    if runtime.handler_factory is None or not runtime.accepting_calls:
        return JSONResponse({"error": "no agent is answering calls in this process"}, 503)
    drafts = _draft_ids(await json_body(request))
    user = principal_of(request).user

    def create(session: Session) -> tuple[str, str]:
        names: set[str] = set()
        for version_id in drafts:
            row = session.get(PromptVersion, version_id)
            if row is None or row.status != VersionStatus.draft:
                raise Invalid(f"prompt version {version_id} is not a draft")
            if row.name in names:
                raise Invalid(f"two drafts of the prompt {row.name!r}: pick one")
            names.add(row.name)
        call = call_store.create_browser_call(
            session, user_id=user.id, username=user.username, drafts=drafts
        )
        return call.id, call.call_sid

    call_id, call_sid = await run_db(request, create)
    settings = runtime.settings
    token = create_stream_token(
        stream_token_keys(settings)[0], call_id, call_sid, settings.stream_token_ttl_s
    )
    return JSONResponse(
        {"call_id": call_id, "call_sid": call_sid, "token": token, "media_path": MEDIA_PATH},
        status_code=201,
    )


def same_origin(origin: str | None, host: str | None, public_url: str) -> bool:
    """The page that opens the socket is ours: its Origin is this server as the browser
    reached it (the Host header) or the configured public URL."""
    if not origin:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    public = urlsplit(public_url)
    return parts.netloc == host or (parts.scheme, parts.netloc) == (public.scheme, public.netloc)


async def console_media(websocket: WebSocket) -> None:
    runtime = websocket.app.state.runtime
    await websocket.accept()  # then close with 1008: the page gets a reason it can show
    if not same_origin(
        websocket.headers.get("origin"), websocket.headers.get("host"), runtime.settings.public_url
    ):
        runtime.metrics.rejected_streams.labels("origin").inc()
        log.warning("console media rejected: foreign origin %r", websocket.headers.get("origin"))
        await websocket.close(code=POLICY_VIOLATION, reason="foreign origin")
        return
    principal = await authenticate(websocket)
    if principal is None or principal.via != "session":
        runtime.metrics.rejected_streams.labels("console_session").inc()
        await websocket.close(code=POLICY_VIOLATION, reason="sign in first")
        return
    connection = BrowserStreamConnection(
        websocket, runtime, runtime.browser_calls, principal.user.id
    )
    await connection.run()


def browser_call_routes() -> list[BaseRoute]:
    return [
        Route("/test-call", test_call_page),
        Route("/api/v1/test-calls", start_test_call, methods=["POST"]),
        WebSocketRoute(MEDIA_PATH, console_media),
    ]
