"""The agent console: the live handoff queue, one handoff with its call, accept/resolve."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from callcenter.store import handoffs as handoff_store
from callcenter.web import handoff_ops
from callcenter.web.auth import flash, page, principal_of, run_db
from callcenter.web.errors import NotFound, OperationError
from callcenter.web.feed import HandoffFeed
from callcenter.web.templating import render

# A stream ends after this long; the browser reconnects at once and the guard checks
# the user again, so a deactivated agent stops receiving the queue within minutes.
STREAM_MAX_S = 600.0


@page()
async def queue_page(request: Request) -> Response:
    rows = await run_db(request, lambda s: handoff_store.queue(s))
    return render(request, "agent_queue.html", {"rows": rows})


@page()
async def queue_events(request: Request) -> Response:
    """Server-sent events: ``event: handoffs`` with the whole queue as JSON on each change."""
    feed: HandoffFeed = request.app.state.handoff_feed

    async def stream() -> AsyncIterator[str]:
        started = time.monotonic()
        yield "retry: 2000\n\n"
        async for snapshot in feed.subscribe():
            if snapshot is None:
                yield ": keep-alive\n\n"
            else:
                yield f"event: handoffs\ndata: {snapshot}\n\n"
            if time.monotonic() - started > STREAM_MAX_S:
                break

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@page()
async def handoff_page(request: Request) -> Response:
    handoff_id = int(request.path_params["handoff_id"])

    target: str = request.app.state.runtime.settings.handoff_language

    def load(session: Session) -> dict[str, object]:
        return {"h": handoff_ops.detail_view(session, handoff_id, target)}

    try:
        context = await run_db(request, load)
    except NotFound as error:
        return render(request, "error.html", {"message": error.message}, status_code=404)
    return render(request, "agent_handoff.html", context)


@page()
async def accept_handoff(request: Request) -> Response:
    handoff_id = int(request.path_params["handoff_id"])
    actor = principal_of(request).user
    try:
        await run_db(request, lambda s: handoff_ops.accept(s, actor, handoff_id))
        flash(request, f"You accepted handoff #{handoff_id}.")
    except OperationError as error:
        flash(request, error.message, "error")
    return RedirectResponse(f"/agent/handoffs/{handoff_id}", status_code=303)


@page()
async def resolve_handoff(request: Request) -> Response:
    handoff_id = int(request.path_params["handoff_id"])
    actor = principal_of(request).user
    note = str((await request.form()).get("note", ""))
    try:
        await run_db(request, lambda s: handoff_ops.resolve(s, actor, handoff_id, note))
        flash(request, f"Handoff #{handoff_id} resolved.")
    except OperationError as error:
        flash(request, error.message, "error")
    return RedirectResponse(f"/agent/handoffs/{handoff_id}", status_code=303)


def agent_routes() -> list[BaseRoute]:
    return [
        Route("/agent", queue_page),
        Route("/agent/events", queue_events),
        Route("/agent/handoffs/{handoff_id:int}", handoff_page),
        Route("/agent/handoffs/{handoff_id:int}/accept", accept_handoff, methods=["POST"]),
        Route("/agent/handoffs/{handoff_id:int}/resolve", resolve_handoff, methods=["POST"]),
    ]
