"""Admin pages for users (create, deactivate, tokens) and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.store import audit
from callcenter.store import users as user_store
from callcenter.store.models import Role
from callcenter.web import user_ops
from callcenter.web.auth import Endpoint, flash, page, principal_of, run_db
from callcenter.web.errors import Invalid, OperationError
from callcenter.web.templating import render

admin_page = page(Role.admin)
PAGE_SIZE = 100


@admin_page
async def users_page(request: Request) -> Response:
    users = await run_db(request, user_store.list_users)
    return render(request, "users.html", {"users": users, "error": None, "new_token": None})


@admin_page
async def create_user(request: Request) -> Response:
    form = await request.form()
    actor = principal_of(request).user
    username = str(form.get("username", ""))
    password = str(form.get("password", ""))
    role = str(form.get("role", "agent"))
    try:
        user = await run_db(request, lambda s: user_ops.create(s, actor, username, password, role))
    except OperationError as error:
        users = await run_db(request, user_store.list_users)
        context = {"users": users, "error": error.message, "new_token": None}
        return render(request, "users.html", context, status_code=error.status_code)
    flash(request, f"Created {user.role.value} {user.username}.")
    return RedirectResponse("/admin/users", status_code=303)


def _user_action(active: bool) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        user_id = int(request.path_params["user_id"])
        actor = principal_of(request).user
        try:
            user = await run_db(request, lambda s: user_ops.set_active(s, actor, user_id, active))
            flash(request, f"{user.username} is now {'active' if active else 'deactivated'}.")
        except OperationError as error:
            flash(request, error.message, "error")
        return RedirectResponse("/admin/users", status_code=303)

    endpoint.__name__ = "activate_user" if active else "deactivate_user"
    return admin_page(endpoint)


@admin_page
async def issue_user_token(request: Request) -> Response:
    user_id = int(request.path_params["user_id"])
    actor = principal_of(request).user
    try:
        token = await run_db(request, lambda s: user_ops.issue_token(s, actor, user_id))
    except OperationError as error:
        flash(request, error.message, "error")
        return RedirectResponse("/admin/users", status_code=303)
    users = await run_db(request, user_store.list_users)
    # The token is in this response only (for a service account, say); never again.
    context = {"users": users, "error": None, "new_token": {"user_id": user_id, "token": token}}
    return render(request, "users.html", context)


@admin_page
async def revoke_user_token(request: Request) -> Response:
    user_id = int(request.path_params["user_id"])
    actor = principal_of(request).user
    try:
        await run_db(request, lambda s: user_ops.revoke_token(s, actor, user_id))
        flash(request, "API token revoked.")
    except OperationError as error:
        flash(request, error.message, "error")
    return RedirectResponse("/admin/users", status_code=303)


@admin_page
async def revoke_user_access(request: Request) -> Response:
    user_id = int(request.path_params["user_id"])
    actor = principal_of(request).user
    try:
        user = await run_db(request, lambda s: user_ops.revoke_access(s, actor, user_id))
        flash(request, f"{user.username}: every session ended and the API token revoked.")
    except OperationError as error:
        flash(request, error.message, "error")
    return RedirectResponse("/admin/users", status_code=303)


def parse_audit_filter(params: QueryParams) -> audit.AuditFilter:
    """Dates are YYYY-MM-DD (UTC); "until" includes that whole day."""

    def day(key: str) -> datetime | None:
        raw = params.get(key, "").strip()
        if not raw:
            return None
        try:
            return datetime.fromisoformat(raw).replace(tzinfo=UTC)
        except ValueError:
            raise Invalid(f"{key}: use YYYY-MM-DD") from None

    until = day("until")
    return audit.AuditFilter(
        action=params.get("action", "").strip(),
        actor=params.get("actor", "").strip(),
        target_type=params.get("target_type", "").strip(),
        target_id=params.get("target_id", "").strip(),
        since=day("since"),
        until=until + timedelta(days=1) if until is not None else None,
    )


@admin_page
async def audit_page(request: Request) -> Response:
    params = request.query_params
    try:
        filters = parse_audit_filter(params)
        offset = max(int(params.get("offset", "0") or 0), 0)
    except (Invalid, ValueError) as error:
        message = error.message if isinstance(error, Invalid) else "offset: a number"
        return render(request, "error.html", {"message": message}, status_code=422)

    def load(session: Session) -> dict[str, Any]:
        rows, total = audit.search(session, filters, limit=PAGE_SIZE, offset=offset)
        return {
            "rows": rows,
            "total": total,
            "actions": audit.known_actions(session),
            "target_types": audit.known_target_types(session),
        }

    context = await run_db(request, load)
    context |= {"params": params, "offset": offset, "page_size": PAGE_SIZE}
    return render(request, "audit.html", context)


def admin_user_routes() -> list[BaseRoute]:
    return [
        Route("/admin/users", users_page),
        Route("/admin/users", create_user, methods=["POST"]),
        Route("/admin/users/{user_id:int}/activate", _user_action(True), methods=["POST"]),
        Route("/admin/users/{user_id:int}/deactivate", _user_action(False), methods=["POST"]),
        Route("/admin/users/{user_id:int}/token", issue_user_token, methods=["POST"]),
        Route("/admin/users/{user_id:int}/token/revoke", revoke_user_token, methods=["POST"]),
        Route("/admin/users/{user_id:int}/revoke-access", revoke_user_access, methods=["POST"]),
        Route("/admin/audit", audit_page),
    ]
