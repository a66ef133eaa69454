"""Jinja2 set-up for the consoles: autoescaped templates, small formatting filters."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from callcenter.web.session_state import csrf_token, pop_flashes

WEB_DIR = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


def format_datetime(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_ms(value: int | None) -> str:
    """Call time of a turn, as m:ss.s from the start of the call."""
    if value is None:
        return ""
    minutes, rest = divmod(max(value, 0), 60_000)
    return f"{minutes}:{rest / 1000:04.1f}"


def format_span(start: int | None, end: int | None) -> str:
    """A turn's time span; a turn with no recorded start shows its end alone."""
    if start is None:
        return f"until {format_ms(end)}" if end is not None else ""
    return format_ms(start) + (f"–{format_ms(end)}" if end is not None else "")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def urlencode_params(params: Mapping[str, str], offset: int) -> str:
    """The current filters with another page offset, for pagination links."""
    kept = {k: v for k, v in params.items() if k != "offset"}
    return urlencode({**kept, "offset": max(offset, 0)})


templates.env.filters["dt"] = format_datetime
templates.env.filters["urlencode_params"] = urlencode_params
templates.env.filters["ms"] = format_ms
templates.env.filters["pretty"] = pretty_json
templates.env.filters["span"] = format_span
templates.env.filters["duration"] = format_duration


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    principal = getattr(request.state, "principal", None)
    base = {
        "user": principal.user if principal is not None else None,
        "csrf_token": csrf_token(request),
        "flashes": pop_flashes(request),
    }
    response = templates.TemplateResponse(
        request, name, base | (context or {}), status_code=status_code
    )
    # Console pages show customer data: never cache them in shared or browser caches.
    response.headers["Cache-Control"] = "no-store"
    return response
