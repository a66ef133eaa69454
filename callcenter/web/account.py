"""Login, logout, password change, and the signed-in user's own API token."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.store import users as user_store
from callcenter.store.models import Role, User
from callcenter.web import user_ops
from callcenter.web.auth import (
    authenticate,
    client_ip,
    csrf_ok,
    end_session,
    flash,
    page,
    principal_of,
    public,
    run_db,
    start_session,
)
from callcenter.web.errors import OperationError
from callcenter.web.templating import render
from callcenter.web.throttle import LoginThrottle


def safe_next(value: str | None, default: str) -> str:
    # Only local paths: "//evil.example" or "https://..." would make an open redirect.
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default


def home_for(user: User) -> str:
    return "/admin" if user.role == Role.admin else "/agent"


@public
async def home(request: Request) -> Response:
    principal = await authenticate(request)
    target = home_for(principal.user) if principal is not None else "/login"
    return RedirectResponse(target, status_code=303)


@public
async def login(request: Request) -> Response:
    next_url = request.query_params.get("next", "")
    if request.method == "GET":
        return render(request, "login.html", {"next": next_url, "error": None})
    form = await request.form()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    next_url = str(form.get("next", ""))
    if not await csrf_ok(request):
        return render(
            request,
            "login.html",
            {"next": next_url, "error": "The form expired. Please try again."},
            status_code=403,
        )
    throttle: LoginThrottle = request.app.state.login_throttle
    ip = client_ip(request)
    wait = await throttle.retry_after(username, ip)
    if wait:
        response = render(
            request,
            "login.html",
            {"next": next_url, "error": "Too many failed attempts. Try again in a few minutes."},
            status_code=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response

    def check(session: Session) -> User | None:
        user = user_store.authenticate(session, username, password)
        if user is not None:
            session.expunge(user)
        return user

    user = await run_db(request, check)
    if user is None:
        await throttle.failed(username, ip)
        return render(
            request,
            "login.html",
            {"next": next_url, "error": "Wrong username or password."},
            status_code=400,
        )
    await throttle.succeeded(username, ip)
    start_session(request, user)
    return RedirectResponse(safe_next(next_url, home_for(user)), status_code=303)


@page()
async def logout(request: Request) -> Response:
    # Server-side: the cookie (and any copy of it) stops working, not just this browser's.
    me = principal_of(request).user
    await run_db(request, lambda s: user_ops.end_sessions(s, me, me.id, action="user.logout"))
    end_session(request)
    return RedirectResponse("/login", status_code=303)


@page()
async def change_password(request: Request) -> Response:
    me = principal_of(request).user
    form = await request.form()
    current = str(form.get("current_password", ""))
    new = str(form.get("new_password", ""))
    try:
        user = await run_db(request, lambda s: user_ops.change_password(s, me, current, new))
    except OperationError as error:
        user = await run_db(request, lambda s: user_ops.get(s, me.id))
        context = {"me": user, "new_token": None, "password_error": error.message}
        return render(request, "account.html", context, status_code=error.status_code)
    # Every other session ended with the change; this browser carries on in a new one.
    start_session(request, user)
    flash(request, "Password changed. Your other sessions were signed out.")
    return RedirectResponse("/account", status_code=303)


@page()
async def account_page(request: Request) -> Response:
    me = principal_of(request).user
    user = await run_db(request, lambda s: user_ops.get(s, me.id))
    return render(request, "account.html", {"me": user, "new_token": None})


@page()
async def create_token(request: Request) -> Response:
    me = principal_of(request).user
    token = await run_db(request, lambda s: user_ops.issue_token(s, me, me.id))
    user = await run_db(request, lambda s: user_ops.get(s, me.id))
    # Shown once, in this response only; the store keeps a hash.
    return render(request, "account.html", {"me": user, "new_token": token})


@page()
async def revoke_token(request: Request) -> Response:
    me = principal_of(request).user
    await run_db(request, lambda s: user_ops.revoke_token(s, me, me.id))
    flash(request, "Your API token was revoked.")
    return RedirectResponse("/account", status_code=303)


def account_routes() -> list[BaseRoute]:
    return [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/account/password", change_password, methods=["POST"]),
        Route("/account", account_page),
        Route("/account/token", create_token, methods=["POST"]),
        Route("/account/token/revoke", revoke_token, methods=["POST"]),
    ]
