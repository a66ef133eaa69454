"""Every call, handed off or not: the console's list and call page, and their API.

Both roles see calls: agents and supervisors review what the agent told callers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.store import call_search
from callcenter.web import call_ops
from callcenter.web.api_json import endpoint
from callcenter.web.auth import page, run_db
from callcenter.web.errors import OperationError
from callcenter.web.templating import render


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
        call = await run_db(request, lambda s: call_ops.detail(s, call_id))
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
    return JSONResponse(await run_db(request, lambda s: call_ops.detail(s, call_id)))


def call_routes() -> list[BaseRoute]:
    return [
        Route("/calls", calls_page),
        Route("/calls/{call_id}", call_page),
        Route("/api/v1/calls", list_calls),
        Route("/api/v1/calls/{call_id}", get_call),
    ]
