"""Admin pages for tools: built-in overrides, HTTP tools, versions, publish, test run."""

from __future__ import annotations

import json
from typing import Any

import anyio
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.scenarios.target import Target
from callcenter.store import tools as tool_store
from callcenter.store.db import transaction
from callcenter.store.models import Role
from callcenter.tools.base import ToolResult
from callcenter.tools.builtin import BUILTIN_TOOLS
from callcenter.tools.http_tool import HeaderInput, HttpToolConfigError, public_http_config
from callcenter.web import prompt_ops, suite_ops, tool_ops
from callcenter.web.auth import flash, page, principal_of, run_db
from callcenter.web.errors import Invalid, OperationError
from callcenter.web.templating import render

admin_page = page(Role.admin)
EXTRA_HEADER_ROWS = 3
DEFAULT_PARAMETERS = {
    "type": "object",
    "properties": {"order_id": {"type": "string", "description": "The order number"}},
    "required": ["order_id"],
}


def tool_input(form: FormData) -> tool_ops.ToolInput:
    """The edit form as a ToolInput. Header rows are numbered fields (name, value,
    secret) so an unticked checkbox cannot shift the rows below it."""
    raw_parameters = str(form.get("parameters", "")).strip()
    try:
        parameters = json.loads(raw_parameters) if raw_parameters else {}
    except ValueError as error:
        raise Invalid(f"parameters: not JSON ({error})") from None
    try:
        timeout_s = float(str(form.get("timeout_s", "5") or "5"))
    except ValueError:
        raise Invalid("timeout_s: must be a number of seconds") from None
    headers = []
    for index in range(int(str(form.get("header_rows", "0") or 0))):
        name = str(form.get(f"header_name_{index}", "")).strip()
        if name:
            headers.append(
                HeaderInput(
                    name=name,
                    value=str(form.get(f"header_value_{index}", "")),
                    secret=form.get(f"header_secret_{index}") == "on",
                )
            )
    return tool_ops.ToolInput(
        description=str(form.get("description", "")),
        enabled=form.get("enabled") == "on",
        parameters=parameters,
        requires_verification=form.get("requires_verification") == "on",
        url=str(form.get("url", "")),
        method=str(form.get("method", "POST")),
        timeout_s=timeout_s,
        headers=headers,
    )


def _draft_from_form(form: FormData) -> dict[str, Any]:
    """What the form showed, to render it again after an error (secrets never echoed)."""
    headers = []
    for index in range(int(str(form.get("header_rows", "0") or 0))):
        name = str(form.get(f"header_name_{index}", "")).strip()
        secret = form.get(f"header_secret_{index}") == "on"
        if name:
            value = "" if secret else str(form.get(f"header_value_{index}", ""))
            headers.append({"name": name, "secret": secret, "value": value})
    return {
        "description": str(form.get("description", "")),
        "enabled": form.get("enabled") == "on",
        "parameters_json": str(form.get("parameters", "")),
        "requires_verification": form.get("requires_verification") == "on",
        "http": {
            "url": str(form.get("url", "")),
            "method": str(form.get("method", "POST")),
            "timeout_s": str(form.get("timeout_s", "5")),
            "headers": headers,
        },
    }


def _blank_http_tool() -> dict[str, Any]:
    return {
        "description": "",
        "enabled": True,
        "parameters_json": json.dumps(DEFAULT_PARAMETERS, indent=2),
        "requires_verification": False,
        "http": {"url": "", "method": "POST", "timeout_s": 5.0, "headers": []},
    }


async def _tool_context(request: Request, name: str) -> dict[str, Any]:
    def load(session: Session) -> dict[str, Any]:
        kind = tool_ops.kind_of(session, name)
        rows = tool_store.versions(session, name)
        users = prompt_ops.usernames(session)
        versions = [tool_ops.version_dict(row, users) for row in rows]
        current = versions[0] if versions else tool_ops.builtin_default(name)
        form = {
            "description": current["description"],
            "enabled": current["enabled"],
            "parameters_json": json.dumps(current["parameters"], indent=2),
            "requires_verification": current["requires_verification"],
            "http": current["http"] or public_http_config({}),
        }
        gates = {
            v["version"]: suite_ops.gates(session, Target("tool", name, v["version"]))
            for v in versions
            if v["status"] == "draft"
        }
        return {"name": name, "kind": kind, "versions": versions, "form": form, "gates": gates}

    context = await run_db(request, load)
    context |= {"new": False, "error": None, "test": None, "extra_rows": EXTRA_HEADER_ROWS}
    try:
        parameters = json.loads(context["form"]["parameters_json"])
    except ValueError:
        parameters = {}
    context["test_arguments"] = json.dumps(tool_ops.sample_arguments(parameters), indent=2)
    return context


@admin_page
async def tools_page(request: Request) -> Response:
    rows = await run_db(request, tool_ops.overview)
    return render(request, "tools.html", {"tools": rows, "builtins": set(BUILTIN_TOOLS)})


