"""The JSON API under /api/v1: handoffs, the caller's own account, users, audit.

Prompts and tools live in api_config.py. Authenticate with ``Authorization: Bearer
<token>`` (tokens from /account or the users API) or the console's session cookie
plus ``X-CSRF-Token`` on changes. Errors are ``{"error": "..."}`` with 400/401/403/
404/409/422. The OpenAPI document (callcenter.web.openapi) describes every route here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.store import audit
from callcenter.store import handoffs as handoff_store
from callcenter.store import users as user_store
from callcenter.store.models import HandoffStatus, Role
from callcenter.web import handoff_ops, user_ops
from callcenter.web.admin_users import PAGE_SIZE, parse_audit_filter
from callcenter.web.api_config import config_routes
from callcenter.web.api_json import endpoint, json_body, string_field
from callcenter.web.auth import Endpoint, principal_of, run_db, start_session
from callcenter.web.errors import Invalid

# Paths whose every route needs the admin role (the authorisation tests enumerate them).
ADMIN_API_PREFIXES = (
    "/api/v1/prompts",
    "/api/v1/tools",
    "/api/v1/users",
    "/api/v1/audit",
    "/api/v1/dashboard",
    "/api/v1/suites",
    "/api/v1/publish-gate",
    "/api/v1/chat",
)


# --- handoffs ------------------------------------------------------------------------------


@endpoint()
async def list_handoffs(request: Request) -> Response:
    """Pending and accepted handoffs and those resolved in the last 12 hours."""
    status = request.query_params.get("status") or None
    if status is not None and status not in HandoffStatus.__members__:
        raise Invalid("status: pending, accepted or resolved")
    rows = await run_db(request, lambda s: handoff_store.queue(s, status=status))
    return JSONResponse({"handoffs": [row.as_dict() for row in rows]})


@endpoint()
async def get_handoff(request: Request) -> Response:
    handoff_id = int(request.path_params["handoff_id"])
    target: str = request.app.state.runtime.settings.handoff_language
    data = await run_db(request, lambda s: handoff_ops.detail_view(s, handoff_id, target))
    return JSONResponse(data)


@endpoint()
async def accept_handoff(request: Request) -> Response:
    handoff_id = int(request.path_params["handoff_id"])
    actor = principal_of(request).user

    def work(session: Session) -> dict[str, Any]:
        handoff_ops.accept(session, actor, handoff_id)
        return handoff_ops.detail_dict(handoff_ops.detail(session, handoff_id))

    return JSONResponse(await run_db(request, work))


@endpoint()
async def resolve_handoff(request: Request) -> Response:
    handoff_id = int(request.path_params["handoff_id"])
    actor = principal_of(request).user
    body = await json_body(request)
    note = string_field(body, "note", default="")

    def work(session: Session) -> dict[str, Any]:
        handoff_ops.resolve(session, actor, handoff_id, note)
        return handoff_ops.detail_dict(handoff_ops.detail(session, handoff_id))

    return JSONResponse(await run_db(request, work))


# --- the caller's own account --------------------------------------------------------------


@endpoint()
async def me(request: Request) -> Response:
    uid = principal_of(request).user.id
    return JSONResponse(await run_db(request, lambda s: user_ops.user_dict(user_ops.get(s, uid))))


@endpoint()
async def create_my_token(request: Request) -> Response:
    actor = principal_of(request).user
    token = await run_db(request, lambda s: user_ops.issue_token(s, actor, actor.id))
    return JSONResponse({"token": token}, status_code=201)


@endpoint()
async def revoke_my_token(request: Request) -> Response:
    actor = principal_of(request).user
    had = await run_db(request, lambda s: user_ops.revoke_token(s, actor, actor.id))
    return JSONResponse({"revoked": had})


@endpoint()
async def change_my_password(request: Request) -> Response:
    """Ends every console session of the user; a cookie caller carries on in a new one."""
    principal = principal_of(request)
    body = await json_body(request)
    current = string_field(body, "current_password")
    new = string_field(body, "new_password")
    actor = principal.user
    user = await run_db(request, lambda s: user_ops.change_password(s, actor, current, new))
    if principal.via == "session":
        start_session(request, user)
    return JSONResponse({"changed": True, "sessions_ended": True})


# --- users (admin) -------------------------------------------------------------------------


@endpoint(Role.admin)
async def list_users(request: Request) -> Response:
    users = await run_db(request, user_store.list_users)
    return JSONResponse({"users": [user_ops.user_dict(u) for u in users]})


@endpoint(Role.admin)
async def create_user(request: Request) -> Response:
    body = await json_body(request)
    actor = principal_of(request).user
    username = string_field(body, "username")
    password = string_field(body, "password")
    role = string_field(body, "role", default="agent")
    user = await run_db(request, lambda s: user_ops.create(s, actor, username, password, role))
    return JSONResponse(user_ops.user_dict(user), status_code=201)


def _set_active(active: bool) -> Endpoint:
    async def set_active(request: Request) -> Response:
        user_id = int(request.path_params["user_id"])
        actor = principal_of(request).user
        user = await run_db(request, lambda s: user_ops.set_active(s, actor, user_id, active))
        return JSONResponse(user_ops.user_dict(user))

    set_active.__name__ = "activate_user" if active else "deactivate_user"
    wrapped: Endpoint = endpoint(Role.admin)(set_active)
    return wrapped


@endpoint(Role.admin)
async def create_user_token(request: Request) -> Response:
    user_id = int(request.path_params["user_id"])
    actor = principal_of(request).user
    token = await run_db(request, lambda s: user_ops.issue_token(s, actor, user_id))
    return JSONResponse({"token": token}, status_code=201)


@endpoint(Role.admin)
async def revoke_user_token(request: Request) -> Response:
    user_id = int(request.path_params["user_id"])
    actor = principal_of(request).user
    had = await run_db(request, lambda s: user_ops.revoke_token(s, actor, user_id))
    return JSONResponse({"revoked": had})


@endpoint(Role.admin)
async def revoke_user_access(request: Request) -> Response:
    user_id = int(request.path_params["user_id"])
    actor = principal_of(request).user
    user = await run_db(request, lambda s: user_ops.revoke_access(s, actor, user_id))
    return JSONResponse(user_ops.user_dict(user))


# --- audit (admin) -------------------------------------------------------------------------


@endpoint(Role.admin)
async def list_audit(request: Request) -> Response:
    params = request.query_params
    filters = parse_audit_filter(params)
    try:
        limit = min(max(int(params.get("limit", str(PAGE_SIZE))), 1), 1000)
        offset = max(int(params.get("offset", "0")), 0)
    except ValueError:
        raise Invalid("limit/offset: whole numbers") from None

    def load(session: Session) -> dict[str, Any]:
        rows, total = audit.search(session, filters, limit=limit, offset=offset)
        return {
            "total": total,
            "entries": [
                {
                    "id": row.id,
                    "created_at": row.created_at.isoformat(),
                    "actor": row.actor,
                    "actor_user_id": row.actor_user_id,
                    "action": row.action,
                    "target_type": row.target_type,
                    "target_id": row.target_id,
                    "details": row.details,
                }
                for row in rows
            ],
        }

    return JSONResponse(await run_db(request, load))


def api_routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/handoffs", list_handoffs),
        Route("/api/v1/handoffs/{handoff_id:int}", get_handoff),
        Route("/api/v1/handoffs/{handoff_id:int}/accept", accept_handoff, methods=["POST"]),
        Route("/api/v1/handoffs/{handoff_id:int}/resolve", resolve_handoff, methods=["POST"]),
        Route("/api/v1/me", me),
        Route("/api/v1/me/token", create_my_token, methods=["POST"]),
        Route("/api/v1/me/token", revoke_my_token, methods=["DELETE"]),
        Route("/api/v1/me/password", change_my_password, methods=["POST"]),
        Route("/api/v1/users", list_users),
        Route("/api/v1/users", create_user, methods=["POST"]),
        Route("/api/v1/users/{user_id:int}/activate", _set_active(True), methods=["POST"]),
        Route("/api/v1/users/{user_id:int}/deactivate", _set_active(False), methods=["POST"]),
        Route("/api/v1/users/{user_id:int}/token", create_user_token, methods=["POST"]),
        Route("/api/v1/users/{user_id:int}/token", revoke_user_token, methods=["DELETE"]),
        Route("/api/v1/users/{user_id:int}/revoke-access", revoke_user_access, methods=["POST"]),
        Route("/api/v1/audit", list_audit),
        *config_routes(),
    ]
