"""Who is asking: session cookies and Bearer tokens, CSRF, role guards.

Every console page and API endpoint is wrapped in :func:`page` or :func:`api`. The
guard resolves the user *from the database on every request*, so deactivating a user,
revoking a token or ending a user's sessions (logout, password change, an admin's
revoke: ``users.session_version``) takes effect at once, even for an open session. Requests that
authenticate with the session cookie and change state must carry the session's CSRF
token (form field ``csrf_token`` or header ``X-CSRF-Token``); Bearer requests need
none, because a browser never attaches a Bearer token on its own.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar
from urllib.parse import quote

import anyio
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from callcenter.store import users as user_store
from callcenter.store.db import transaction
from callcenter.store.models import Role, User
from callcenter.web.session_state import SESSION_CSRF, csrf_token, flash, pop_flashes
from callcenter.web.templating import render

__all__ = ["csrf_token", "flash", "pop_flashes"]  # re-exported: pages import them from here

T = TypeVar("T")
Endpoint = Callable[[Request], Awaitable[Response]]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_USER = "uid"
# The user's session_version when the session began: a bump in the database (logout,
# password change, an admin's revoke) makes every older cookie worthless.
SESSION_VERSION = "sv"


async def run_db(request: HTTPConnection, work: Callable[[Session], T]) -> T:
    """Run sync store code in a worker thread, inside one committed transaction."""
    factory = request.app.state.runtime.session_factory

    def call() -> T:
        with transaction(factory) as session:
            return work(session)

    return await anyio.to_thread.run_sync(call)


# --- CSRF ---------------------------------------------------------------------------------


async def csrf_ok(request: Request) -> bool:
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(expected, str) or not expected:
        return False
    given = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not given and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        # request.form() is cached on the request: the endpoint can read it again.
        given = str((await request.form()).get(CSRF_FIELD, ""))
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


# --- client address ---------------------------------------------------------------------


def client_ip(request: Request) -> str:
    # The socket peer: X-Forwarded-For is caller-controlled unless a proxy is trusted
    # (run uvicorn with --proxy-headers behind one, which rewrites request.client).
    return request.client.host if request.client else "unknown"


# --- sessions -----------------------------------------------------------------------------


def start_session(request: Request, user: User) -> None:
    # A fresh session (and CSRF token) at login: nothing set before login survives it.
    request.session.clear()
    request.session[SESSION_USER] = user.id
    request.session[SESSION_VERSION] = user.session_version
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def end_session(request: HTTPConnection) -> None:
    request.session.clear()


# --- resolving the user -------------------------------------------------------------------

Via = Literal["session", "token"]


@dataclass(frozen=True)
class Principal:
    user: User  # detached, attributes loaded
    via: Via

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.admin


def _bearer(request: HTTPConnection) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authenticate(request: HTTPConnection) -> Principal | None:
    """The caller of this request, or None. A Bearer header, when present, decides alone:
    a wrong token is not rescued by a session cookie. Works for WebSocket upgrades too."""
    bearer = _bearer(request)
    uid = request.session.get(SESSION_USER) if bearer is None else None
    version = request.session.get(SESSION_VERSION) if bearer is None else None
    if bearer is None and not (isinstance(uid, int) and isinstance(version, int)):
        return None

    def load(session: Session) -> User | None:
        if bearer is not None:
            user = user_store.user_by_token(session, bearer)
        else:
            assert isinstance(uid, int)
            user = user_store.get_user(session, uid)
            if user is not None and user.session_version != version:
                return None  # logged out, password changed or revoked since
        if user is None or not user.active:
            return None
        session.expunge(user)
        return user

    user = await run_db(request, load)
    if user is None:
        if bearer is None:
            end_session(request)  # a deactivated or revoked session's cookie is dropped
        return None
    principal = Principal(user=user, via="token" if bearer is not None else "session")
    request.state.principal = principal
    return principal


def principal_of(request: Request) -> Principal:
    """The principal a guard already resolved for this request."""
    principal: Principal = request.state.principal
    return principal


# --- guards -------------------------------------------------------------------------------


def _mark(endpoint: Endpoint, kind: str, role: Role | None) -> Endpoint:
    # Read by the authorisation tests: every console/API route must carry a guard.
    endpoint.guard = kind  # type: ignore[attr-defined]
    endpoint.required_role = role  # type: ignore[attr-defined]
    return endpoint


def _forbidden(request: Request, message: str) -> Response:
    """A 403 page with the console's navigation, not a bare line of text."""
    return render(
        request, "error.html", {"title": "Not allowed", "message": message}, status_code=403
    )


def page(role: Role | None = None) -> Callable[[Endpoint], Endpoint]:
    """Console pages: anonymous -> 303 to /login; wrong role -> 403; CSRF on changes."""

    def wrap(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            principal = await authenticate(request)
            if principal is None:
                if request.method not in SAFE_METHODS:
                    # Coming back to a POST-only URL after login would be a 405.
                    return RedirectResponse("/login", status_code=303)
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            if role is not None and principal.user.role != role:
                return _forbidden(request, "This page needs the admin role.")
            if request.method not in SAFE_METHODS and not await csrf_ok(request):
                return _forbidden(
                    request, "The form expired or came from elsewhere. Reload and retry."
                )
            return await endpoint(request)

        return _mark(guarded, "page", role)

    return wrap


def api(role: Role | None = None) -> Callable[[Endpoint], Endpoint]:
    """JSON API: anonymous -> 401; wrong role -> 403; CSRF when a cookie authenticates."""

    def wrap(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            principal = await authenticate(request)
            if principal is None:
                return JSONResponse(
                    {"error": "authentication required"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="callcenter"'},
                )
            if role is not None and principal.user.role != role:
                return JSONResponse({"error": f"requires the {role.value} role"}, 403)
            if (
                principal.via == "session"
                and request.method not in SAFE_METHODS
                and not await csrf_ok(request)
            ):
                return JSONResponse({"error": "missing or wrong CSRF token"}, 403)
            return await endpoint(request)

        return _mark(guarded, "api", role)

    return wrap


def public(endpoint: Endpoint) -> Endpoint:
    """Marks an endpoint as deliberately open (login, the OpenAPI document)."""
    return _mark(endpoint, "public", None)
