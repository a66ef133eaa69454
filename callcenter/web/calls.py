"""Every call, handed off or not: the console's list and call page, and their API.

Both roles see calls: agents and supervisors review what the agent told callers.
"""

from __future__ import annotations

from typing import Any

import anyio
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from callcenter.recordings import (
    RangeNotSatisfiable,
    RecordingStorage,
    StoredRecording,
    parse_range,
)
from callcenter.store import call_search
from callcenter.text.languages import english_name
from callcenter.web import call_ops
from callcenter.web.api_json import endpoint
from callcenter.web.auth import flash, page, principal_of, run_db
from callcenter.web.errors import NotFound, OperationError
from callcenter.web.templating import render


def _recording(request: Request, call_id: str) -> StoredRecording | None:
    storage: RecordingStorage = request.app.state.runtime.recordings
    return storage.stat(call_id)


def _translation_language(request: Request) -> str:
    # The human agents' language: handoff summaries and machine translations are in it.
    language: str = request.app.state.runtime.settings.handoff_language
    return language


async def _detail(request: Request, call_id: str) -> dict[str, Any]:
    target = _translation_language(request)
    call = await run_db(request, lambda s: call_ops.detail(s, call_id, target))
    call["recording"] = (
        await anyio.to_thread.run_sync(lambda: _recording(request, call_id))
    ) is not None
    return call


def _load_list(request: Request) -> Any:
    filters = call_ops.parse_filter(request.query_params)
    limit, offset = call_ops.parse_page(request.query_params)

    def load(session: Session) -> dict[str, Any]:
        rows, total = call_search.search(session, filters, limit=limit, offset=offset)
        return {"rows": rows, "total": total, "limit": limit, "offset": offset}

    return run_db(request, load)


@page()
async def calls_page(request: Request) -> Response:
    params = dict(request.query_params)
    base: dict[str, Any] = {"params": params, "outcomes": call_search.OUTCOMES}
    try:
        context = await _load_list(request)
    except OperationError as error:
        empty = {"rows": [], "total": 0, "limit": call_ops.PAGE_SIZE, "offset": 0}
        return render(
            request, "calls.html", base | empty | {"error": error.message}, status_code=422
        )
    return render(request, "calls.html", base | context | {"error": None})


@page()
async def call_page(request: Request) -> Response:
    call_id = request.path_params["call_id"]
    try:
        call = await _detail(request, call_id)
    except OperationError as error:
        return render(request, "error.html", {"message": error.message}, status_code=404)
    return render(request, "call.html", {"c": call})


@page()
async def translate_call(request: Request) -> Response:
    """The "Translate to English" button: the worker translates the turns said in other
    languages; the page shows each translation beside its turn once it is made."""
    call_id = request.path_params["call_id"]
    actor = principal_of(request).user
    target = _translation_language(request)
    name = english_name(target)
    try:
        asked = await run_db(
            request, lambda s: call_ops.request_translation(s, actor, call_id, target)
        )
    except OperationError as error:
        return render(request, "error.html", {"message": error.message}, status_code=404)
    if asked:
        flash(request, f"Translating into {name}: reload the page in a moment.")
    else:
        flash(request, f"Every turn of this call is in {name} or already translated.")
    return RedirectResponse(f"/calls/{call_id}", status_code=303)


@endpoint()
async def list_calls(request: Request) -> Response:
    context = await _load_list(request)
    return JSONResponse(
        {
            "total": context["total"],
            "limit": context["limit"],
            "offset": context["offset"],
            "calls": [row.as_dict() for row in context["rows"]],
        }
    )


@endpoint()
async def get_call(request: Request) -> Response:
    call_id = request.path_params["call_id"]
    return JSONResponse(await _detail(request, call_id))


@page()
async def call_recording(request: Request) -> Response:
    """The call's stereo recording (WAV or Ogg Opus), from disk or streamed from object
    storage, with Range support so the player can seek. Only for a call the store knows
    (a file left behind by a purged call is not served)."""
    call_id = request.path_params["call_id"]
    try:
        await run_db(request, lambda s: call_ops.detail(s, call_id))
    except NotFound as error:
        return render(request, "error.html", {"message": error.message}, status_code=404)
    storage: RecordingStorage = request.app.state.runtime.recordings
    stored = await anyio.to_thread.run_sync(lambda: storage.stat(call_id))
    if stored is None:
        return render(
            request, "error.html", {"message": "This call has no recording."}, status_code=404
        )
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": "inline",
        "Accept-Ranges": "bytes",
    }
    size, media_type = stored.size, stored.media_type
    try:
        byte_range = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        return Response(status_code=416, headers=headers | {"Content-Range": f"bytes */{size}"})
    chunks = await anyio.to_thread.run_sync(lambda: storage.read(call_id, byte_range))
    if byte_range is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(chunks, media_type=media_type, headers=headers)
    headers["Content-Length"] = str(byte_range.length)
    headers["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    return StreamingResponse(chunks, status_code=206, media_type=media_type, headers=headers)


def call_routes() -> list[BaseRoute]:
    return [
        Route("/calls", calls_page),
        Route("/calls/{call_id}", call_page),
        Route("/calls/{call_id}/recording", call_recording),
        Route("/calls/{call_id}/translate", translate_call, methods=["POST"]),
        Route("/api/v1/calls", list_calls),
        Route("/api/v1/calls/{call_id}", get_call),
    ]
