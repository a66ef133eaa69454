"""The text-chat tester: an admin types as the caller and reads the agent's replies.

It runs the same text path as the scenario suites (the call's dialogue engine with the
chosen draft, no audio). The page keeps the caller's steps in the form, and each turn
replays them in a fresh rolled-back sandbox, so a test chat never changes the database
and the conversation can be saved as a scenario at any point.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.scenarios.spec import MAX_STEPS, SpecError, Step, steps_from_json
from callcenter.scenarios.target import Target, TargetError
from callcenter.scenarios.text_call import TextCall
from callcenter.store import suites as suite_store
from callcenter.store.models import Role
from callcenter.web import suite_ops
from callcenter.web.api_json import endpoint, json_body, string_field
from callcenter.web.auth import flash, page, principal_of, run_db
from callcenter.web.errors import Invalid, NotFound, OperationError
from callcenter.web.suites import draft_targets, scenario_runner
from callcenter.web.templating import render

admin_page = page(Role.admin)


def _steps(raw: Any) -> list[Step]:
    try:
        data = json.loads(raw) if isinstance(raw, str) and raw else raw
        return list(steps_from_json(data)) if data else []
    except (ValueError, SpecError) as error:
        raise Invalid(f"steps: {error}") from None


def _target(spec: str) -> Target:
    try:
        return Target.parse(spec)
    except TargetError as error:
        raise Invalid(str(error)) from None


def chat_state(call: TextCall) -> dict[str, Any]:
    verified = call.ctx.verified
    return {
        "transcript": [line.as_dict() for line in call.lines],
        "ended": call.ended,
        "handoff_reason": call.handoff_reason,
        "verified": verified.account_number if verified else None,
    }


def end_state(call: TextCall) -> dict[str, Any]:
    """The expectation a saved chat starts with: the end state it reached."""
    verified = call.ctx.verified
    ok_tools = sorted({t["name"] for line in call.lines for t in line.tools if t["status"] == "ok"})
    expected: dict[str, Any] = {"account": verified.account_number if verified else "1001"}
    if verified:
        expected["verified"] = verified.account_number
    if call.ended == "handoff":
        expected["handoff"] = True
    if ok_tools:
        expected["tools"] = ok_tools
    return expected


async def _play(request: Request, steps: list[Step], target: Target) -> TextCall:
    try:
        return await scenario_runner(request).chat(steps, target)
    except TargetError as error:
        raise NotFound(str(error)) from None


@admin_page
async def chat_page(request: Request) -> Response:
    """GET: an empty chat. POST: send a line or keys, start over, or save as a scenario."""
    form = await request.form() if request.method == "POST" else None
    target_spec = str(form.get("target", "published")) if form else "published"
    action = str(form.get("action", "send")) if form else ""
    context: dict[str, Any] = {"error": None, "state": None}
    target, steps = Target(), list[Step]()
    try:
        target = _target(target_spec)
        steps = _steps(form.get("steps")) if form and action != "reset" else []
        message = str(form.get("message", "")).strip() if form else ""
        if action in ("say", "press") and message:
            if len(steps) >= MAX_STEPS:
                raise Invalid(f"a test chat has at most {MAX_STEPS} caller steps; start over")
            steps.append(steps_from_json([{"kind": action, "text": message}])[0])
        call = await _play(request, steps, target)
        if action == "save" and form is not None:
            suite_id = int(str(form.get("suite_id", "0")) or 0)
            name = str(form.get("scenario_name", ""))
            actor = principal_of(request).user
            expected = end_state(call)
            await run_db(
                request,
                lambda s: suite_ops.add_scenario(
                    s, actor, suite_id, name, [x.as_dict() for x in steps], expected
                ),
            )
            flash(request, f"Saved the chat as the scenario {name!r}.")
            return RedirectResponse(f"/admin/suites/{suite_id}", status_code=303)
        context["state"] = chat_state(call)
    except (OperationError, SpecError) as error:
        context["error"] = getattr(error, "message", str(error))
    context["steps"] = steps
    context["steps_json"] = json.dumps([s.as_dict() for s in steps])
    context["target"] = target.spec

    def load(session: Session) -> dict[str, Any]:
        return {
            "targets": [Target(), *draft_targets(session)],
            "suites": [(s.id, s.name) for s in suite_store.list_suites(session)],
        }

    context |= await run_db(request, load)
    return render(request, "chat.html", context, status_code=422 if context["error"] else 200)


@endpoint(Role.admin)
async def api_chat(request: Request) -> Response:
    """Replay ``steps`` (say/press) against ``target`` and return the whole transcript."""
    body = await json_body(request)
    target = _target(string_field(body, "target", default="published"))
    steps = _steps(body.get("steps", []))
    if len(steps) > MAX_STEPS:
        raise Invalid(f"steps: at most {MAX_STEPS}")
    call = await _play(request, steps, target)
    return JSONResponse({"target": target.spec, **chat_state(call)})


def chat_routes() -> list[BaseRoute]:
    return [
        Route("/admin/chat", chat_page, methods=["GET", "POST"]),
        Route("/api/v1/chat", api_chat, methods=["POST"]),
    ]
