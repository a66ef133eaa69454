"""What the console keeps in the signed session cookie besides the user: the CSRF token
and flash messages. Its own module so templates and the auth guards both use it."""

from __future__ import annotations

import secrets

from starlette.requests import Request

SESSION_CSRF = "csrf"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (the login page makes the first)."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "message": message})


def pop_flashes(request: Request) -> list[dict[str, str]]:
    return list(request.session.pop("flash", []))
