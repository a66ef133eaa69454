"""The JSON API for prompts and tools (admin role): versions, drafts, publish, diff, test."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.scenarios.target import Target
from callcenter.store import tools as tool_store
from callcenter.store.models import Role
from callcenter.tools.http_tool import HeaderInput
from callcenter.web import prompt_ops, tool_ops
from callcenter.web.admin_tools import run_test
from callcenter.web.api_json import (
    endpoint,
    json_body,
    optional_json_body,
    optional_string,
    string_field,
)
from callcenter.web.auth import principal_of, run_db
from callcenter.web.errors import Invalid
from callcenter.web.suite_ops import gates

admin_endpoint = endpoint(Role.admin)


# --- prompts -------------------------------------------------------------------------------


@admin_endpoint
async def list_prompts(request: Request) -> Response:
    rows = await run_db(request, prompt_ops.overview)
    return JSONResponse(
        {
            "prompts": [
                {
                    "name": row.name,
                    "published_version": row.published.version if row.published else None,
                    "latest_version": row.latest.version if row.latest else None,
                    "drafts": row.drafts,
                }
                for row in rows
            ]
        }
    )


@admin_endpoint
async def prompt_versions(request: Request) -> Response:
    name = request.path_params["name"]

    def load(session: Session) -> dict[str, Any]:
        users = prompt_ops.usernames(session)
        rows = prompt_ops.versions(session, name)
        return {"name": name, "versions": [prompt_ops.version_dict(r, users) for r in rows]}

    return JSONResponse(await run_db(request, load))


@admin_endpoint
async def create_prompt_draft(request: Request) -> Response:
    name = request.path_params["name"]
    body = string_field(await json_body(request), "body")
    actor = principal_of(request).user

    def work(session: Session) -> dict[str, Any]:
        draft = prompt_ops.save_draft(session, actor, name, body)
        return prompt_ops.version_dict(draft, prompt_ops.usernames(session))

    return JSONResponse(await run_db(request, work), status_code=201)


@admin_endpoint
async def create_article(request: Request) -> Response:
    """A new prompt: only knowledge-base articles are created (``{"name": "parking",
    "body": "..."}`` makes version 1 of ``kb_parking``, a draft; publish it like any prompt)."""
    data = await json_body(request)
    slug, body = string_field(data, "name"), string_field(data, "body")
    actor = principal_of(request).user

    def work(session: Session) -> dict[str, Any]:
        draft = prompt_ops.create_article(session, actor, slug, body)
        return prompt_ops.version_dict(draft, prompt_ops.usernames(session))

    return JSONResponse(await run_db(request, work), status_code=201)


@admin_endpoint
async def publish_prompt(request: Request) -> Response:
    name = request.path_params["name"]
    version = int(request.path_params["version"])
    actor = principal_of(request).user
    reason = optional_string(await optional_json_body(request), "override_reason")

    def work(session: Session) -> dict[str, Any]:
        suites = [g.as_dict() for g in gates(session, Target("prompt", name, version))]
        row, action = prompt_ops.publish(session, actor, name, version, override_reason=reason)
        return prompt_ops.version_dict(row, prompt_ops.usernames(session)) | {
            "action": action,
            "suites": suites,
        }

    return JSONResponse(await run_db(request, work))


@admin_endpoint
async def diff_prompt(request: Request) -> Response:
    name = request.path_params["name"]
    try:
        old = int(request.query_params["from"])
        new = int(request.query_params["to"])
    except (KeyError, ValueError):
        raise Invalid("from and to: version numbers are required") from None
    lines = await run_db(request, lambda s: prompt_ops.diff(s, name, old, new))
    return JSONResponse({"name": name, "from": old, "to": new, "diff": "\n".join(lines)})


@admin_endpoint
async def preview_prompt(request: Request) -> Response:
    """Render a body (or a stored version) with the sample variables, overridable."""
    name = request.path_params["name"]
    body = await json_body(request)
    overrides = body.get("variables", {})
    if not isinstance(overrides, dict):
        raise Invalid("variables: must be an object")
    version = body.get("version")

    def load(session: Session) -> tuple[str, dict[str, str]]:
        if "body" in body:
            text = string_field(body, "body")
        elif isinstance(version, int):
            text = prompt_ops.get_version(session, name, version).body
        else:
            raise Invalid("give body (text) or version (number)")
        return text, prompt_ops.sample_variables(session)

    text, samples = await run_db(request, load)
    rendered, missing = prompt_ops.preview(name, text, samples | overrides)
    return JSONResponse({"name": name, "rendered": rendered, "missing": missing})


# --- tools ---------------------------------------------------------------------------------


def tool_input(body: dict[str, Any]) -> tool_ops.ToolInput:
    http = body.get("http") or {}
    if not isinstance(http, dict):
        raise Invalid("http: must be an object")
    headers = []
    for item in http.get("headers", []) or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise Invalid("http.headers: a list of {name, value, secret}")
        headers.append(
            HeaderInput(
                name=item["name"], value=str(item.get("value", "")), secret=bool(item.get("secret"))
            )
        )
    try:
        timeout_s = float(http.get("timeout_s", 5.0))
    except (TypeError, ValueError):
        raise Invalid("http.timeout_s: a number of seconds") from None
    return tool_ops.ToolInput(
        description=str(body.get("description", "")),
        enabled=bool(body.get("enabled", True)),
        parameters=body.get("parameters", {"type": "object", "properties": {}}),
        requires_verification=bool(body.get("requires_verification", False)),
        url=str(http.get("url", "")),
        method=str(http.get("method", "POST")),
        timeout_s=timeout_s,
        headers=headers,
    )


@admin_endpoint
async def list_tools(request: Request) -> Response:
    rows = await run_db(request, tool_ops.overview)
    return JSONResponse(
        {
            "tools": [
                {
                    "name": row.name,
                    "kind": row.kind,
                    "latest_version": row.latest_version,
                    "published_version": row.published_version,
                    "enabled": row.enabled,
                    "description": row.description,
                }
                for row in rows
            ]
        }
    )


@admin_endpoint
async def tool_versions(request: Request) -> Response:
    name = request.path_params["name"]

    def load(session: Session) -> dict[str, Any]:
        kind = tool_ops.kind_of(session, name)
        users = prompt_ops.usernames(session)
        rows = [tool_ops.version_dict(r, users) for r in tool_store.versions(session, name)]
        if not rows and kind == "builtin":
            rows = [tool_ops.builtin_default(name)]
        return {"name": name, "kind": kind, "versions": rows}

    return JSONResponse(await run_db(request, load))


async def _save(request: Request, name: str, body: dict[str, Any], *, new: bool) -> Response:
    data = tool_input(body)
    actor = principal_of(request).user
    settings = request.app.state.runtime.settings

    def work(session: Session) -> dict[str, Any]:
        row = tool_ops.save(session, settings, actor, name, data, new=new)
        return tool_ops.version_dict(row, prompt_ops.usernames(session))

    return JSONResponse(await run_db(request, work), status_code=201)


@admin_endpoint
async def create_tool(request: Request) -> Response:
    """A new HTTP tool (version 1, a draft)."""
    body = await json_body(request)
    return await _save(request, string_field(body, "name"), body, new=True)


@admin_endpoint
async def save_tool_version(request: Request) -> Response:
    return await _save(request, request.path_params["name"], await json_body(request), new=False)


@admin_endpoint
async def publish_tool(request: Request) -> Response:
    name = request.path_params["name"]
    version = int(request.path_params["version"])
    actor = principal_of(request).user
    reason = optional_string(await optional_json_body(request), "override_reason")

    def work(session: Session) -> dict[str, Any]:
        suites = [g.as_dict() for g in gates(session, Target("tool", name, version))]
        row, action = tool_ops.publish(session, actor, name, version, override_reason=reason)
        return tool_ops.version_dict(row, prompt_ops.usernames(session)) | {
            "action": action,
            "suites": suites,
        }

    return JSONResponse(await run_db(request, work))


@admin_endpoint
async def test_tool(request: Request) -> Response:
    name = request.path_params["name"]
    version = int(request.path_params["version"])
    body = await json_body(request)
    result = await run_test(request, name, version, body.get("arguments", {}))
    return JSONResponse({"status": result.status.value, "result": result.data})


@endpoint(Role.admin)
async def archive_tool(request: Request) -> Response:
    name = request.path_params["name"]
    actor = principal_of(request).user
    changed = await run_db(request, lambda s: tool_ops.archive(s, actor, name))
    return JSONResponse({"archived": name, "versions": changed})


def config_routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/prompts", list_prompts),
        Route("/api/v1/prompts", create_article, methods=["POST"]),
        Route("/api/v1/prompts/{name}/versions", prompt_versions),
        Route("/api/v1/prompts/{name}/drafts", create_prompt_draft, methods=["POST"]),
        Route(
            "/api/v1/prompts/{name}/versions/{version:int}/publish",
            publish_prompt,
            methods=["POST"],
        ),
        Route("/api/v1/prompts/{name}/diff", diff_prompt),
        Route("/api/v1/prompts/{name}/preview", preview_prompt, methods=["POST"]),
        Route("/api/v1/tools", list_tools),
        Route("/api/v1/tools", create_tool, methods=["POST"]),
        Route("/api/v1/tools/{name}/versions", tool_versions),
        Route("/api/v1/tools/{name}/versions", save_tool_version, methods=["POST"]),
        Route(
            "/api/v1/tools/{name}/versions/{version:int}/publish", publish_tool, methods=["POST"]
        ),
        Route("/api/v1/tools/{name}/versions/{version:int}/test", test_tool, methods=["POST"]),
        Route("/api/v1/tools/{name}/archive", archive_tool, methods=["POST"]),
    ]
