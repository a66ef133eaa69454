"""Every call, handed off or not: the console's list and call page, and their API.

Both roles see calls: agents and supervisors review what the agent told callers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.audio.call_recording import recording_path
from callcenter.store import call_search
from callcenter.web import call_ops
from callcenter.web.api_json import endpoint
from callcenter.web.auth import page, run_db
from callcenter.web.errors import NotFound, OperationError
from callcenter.web.templating import render


def _recording(request: Request, call_id: str) -> Path | None:
    try:
        path = recording_path(request.app.state.runtime.settings.recordings_path, call_id)
    except ValueError:
        return None
    return path if path.is_file() else None


async def _detail(request: Request, call_id: str) -> dict[str, Any]:
    call = await run_db(request, lambda s: call_ops.detail(s, call_id))
    call["recording"] = _recording(request, call_id) is not None
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
    """The call's stereo WAV, with Range support so the player can seek. Only for a call
    the store knows (a file left behind by a purged call is not served)."""
    call_id = request.path_params["call_id"]
    try:
        await run_db(request, lambda s: call_ops.detail(s, call_id))
    except NotFound as error:
        return render(request, "error.html", {"message": error.message}, status_code=404)
    path = _recording(request, call_id)
    if path is None:
        return render(
            request, "error.html", {"message": "This call has no recording."}, status_code=404
        )
    return FileResponse(
        path,
        media_type="audio/wav",
        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
    )


def call_routes() -> list[BaseRoute]:
    return [
        Route("/calls", calls_page),
        Route("/calls/{call_id}", call_page),
        Route("/calls/{call_id}/recording", call_recording),
        Route("/api/v1/calls", list_calls),
        Route("/api/v1/calls/{call_id}", get_call),
    ]
