"""The admin console: the overview and versioned prompts (tools, users and audit live in
admin_tools.py and admin_users.py). Every route needs the admin role."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.scenarios.target import Target
from callcenter.store.models import Role, VersionStatus
from callcenter.web import prompt_ops, suite_ops
from callcenter.web.auth import flash, page, principal_of, run_db
from callcenter.web.errors import OperationError
from callcenter.web.templating import render

admin_page = page(Role.admin)


@admin_page
async def admin_index(request: Request) -> Response:
    return render(request, "admin_index.html")


@admin_page
async def prompts_page(request: Request) -> Response:
    rows = await run_db(request, prompt_ops.overview)
    return render(request, "prompts.html", {"prompts": rows})


async def _prompt_context(
    request: Request, name: str, *, body: str | None = None, variables: str | None = None
) -> dict[str, Any]:
    def load(session: Session) -> dict[str, Any]:
        rows = prompt_ops.versions(session, name)
        return {
            "name": name,
            "versions": rows,
            "usernames": prompt_ops.usernames(session),
            "samples": prompt_ops.sample_variables(session),
            "gates": {
                v.version: suite_ops.gates(session, Target("prompt", name, v.version))
                for v in rows
                if v.status == VersionStatus.draft
            },
            # A translation ("flow_lines.es") is edited beside its default-language text.
            "original": prompt_ops.original_of(session, name),
        }

    context = await run_db(request, load)
    rows = context["versions"]
    context["body"] = body if body is not None else (rows[0].body if rows else "")
    context["variables_json"] = (
        variables if variables is not None else json.dumps(context["samples"], indent=2)
    )
    context["preview"] = None
    context["missing"] = []
    context["error"] = None
    return context


@admin_page
async def prompt_page(request: Request) -> Response:
    name = request.path_params["name"]
    try:
        context = await _prompt_context(request, name)
        if "from" in request.query_params:  # edit starting from an older version
            version = int(request.query_params["from"])
            row = await run_db(request, lambda s: prompt_ops.get_version(s, name, version))
            context["body"] = row.body
    except (OperationError, ValueError) as error:
        return render(request, "error.html", {"message": str(error)}, status_code=404)
    return render(request, "prompt.html", context)


@admin_page
async def prompt_edit(request: Request) -> Response:
    """The editor's form: "Preview" renders it; "Save draft" stores a new version."""
    name = request.path_params["name"]
    form = await request.form()
    body = str(form.get("body", ""))
    variables = str(form.get("variables", ""))
    actor = principal_of(request).user
    try:
        context = await _prompt_context(request, name, body=body, variables=variables)
    except OperationError as error:
        return render(request, "error.html", {"message": error.message}, status_code=404)
    if form.get("action") == "save":
        try:
            draft = await run_db(request, lambda s: prompt_ops.save_draft(s, actor, name, body))
        except OperationError as error:
            context["error"] = error.message
            return render(request, "prompt.html", context, status_code=error.status_code)
        flash(request, f"Saved {name} version {draft.version} as a draft.")
        return RedirectResponse(f"/admin/prompts/{name}", status_code=303)
    try:
        # The samples fill whatever the admin's JSON leaves out, as in the API.
        values = context["samples"] | prompt_ops.parse_variables(variables)
        context["preview"], context["missing"] = prompt_ops.preview(name, body, values)
    except OperationError as error:
        context["error"] = error.message
        return render(request, "prompt.html", context, status_code=error.status_code)
    return render(request, "prompt.html", context)


@admin_page
async def article_create(request: Request) -> Response:
    """The prompts page's "new knowledge-base article" form: saves version 1 as a draft."""
    form = await request.form()
    slug, body = str(form.get("name", "")), str(form.get("body", ""))
    actor = principal_of(request).user
    try:
        draft = await run_db(request, lambda s: prompt_ops.create_article(s, actor, slug, body))
    except OperationError as error:
        rows = await run_db(request, prompt_ops.overview)
        context = {"prompts": rows, "error": error.message, "new_name": slug, "new_body": body}
        return render(request, "prompts.html", context, status_code=error.status_code)
    flash(request, f"Saved {draft.name} version 1 as a draft. Publish it to use it in calls.")
    return RedirectResponse(f"/admin/prompts/{draft.name}", status_code=303)


@admin_page
async def prompt_publish(request: Request) -> Response:
    name = request.path_params["name"]
    version = int(request.path_params["version"])
    actor = principal_of(request).user
    reason = str((await request.form()).get("override_reason", "")).strip() or None
    try:
        _, action = await run_db(
            request,
            lambda s: prompt_ops.publish(s, actor, name, version, override_reason=reason),
        )
        verb = "Rolled back to" if action == "prompt.rollback" else "Published"
        flash(request, f"{verb} {name} version {version}. New calls use it.")
    except OperationError as error:
        flash(request, error.message, "error")
    return RedirectResponse(f"/admin/prompts/{name}", status_code=303)


@admin_page
async def prompt_diff(request: Request) -> Response:
    name = request.path_params["name"]
    try:
        old = int(request.query_params.get("from", "0"))
        new = int(request.query_params.get("to", "0"))
        lines = await run_db(request, lambda s: prompt_ops.diff(s, name, old, new))
    except (OperationError, ValueError) as error:
        return render(request, "error.html", {"message": str(error)}, status_code=404)
    return render(
        request, "prompt_diff.html", {"name": name, "old": old, "new": new, "lines": lines}
    )


def admin_routes() -> list[BaseRoute]:
    from callcenter.web.admin_tools import admin_tool_routes
    from callcenter.web.admin_users import admin_user_routes
    from callcenter.web.chat_tester import chat_routes
    from callcenter.web.demo_data import demo_routes
    from callcenter.web.suites import suite_routes

    return [
        Route("/admin", admin_index),
        Route("/admin/prompts", prompts_page),
        Route("/admin/knowledge", article_create, methods=["POST"]),
        Route("/admin/prompts/{name}", prompt_page),
        Route("/admin/prompts/{name}/edit", prompt_edit, methods=["POST"]),
        Route("/admin/prompts/{name}/diff", prompt_diff),
        Route(
            "/admin/prompts/{name}/versions/{version:int}/publish",
            prompt_publish,
            methods=["POST"],
        ),
        *admin_tool_routes(),
        *admin_user_routes(),
        *demo_routes(),
        *suite_routes(),
        *chat_routes(),
    ]
