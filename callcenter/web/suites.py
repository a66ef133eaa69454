"""Scenario suites in the admin console and the API: edit, run against a draft, results."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.scenarios.runner import ScenarioRunner, SuiteResult
from callcenter.scenarios.spec import EXPECTATION_KEYS, ScenarioSpec
from callcenter.scenarios.target import Target
from callcenter.store import suites as suite_store
from callcenter.store.models import (
    PromptVersion,
    Role,
    ScenarioRun,
    ToolDefinition,
    VersionStatus,
)
from callcenter.web import suite_ops
from callcenter.web.api_json import endpoint, json_body, string_field
from callcenter.web.auth import flash, page, principal_of, run_db
from callcenter.web.errors import Invalid, OperationError
from callcenter.web.templating import render, templates

admin_page = page(Role.admin)
admin_endpoint = endpoint(Role.admin)
templates.env.filters["expectation_rows"] = suite_ops.expectation_rows


def scenario_runner(request: Request) -> ScenarioRunner:
    """The process's database and model (none when speech is not loaded)."""
    runtime = request.app.state.runtime
    chat = runtime.services.chat if runtime.services is not None else None
    return ScenarioRunner(runtime.engine, runtime.settings, chat)


def draft_targets(session: Session) -> list[Target]:
    """Every draft a suite can run against, newest first per name."""
    prompts = session.execute(
        select(PromptVersion.name, PromptVersion.version)
        .where(PromptVersion.status == VersionStatus.draft)
        .order_by(PromptVersion.name, PromptVersion.version.desc())
    ).tuples()
    tools = session.execute(
        select(ToolDefinition.name, ToolDefinition.version)
        .where(ToolDefinition.status == VersionStatus.draft)
        .order_by(ToolDefinition.name, ToolDefinition.version.desc())
    ).tuples()
    return [Target("prompt", n, v) for n, v in prompts] + [Target("tool", n, v) for n, v in tools]


def _local(path: str, default: str) -> str:
    """Only a path on this site is followed after a run (no open redirect)."""
    return path if path.startswith("/") and not path.startswith("//") else default


async def _run_and_save(
    request: Request, suite_ids: list[int], target: Target
) -> list[dict[str, Any]]:
    actor = principal_of(request).user
    runner = scenario_runner(request)
    out = []
    for suite_id in suite_ids:

        def specs(session: Session, suite_id: int = suite_id) -> list[ScenarioSpec]:
            return suite_ops.specs_of(suite_ops.get_suite(session, suite_id))

        result = await suite_ops.run_suite(runner, await run_db(request, specs), target)

        def save(
            session: Session, suite_id: int = suite_id, result: SuiteResult = result
        ) -> ScenarioRun:
            return suite_ops.save_run(session, suite_id, result, actor, "")

        run = await run_db(request, save)
        out.append(suite_ops.run_dict(run, with_results=True))
    return out


# --- pages -------------------------------------------------------------------------------


@admin_page
async def suites_page(request: Request) -> Response:
    def load(session: Session) -> dict[str, Any]:
        suites = suite_store.list_suites(session)
        published = {
            suite.id: suite_store.last_run(session, suite.id, "published", "", None)
            for suite in suites
        }
        return {"suites": suites, "published_runs": published}

    return render(request, "suites.html", await run_db(request, load))


@admin_page
async def suite_create(request: Request) -> Response:
    form = await request.form()
    actor = principal_of(request).user
    try:
        suite = await run_db(
            request,
            lambda s: suite_ops.create_suite(
                s,
                actor,
                str(form.get("name", "")),
                str(form.get("description", "")),
                form.get("required") == "on",
            ),
        )
    except OperationError as error:
        flash(request, error.message, "error")
        return RedirectResponse("/admin/suites", status_code=303)
    flash(request, f"Created the suite {suite.name!r}. Add its scenarios below.")
    return RedirectResponse(f"/admin/suites/{suite.id}", status_code=303)


async def _suite_context(request: Request, suite_id: int) -> dict[str, Any]:
    def load(session: Session) -> dict[str, Any]:
        suite = suite_ops.get_suite(session, suite_id)
        return {
            "suite": suite,
            "runs": suite_store.recent_runs(session, suite_id),
            "targets": [Target(), *draft_targets(session)],
        }

    context = await run_db(request, load)
    context["expectation_keys"] = EXPECTATION_KEYS
    context["form"] = {}
    context["error"] = None
    return context


