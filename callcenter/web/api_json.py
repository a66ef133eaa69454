"""What every JSON API endpoint shares: the auth wrapper with error mapping, body parsing."""

from __future__ import annotations

import functools
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from callcenter.store.models import Role
from callcenter.web.auth import Endpoint, api
from callcenter.web.errors import Invalid, OperationError


def endpoint(role: Role | None = None) -> Any:
    """:func:`auth.api` plus mapping of operation errors to JSON statuses."""

    def wrap(fn: Endpoint) -> Endpoint:
        @functools.wraps(fn)
        async def inner(request: Request) -> Response:
            try:
                return await fn(request)
            except OperationError as error:
                return JSONResponse({"error": error.message}, status_code=error.status_code)

        return api(role)(inner)

    return wrap


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise Invalid("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    return body


def string_field(body: dict[str, Any], key: str, *, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise Invalid(f"{key}: a string is required")
    return value


async def optional_json_body(request: Request) -> dict[str, Any]:
    """A JSON object if the request has a body, else an empty one."""
    return await json_body(request) if await request.body() else {}


def optional_string(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise Invalid(f"{key}: a string is required")
    return value