@admin_page
async def new_tool(request: Request) -> Response:
    context: dict[str, Any] = {
        "name": "",
        "kind": "http",
        "versions": [],
        "gates": {},
        "new": True,
        "error": None,
        "test": None,
        "extra_rows": EXTRA_HEADER_ROWS,
        "form": _blank_http_tool(),
    }
    if request.method == "GET":
        return render(request, "tool.html", context)
    form = await request.form()
    name = str(form.get("name", "")).strip()
    return await _save(request, form, name, new=True, context=context)


async def _save(
    request: Request, form: FormData, name: str, *, new: bool, context: dict[str, Any]
) -> Response:
    actor = principal_of(request).user
    settings = request.app.state.runtime.settings
    try:
        data = tool_input(form)
        row = await run_db(
            request, lambda s: tool_ops.save(s, settings, actor, name, data, new=new)
        )
    except OperationError as error:
        context |= {"error": error.message, "form": _draft_from_form(form), "name": name}
        return render(request, "tool.html", context, status_code=error.status_code)
    flash(request, f"Saved {name} version {row.version} as a draft. Publish it to go live.")
    return RedirectResponse(f"/admin/tools/{name}", status_code=303)


@admin_page
async def tool_page(request: Request) -> Response:
    name = request.path_params["name"]
    try:
        context = await _tool_context(request, name)
    except OperationError as error:
        return render(request, "error.html", {"message": error.message}, status_code=404)
    return render(request, "tool.html", context)


@admin_page
async def tool_save(request: Request) -> Response:
    name = request.path_params["name"]
    try:
        context = await _tool_context(request, name)
    except OperationError as error:
        return render(request, "error.html", {"message": error.message}, status_code=404)
    return await _save(request, await request.form(), name, new=False, context=context)


@admin_page
async def tool_publish(request: Request) -> Response:
    name = request.path_params["name"]
    version = int(request.path_params["version"])
    actor = principal_of(request).user
    reason = str((await request.form()).get("override_reason", "")).strip() or None
    try:
        _, action = await run_db(
            request, lambda s: tool_ops.publish(s, actor, name, version, override_reason=reason)
        )
        verb = "Rolled back to" if action == "tool.rollback" else "Published"
        flash(request, f"{verb} {name} version {version}. New calls use it.")
    except OperationError as error:
        flash(request, error.message, "error")
    return RedirectResponse(f"/admin/tools/{name}", status_code=303)


@admin_page
async def tool_archive(request: Request) -> Response:
    name = request.path_params["name"]
    actor = principal_of(request).user
    try:
        await run_db(request, lambda s: tool_ops.archive(s, actor, name))
        flash(
            request, f"Archived {name}: new calls no longer get it. Publish a version to restore."
        )
    except OperationError as error:
        flash(request, error.message, "error")
    return RedirectResponse(f"/admin/tools/{name}", status_code=303)


async def run_test(request: Request, name: str, version: int, arguments: Any) -> ToolResult:
    """Shared with the API: build the spec, run it in a worker thread, audit the run."""
    if not isinstance(arguments, dict):
        raise Invalid("arguments: must be a JSON object")
    runtime = request.app.state.runtime
    actor = principal_of(request).user

    def work() -> ToolResult:
        # Rolled back: a test run must leave nothing behind but its audit entry.
        with runtime.session_factory() as session:
            spec = tool_ops.spec_for_test(session, name, version)
            try:
                return tool_ops.test_run(session, runtime.settings, spec, arguments)
            except HttpToolConfigError as error:
                raise Invalid(str(error)) from None
            finally:
                session.rollback()

    result = await anyio.to_thread.run_sync(work)
    with_status = result.status.value

    def record() -> None:
        with transaction(runtime.session_factory) as session:
            tool_ops.record_test(session, actor, name, version, with_status)

    await anyio.to_thread.run_sync(record)
    return result


@admin_page
async def tool_test(request: Request) -> Response:
    name = request.path_params["name"]
    version = int(request.path_params["version"])
    raw = str((await request.form()).get("arguments", "{}"))
    try:
        context = await _tool_context(request, name)
    except OperationError as error:
        return render(request, "error.html", {"message": error.message}, status_code=404)
    context["test_arguments"] = raw
    try:
        arguments = json.loads(raw or "{}")
        result = await run_test(request, name, version, arguments)
        context["test"] = {"version": version, "status": result.status.value, "data": result.data}
    except ValueError as error:  # not JSON
        context["test"] = {"version": version, "status": "invalid", "error": f"arguments: {error}"}
    except OperationError as error:
        context["test"] = {"version": version, "status": "invalid", "error": error.message}
    return render(request, "tool.html", context)


def admin_tool_routes() -> list[BaseRoute]:
    return [
        Route("/admin/tools", tools_page),
        Route("/admin/tools/new", new_tool, methods=["GET", "POST"]),
        Route("/admin/tools/{name}", tool_page),
        Route("/admin/tools/{name}/save", tool_save, methods=["POST"]),
        Route("/admin/tools/{name}/versions/{version:int}/publish", tool_publish, methods=["POST"]),
        Route("/admin/tools/{name}/versions/{version:int}/test", tool_test, methods=["POST"]),
        Route("/admin/tools/{name}/archive", tool_archive, methods=["POST"]),
    ]
