"""The dashboard (admins: supervisors): live calls, volume, containment, handoff reasons,
task success, latency, barge-in reaction and sentiment for a chosen period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.dialogue.flows.definitions import FLOWS
from callcenter.store import dashboard as dashboard_store
from callcenter.store.handoffs import reason_label
from callcenter.store.models import Role
from callcenter.web.api_json import endpoint
from callcenter.web.auth import page, run_db
from callcenter.web.charts import bar_chart, column_chart
from callcenter.web.errors import Invalid
from callcenter.web.templating import render

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
DEFAULT_PERIOD = "7d"
# Each task flow and the tool that completes it (goodbye has none: nothing to succeed at).
FLOW_TOOLS = {name: flow.tool for name, flow in FLOWS.items() if flow.tool}


def _period(request: Request) -> tuple[str, datetime, datetime]:
    name = request.query_params.get("period", DEFAULT_PERIOD)
    if name not in PERIODS:
        raise Invalid("period: one of " + ", ".join(PERIODS))
    until = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return name, until - PERIODS[name], until


def _every_hour(
    since: datetime, until: datetime, counts: list[tuple[str, int]]
) -> list[tuple[str, float]]:
    """Hours without calls are zero, not missing: the chart's time axis stays even."""
    by_hour = dict(counts)
    out: list[tuple[str, float]] = []
    hour = since
    while hour < until:
        label = hour.strftime("%Y-%m-%d %H:00")
        out.append((label, float(by_hour.get(label, 0))))
        hour += timedelta(hours=1)
    return out


@page(Role.admin)
async def dashboard_page(request: Request) -> Response:
    try:
        name, since, until = _period(request)
    except Invalid as error:
        return render(request, "error.html", {"message": error.message}, status_code=422)
    data = await run_db(request, lambda s: dashboard_store.build(s, since, until, FLOW_TOOLS))
    charts = {
        "per_hour": column_chart(
            "chart-calls-per-hour", "Calls per hour", _every_hour(since, until, data.calls_per_hour)
        ),
        "outcomes": bar_chart(
            "chart-outcomes", "Calls by outcome", sorted(data.outcomes.items(), key=lambda i: -i[1])
        ),
        "reasons": bar_chart(
            "chart-handoff-reasons",
            "Handoff reasons",
            [(reason_label(r), n) for r, n in data.handoff_reasons],
        ),
        "flows": bar_chart(
            "chart-flow-success",
            "Task success by flow (% of calls asking for the task that completed it)",
            [(f["flow"].replace("_", " "), round(100 * f["rate"], 1)) for f in data.flow_success],
            unit=" %",
        ),
        "tasks": bar_chart(
            "chart-task-success",
            "Task success by tool (% of calls of the tool that succeeded)",
            [(t["task"], round(100 * t["rate"], 1)) for t in data.task_success],
            unit=" %",
        ),
        "sentiment": bar_chart("chart-sentiment", "Caller sentiment", data.sentiment),
    }
    context: dict[str, Any] = {
        "d": data,
        "charts": charts,
        "period": name,
        "periods": list(PERIODS),
    }
    return render(request, "dashboard.html", context)


@endpoint(Role.admin)
async def dashboard_api(request: Request) -> Response:
    _, since, until = _period(request)
    data = await run_db(request, lambda s: dashboard_store.build(s, since, until, FLOW_TOOLS))
    return JSONResponse(data.as_dict())


def dashboard_routes() -> list[BaseRoute]:
    return [
        Route("/admin/dashboard", dashboard_page),
        Route("/api/v1/dashboard", dashboard_api),
    ]
