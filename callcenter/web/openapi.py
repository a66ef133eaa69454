"""The OpenAPI 3.1 document for /api/v1, written by hand so it says what the code does.

A test compares its operations with the app's routing table, so a route added without
documentation (or documented but gone) fails the build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from callcenter import __version__
from callcenter.web.auth import public

OBJ: dict[str, Any] = {"type": "object"}
ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
HTTP_CONFIG = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "format": "uri"},
        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
        "timeout_s": {"type": "number", "minimum": 0.1, "maximum": 30},
        "headers": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "value": {
                        "type": "string",
                        "description": "For a secret header: write-only; empty keeps the "
                        "stored value. Responses never include secret values.",
                    },
                    "secret": {"type": "boolean"},
                },
                "required": ["name"],
            },
        },
    },
}
TOOL_INPUT = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,63}$"},
        "description": {"type": "string"},
        "enabled": {"type": "boolean", "default": True},
        "parameters": {"type": "object", "description": "JSON Schema of the arguments"},
        "requires_verification": {"type": "boolean", "default": False},
        "http": HTTP_CONFIG,
    },
}

TARGET_WORDS = "published (default), prompt:<name>:<version> or tool:<name>:<version>"
TARGET_INPUT = {"type": "object", "properties": {"target": {"type": "string",
                "description": TARGET_WORDS}}}  # fmt: skip
PUBLISH_INPUT = {"type": "object", "properties": {"override_reason": {
    "type": "string", "maxLength": 500,
    "description": "Publish a draft whose required suites have not passed; audited"}}}  # fmt: skip
SCENARIO_INPUT: dict[str, Any] = {
    "type": "object",
    "required": ["name", "steps"],
    "properties": {
        "name": {"type": "string"},
        "steps": {"type": "array", "items": {"type": "object", "required": ["kind", "text"],
                  "properties": {"kind": {"enum": ["say", "press"]}, "text": {"type": "string"}}}},
        "expected": {"type": "object", "description": "account, verified, unverified, "
                     "card_status, address, payment, callback, handoff, tools, said"},
    },
}  # fmt: skip


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    admin: bool = False
    body: dict[str, Any] | None = None
    query: tuple[tuple[str, str], ...] = ()
    ok: int = 200
    errors: tuple[int, ...] = field(default=())


OPERATIONS: tuple[Op, ...] = (
    Op("get", "/api/v1/handoffs", "List open and recently resolved handoffs",
       query=(("status", "pending | accepted | resolved"),), errors=(422,)),
    Op("get", "/api/v1/handoffs/{handoff_id}", "A handoff with summary, transcript, tool calls",
       errors=(404,)),
    Op("post", "/api/v1/handoffs/{handoff_id}/accept", "Accept a pending handoff",
       errors=(404, 409)),
    Op("post", "/api/v1/handoffs/{handoff_id}/resolve", "Resolve an accepted handoff",
       body={"type": "object", "properties": {"note": {"type": "string"}}}, errors=(404, 409)),
    Op("get", "/api/v1/calls", "Search every call, newest first", errors=(422,),
       query=(("q", "text in the caller's or called number or in the transcript"),
              ("outcome", "resolved | transferred | abandoned | failed | interrupted | live | "
               "ended"), ("verified", "yes | no"), ("direction", "inbound | outbound | browser"),
              ("since", "YYYY-MM-DD (UTC)"), ("until", "YYYY-MM-DD (UTC, inclusive)"),
              ("limit", "1-500"), ("offset", "rows to skip"))),
    Op("get", "/api/v1/calls/{call_id}",
       "A call: timed transcript, tool calls, events, summary, handoffs", errors=(404,)),
    Op("post", "/api/v1/test-calls", "Start a test call from the browser: a call stored "
       "with direction browser and a single-use stream token for WS /console/media (Twilio "
       "Media Streams protocol); optional prompt drafts to try", ok=201, errors=(422, 503),
       body={"type": "object", "properties": {"prompt_version_ids": {
           "type": "array", "items": {"type": "integer"}, "maxItems": 10}}}),
    Op("get", "/api/v1/dashboard", "Aggregates for a period: live calls, calls per hour, "
       "outcomes, containment, handoff reasons, task success, latency, barge-in, sentiment",
       admin=True, errors=(422,), query=(("period", "24h | 7d (default) | 30d"),)),
    Op("get", "/api/v1/me", "The authenticated user"),
    Op("post", "/api/v1/me/token", "Create (or replace) your API token; shown once", ok=201),
    Op("delete", "/api/v1/me/token", "Revoke your API token"),
    Op("post", "/api/v1/me/password", "Change your password (ends your other sessions)",
       errors=(422,), body={"type": "object", "required": ["current_password", "new_password"],
       "properties": {"current_password": {"type": "string"},
                      "new_password": {"type": "string", "minLength": 10}}}),
    Op("get", "/api/v1/users", "List users", admin=True),
    Op("post", "/api/v1/users", "Create a user", admin=True, ok=201, errors=(422,),
       body={"type": "object", "required": ["username", "password"], "properties": {
           "username": {"type": "string"}, "password": {"type": "string", "minLength": 10},
           "role": {"enum": ["admin", "agent"]}}}),
    Op("post", "/api/v1/users/{user_id}/activate", "Reactivate a user", admin=True,
       errors=(404,)),
    Op("post", "/api/v1/users/{user_id}/deactivate", "Deactivate a user (revokes the token)",
       admin=True, errors=(404, 422)),
    Op("post", "/api/v1/users/{user_id}/token", "Create a user's API token; shown once",
       admin=True, ok=201, errors=(404, 422)),
    Op("delete", "/api/v1/users/{user_id}/token", "Revoke a user's API token", admin=True,
       errors=(404,)),
    Op("post", "/api/v1/users/{user_id}/revoke-access",
       "End every session of a user and revoke their API token", admin=True, errors=(404,)),
    Op("get", "/api/v1/audit", "Search the audit log, newest first", admin=True, errors=(422,),
       query=(("action", "exact action, or a prefix ending in '.' (e.g. prompt.)"),
              ("actor", "username"), ("target_type", "prompt | tool | user | handoff"),
              ("target_id", "id or name"), ("since", "YYYY-MM-DD (UTC)"),
              ("until", "YYYY-MM-DD (UTC, inclusive)"), ("limit", "1-1000"),
              ("offset", "rows to skip"))),
    Op("get", "/api/v1/prompts", "Prompts with their published and latest versions", admin=True),
    Op("post", "/api/v1/prompts", "Create a knowledge-base article (kb_<name>) as a draft",
       admin=True, ok=201, errors=(409, 422),
       body={"type": "object", "required": ["name", "body"], "properties": {
           "name": {"type": "string", "pattern": "^(kb_)?[a-z][a-z0-9_]{1,39}$"},
           "body": {"type": "string"}}}),
    Op("get", "/api/v1/prompts/{name}/versions", "Every version of a prompt", admin=True,
       errors=(404,)),
    Op("post", "/api/v1/prompts/{name}/drafts", "Save a new draft version", admin=True, ok=201,
       body={"type": "object", "required": ["body"], "properties": {"body": {"type": "string"}}},
       errors=(404, 422)),
    Op("post", "/api/v1/prompts/{name}/versions/{version}/publish",
       "Publish a version for new calls (an older one = rollback). A draft needs every "
       "required scenario suite passed against it, or an override reason (audited)",
       admin=True, errors=(404, 409, 422), body=PUBLISH_INPUT),
    Op("get", "/api/v1/prompts/{name}/diff", "Unified diff of two versions", admin=True,
       query=(("from", "version number"), ("to", "version number")), errors=(404, 422)),
    Op("post", "/api/v1/prompts/{name}/preview", "Render a body or version with sample variables",
       admin=True, errors=(404, 422),
       body={"type": "object", "properties": {"body": {"type": "string"},
             "version": {"type": "integer"}, "variables": OBJ}}),
    Op("get", "/api/v1/tools", "Built-in and HTTP tools with their live versions", admin=True),
    Op("post", "/api/v1/tools", "Create an HTTP tool (version 1, draft)", admin=True, ok=201,
       body=TOOL_INPUT, errors=(422,)),
    Op("get", "/api/v1/tools/{name}/versions", "Every version of a tool", admin=True,
       errors=(404,)),
    Op("post", "/api/v1/tools/{name}/versions", "Save a new draft version of a tool", admin=True,
       ok=201, body=TOOL_INPUT, errors=(404, 422)),
    Op("post", "/api/v1/tools/{name}/versions/{version}/publish",
       "Publish a tool version for new calls (a draft: as for prompts, the suites or an "
       "override reason)", admin=True, errors=(404, 409, 422), body=PUBLISH_INPUT),
    Op("post", "/api/v1/tools/{name}/archive",
       "Archive an HTTP tool: new calls no longer get it (publish a version to restore)",
       admin=True, errors=(404, 409, 422)),
    Op("post", "/api/v1/tools/{name}/versions/{version}/test",
       "Run an HTTP tool version with sample arguments", admin=True, errors=(404, 422),
       body={"type": "object", "properties": {"arguments": OBJ}}),
    Op("get", "/api/v1/suites", "Scenario suites with their scenarios", admin=True),
    Op("post", "/api/v1/suites", "Create a scenario suite", admin=True, ok=201,
       errors=(409, 422), body={"type": "object", "required": ["name"], "properties": {
           "name": {"type": "string"}, "description": {"type": "string"},
           "required": {"type": "boolean", "default": True}}}),
    Op("get", "/api/v1/suites/{suite_id}", "A suite, its scenarios and recent runs",
       admin=True, errors=(404,)),
    Op("post", "/api/v1/suites/{suite_id}/scenarios", "Add a scenario to a suite", admin=True,
       ok=201, errors=(404, 409, 422), body=SCENARIO_INPUT),
    Op("post", "/api/v1/suites/{suite_id}/runs",
       "Run a suite now, in text, against the published set or one draft; stored", admin=True,
       ok=201, errors=(404, 422), body=TARGET_INPUT),
    Op("get", "/api/v1/suites/runs/{run_id}", "A suite run with every transcript", admin=True,
       errors=(422,)),
    Op("get", "/api/v1/publish-gate", "Each required suite's latest result against a target",
       admin=True, errors=(422,), query=(("target", TARGET_WORDS),)),
    Op("post", "/api/v1/chat", "Text-chat tester: replay the caller's steps against a target "
       "and return the transcript with each turn's decision (nothing is stored)", admin=True,
       errors=(404, 422), body={"type": "object", "properties": {
           "target": {"type": "string", "description": TARGET_WORDS},
           "steps": SCENARIO_INPUT["properties"]["steps"]}}),
)  # fmt: skip

STATUS_TEXT = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden (role, or CSRF token with a session cookie)",
    404: "Not found",
    409: "Conflict with the current state",
    422: "Invalid input",
    503: "No agent answers calls in this process (or it is draining)",
}


def _operation(op: Op) -> dict[str, Any]:
    params: list[dict[str, Any]] = []
    for part in op.path.split("/"):
        if part.startswith("{"):
            name = part.strip("{}")
            kind = "string" if name in ("name", "call_id") else "integer"
            params.append({"name": name, "in": "path", "required": True, "schema": {"type": kind}})
    for name, description in op.query:
        params.append(
            {"name": name, "in": "query", "description": description, "schema": {"type": "string"}}
        )
    responses: dict[str, Any] = {
        str(op.ok): {"description": "OK", "content": {"application/json": {"schema": OBJ}}}
    }
    for status in (401, 403, *op.errors) if op.admin or op.method != "get" else (401, *op.errors):
        responses[str(status)] = {
            "description": STATUS_TEXT[status],
            "content": {"application/json": {"schema": ERROR}},
        }
    operation: dict[str, Any] = {
        "summary": op.summary,
        "operationId": op.method
        + op.path.replace("/api/v1", "").replace("/", "_").replace("{", "").replace("}", ""),
        "tags": [op.path.split("/")[3]],
        "parameters": params,
        "responses": responses,
    }
    if op.admin:
        operation["description"] = "Requires the admin role."
    if op.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body}},
        }
    return operation


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "callcenter API",
            "version": __version__,
            "description": "Handoffs for human agents; prompts, tools, users and audit for "
            "admins. Send `Authorization: Bearer <token>` (create one at /account), or use "
            "the console session cookie with an `X-CSRF-Token` header on changes.",
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "callcenter_session"},
            }
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


@public
async def openapi_json(request: Request) -> Response:
    return JSONResponse(build_document())
