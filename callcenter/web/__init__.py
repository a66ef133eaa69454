"""The agent and admin consoles and the JSON API (/agent, /admin, /api/v1, /login)."""

from __future__ import annotations

import itsdangerous
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callcenter.keys import session_keys
from callcenter.settings import Settings
from callcenter.web.body_limit import BodySizeLimit

SESSION_COOKIE = "callcenter_session"
# Everything the consoles load comes from this server: no inline script, no CDN.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def web_routes() -> list[BaseRoute]:
    from callcenter.web.account import account_routes
    from callcenter.web.admin import admin_routes
    from callcenter.web.agent import agent_routes
    from callcenter.web.api import api_routes
    from callcenter.web.browser_call import browser_call_routes
    from callcenter.web.calls import call_routes
    from callcenter.web.dashboard import dashboard_routes
    from callcenter.web.openapi import openapi_json
    from callcenter.web.templating import WEB_DIR

    return [
        *account_routes(),
        *agent_routes(),
        *admin_routes(),
        *api_routes(),
        *browser_call_routes(),
        *call_routes(),
        *dashboard_routes(),
        Route("/api/openapi.json", openapi_json),
        Route("/favicon.ico", favicon),
        Mount("/static", app=StaticFiles(directory=str(WEB_DIR / "static")), name="static"),
    ]


async def favicon(request: Request) -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=301)


async def not_found(request: Request, exc: Exception) -> Response:
    """Unknown URLs: JSON under /api, the console's page (with navigation) elsewhere."""
    from callcenter.web.auth import authenticate
    from callcenter.web.templating import render

    if request.url.path.startswith(("/api/", "/twilio/")):
        return JSONResponse({"error": "not found"}, status_code=404)
    await authenticate(request)
    return render(
        request,
        "error.html",
        {"title": "Page not found", "message": "There is no page at this address."},
        status_code=404,
    )


class SecurityHeaders:
    """Headers every console response needs (clickjacking, sniffing, script origins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                for name, value in (
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                ):
                    if name not in names:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RotatingSessionMiddleware(SessionMiddleware):
    """Starlette's signed-cookie sessions, verifying with every key in ``keys`` (oldest
    first) and signing with the last: old cookies keep working while a key rotates."""

    def __init__(
        self,
        app: ASGIApp,
        keys: list[str],
        session_cookie: str,
        max_age: int,
        https_only: bool,
    ) -> None:
        super().__init__(
            app,
            secret_key=keys[-1],
            session_cookie=session_cookie,
            max_age=max_age,
            same_site="lax",
            https_only=https_only,
        )
        self.signer = itsdangerous.TimestampSigner(keys)


def web_middleware(settings: Settings) -> list[Middleware]:
    return [
        # Outermost: nothing reads a body before its size is checked.
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        Middleware(SecurityHeaders),
        # Signed (itsdangerous) with the session key derived from secret_key, HttpOnly,
        # SameSite=Lax; Secure when served over https. Server-side revocation on top:
        # callcenter.web.auth compares the cookie's session version with the user's.
        Middleware(
            RotatingSessionMiddleware,
            keys=session_keys(settings),
            session_cookie=SESSION_COOKIE,
            max_age=settings.session_max_age_s,
            https_only=settings.public_url.startswith("https://"),
        ),
    ]