@admin_page
async def suite_page(request: Request) -> Response:
    try:
        context = await _suite_context(request, int(request.path_params["suite_id"]))
    except OperationError as error:
        return render(request, "error.html", {"message": error.message}, status_code=404)
    return render(request, "suite.html", context)


def expectation_from_form(form: Any) -> dict[str, Any]:
    """The scenario form's fields as an expectation object (the JSON box adds the rest)."""
    more = str(form.get("more", "")).strip()
    try:
        data: dict[str, Any] = json.loads(more) if more else {}
    except ValueError as error:
        raise Invalid(f"more expectations: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise Invalid("more expectations: a JSON object")
    for key in ("account", "verified", "card_status"):
        value = str(form.get(key, "")).strip()
        if value:
            data[key] = value
    for key in ("unverified", "handoff", "callback"):
        if form.get(key) == "on":
            data[key] = True
    tools = [t.strip() for t in str(form.get("tools", "")).split(",") if t.strip()]
    if tools:
        data["tools"] = tools
    said = [
        [phrase.strip() for phrase in line.split("|") if phrase.strip()]
        for line in str(form.get("said", "")).splitlines()
        if line.strip()
    ]
    if said:
        data["said"] = said
    return data


@admin_page
async def scenario_add(request: Request) -> Response:
    suite_id = int(request.path_params["suite_id"])
    form = await request.form()
    actor = principal_of(request).user
    try:
        expected = expectation_from_form(form)
        spec = await run_db(
            request,
            lambda s: suite_ops.add_scenario(
                s, actor, suite_id, str(form.get("name", "")), str(form.get("steps", "")), expected
            ),
        )
    except OperationError as error:
        context = await _suite_context(request, suite_id)
        context["form"] = dict(form)
        context["error"] = error.message
        return render(request, "suite.html", context, status_code=error.status_code)
    flash(request, f"Added the scenario {spec.name!r}. Run the suite again to update its result.")
    return RedirectResponse(f"/admin/suites/{suite_id}", status_code=303)


@admin_page
async def scenario_delete(request: Request) -> Response:
    suite_id = int(request.path_params["suite_id"])
    scenario_id = int(request.path_params["scenario_id"])
    actor = principal_of(request).user
    try:
        name = await run_db(
            request, lambda s: suite_ops.delete_scenario(s, actor, suite_id, scenario_id)
        )
        flash(request, f"Deleted the scenario {name!r}.")
    except OperationError as error:
        flash(request, error.message, "error")
    return RedirectResponse(f"/admin/suites/{suite_id}", status_code=303)


@admin_page
async def suite_run(request: Request) -> Response:
    """Run one suite (or, from a publish page, every required suite) against a target."""
    form = await request.form()
    suite_id = request.path_params.get("suite_id")
    back = _local(
        str(form.get("next", "")), f"/admin/suites/{suite_id}" if suite_id else "/admin/suites"
    )
    try:
        target = suite_ops.parse_target(str(form.get("target", "published")))
        if suite_id is not None:
            ids = [int(suite_id)]
        else:
            ids = await run_db(request, lambda s: [x.id for x in suite_store.required_suites(s)])
        runs = await _run_and_save(request, ids, target)
    except OperationError as error:
        flash(request, error.message, "error")
        return RedirectResponse(back, status_code=303)
    if not runs:
        flash(request, "No required suite has scenarios: nothing to run.")
    for run in runs:
        verdict = "passed" if run["passed"] else "FAILED"
        flash(
            request,
            f"Suite run {verdict} against {target.label}: "
            f"{run['scenarios'] - run['failed']} of {run['scenarios']} scenarios passed.",
            "info" if run["passed"] else "error",
        )
    if suite_id is not None and runs and not form.get("next"):
        back = f"/admin/suites/runs/{runs[0]['id']}"
    return RedirectResponse(back, status_code=303)


@admin_page
async def run_page(request: Request) -> Response:
    run_id = int(request.path_params["run_id"])

    def load(session: Session) -> dict[str, Any]:
        run = suite_store.get_run(session, run_id)
        if run is None:
            raise Invalid(f"no suite run {run_id}")
        suite = suite_ops.get_suite(session, run.suite_id)
        return {"run": suite_ops.run_dict(run, with_results=True), "suite": suite}

    try:
        context = await run_db(request, load)
    except OperationError as error:
        return render(request, "error.html", {"message": error.message}, status_code=404)
    return render(request, "suite_run.html", context)


# --- API -----------------------------------------------------------------------------------


@admin_endpoint
async def api_suites(request: Request) -> Response:
    suites = await run_db(
        request, lambda s: [suite_ops.suite_dict(x) for x in suite_store.list_suites(s)]
    )
    return JSONResponse({"suites": suites})


@admin_endpoint
async def api_create_suite(request: Request) -> Response:
    body = await json_body(request)
    actor = principal_of(request).user
    name = string_field(body, "name")
    description = string_field(body, "description", default="")
    required = bool(body.get("required", True))
    suite = await run_db(
        request,
        lambda s: suite_ops.suite_dict(
            suite_ops.create_suite(s, actor, name, description, required)
        ),
    )
    return JSONResponse(suite, status_code=201)


@admin_endpoint
async def api_suite(request: Request) -> Response:
    suite_id = int(request.path_params["suite_id"])

    def load(session: Session) -> dict[str, Any]:
        suite = suite_ops.suite_dict(suite_ops.get_suite(session, suite_id))
        suite["runs"] = [suite_ops.run_dict(r) for r in suite_store.recent_runs(session, suite_id)]
        return suite

    return JSONResponse(await run_db(request, load))


@admin_endpoint
async def api_add_scenario(request: Request) -> Response:
    suite_id = int(request.path_params["suite_id"])
    body = await json_body(request)
    actor = principal_of(request).user
    name = string_field(body, "name")
    spec = await run_db(
        request,
        lambda s: suite_ops.add_scenario(
            s, actor, suite_id, name, body.get("steps"), body.get("expected", {})
        ),
    )
    return JSONResponse(
        {
            "name": spec.name,
            "steps": [x.as_dict() for x in spec.steps],
            "expected": spec.expected.as_dict(),
        },
        status_code=201,
    )


@admin_endpoint
async def api_run_suite(request: Request) -> Response:
    """Run the suite now (it takes seconds) and return the stored run with its results."""
    suite_id = int(request.path_params["suite_id"])
    body = await json_body(request)
    target = suite_ops.parse_target(string_field(body, "target", default="published"))
    runs = await _run_and_save(request, [suite_id], target)
    return JSONResponse(runs[0], status_code=201)


@admin_endpoint
async def api_run(request: Request) -> Response:
    run_id = int(request.path_params["run_id"])

    def load(session: Session) -> dict[str, Any]:
        run = suite_store.get_run(session, run_id)
        if run is None:
            raise Invalid(f"no suite run {run_id}")
        return suite_ops.run_dict(run, with_results=True)

    return JSONResponse(await run_db(request, load))


@admin_endpoint
async def api_publish_gate(request: Request) -> Response:
    """What publishing ``target`` would meet: each required suite's latest result."""
    target = suite_ops.parse_target(request.query_params.get("target", ""))
    gates = await run_db(request, lambda s: [g.as_dict() for g in suite_ops.gates(s, target)])
    return JSONResponse(
        {
            "target": target.spec,
            "suites": gates,
            "blocked": any(g["state"] != "passed" for g in gates),
        }
    )


def suite_routes() -> list[BaseRoute]:
    return [
        Route("/admin/suites", suites_page),
        Route("/admin/suites", suite_create, methods=["POST"]),
        Route("/admin/suites/run", suite_run, methods=["POST"]),
        Route("/admin/suites/runs/{run_id:int}", run_page),
        Route("/admin/suites/{suite_id:int}", suite_page),
        Route("/admin/suites/{suite_id:int}/scenarios", scenario_add, methods=["POST"]),
        Route(
            "/admin/suites/{suite_id:int}/scenarios/{scenario_id:int}/delete",
            scenario_delete,
            methods=["POST"],
        ),
        Route("/admin/suites/{suite_id:int}/run", suite_run, methods=["POST"]),
        Route("/api/v1/suites", api_suites),
        Route("/api/v1/suites", api_create_suite, methods=["POST"]),
        Route("/api/v1/suites/runs/{run_id:int}", api_run),
        Route("/api/v1/suites/{suite_id:int}", api_suite),
        Route("/api/v1/suites/{suite_id:int}/scenarios", api_add_scenario, methods=["POST"]),
        Route("/api/v1/suites/{suite_id:int}/runs", api_run_suite, methods=["POST"]),
        Route("/api/v1/publish-gate", api_publish_gate),
    ]
