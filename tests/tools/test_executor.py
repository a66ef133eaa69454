"""The single execution path: validation, audit of every call, registry configuration."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from callcenter.store.db import transaction
from callcenter.store.models import ToolDefinition, ToolStatus, VersionStatus
from callcenter.tools import (
    BUILTIN_TOOLS,
    CallContext,
    ToolExecutor,
    ToolResult,
    ToolRun,
    ToolService,
    ToolSpec,
    load_toolset,
)
from callcenter.tools.base import ToolCall
from tests.tools.helpers import call_tool, invocations, tool_settings, verify_dana


def test_schema_violations_are_invalid_and_audited(
    executor: ToolExecutor, ctx: CallContext, db_factory: sessionmaker[Session]
) -> None:
    verify_dana(executor, ctx)
    cases: list[dict[str, Any]] = [
        {"limit": 50},
        {"limit": "many"},
        {"limit": 3, "include_other_accounts": True},
    ]
    for arguments in cases:
        outcome = call_tool(executor, ctx, "list_recent_transactions", **arguments)
        assert outcome.status == ToolStatus.invalid, arguments
        assert outcome.result["error"] == "invalid_arguments"
    missing = call_tool(executor, ctx, "make_payment", amount=10)
    assert missing.status == ToolStatus.invalid
    statuses = [row.status for row in invocations(db_factory, ctx.call_id)]
    assert statuses == [ToolStatus.ok] + [ToolStatus.invalid] * 4


def test_unparseable_arguments_and_unknown_tools(
    executor: ToolExecutor, ctx: CallContext, db_factory: sessionmaker[Session]
) -> None:
    broken = ToolCall(
        id="c1", name="verify_identity", arguments={}, raw_arguments='{"account_number": "10'
    )
    outcome = executor.execute(ctx, broken)
    assert outcome.status == ToolStatus.invalid
    assert outcome.result["error"] == "arguments_not_json"
    unknown = call_tool(executor, ctx, "transfer_money_to_me", amount=1_000_000)
    assert unknown.status == ToolStatus.invalid and unknown.result["error"] == "unknown_tool"
    rows = invocations(db_factory, ctx.call_id)
    assert [row.name for row in rows] == ["verify_identity", "transfer_money_to_me"]
    # verify_identity takes secrets: even its unparseable text is kept out of the log.
    assert rows[0].arguments == {"_raw": "[redacted]"}


def test_every_call_is_audited_with_outcome_and_message(
    executor: ToolExecutor, ctx: CallContext, db_factory: sessionmaker[Session]
) -> None:
    ctx.record_caller_utterance("Hello?")
    refused = call_tool(executor, ctx, "get_balance")
    verify_dana(executor, ctx)
    ok = call_tool(executor, ctx, "get_balance")
    rows = invocations(db_factory, ctx.call_id)
    assert [(row.name, row.status) for row in rows] == [
        ("get_balance", ToolStatus.refused),
        ("verify_identity", ToolStatus.ok),
        ("get_balance", ToolStatus.ok),
    ]
    assert rows[-1].id == ok.invocation_id and rows[0].id == refused.invocation_id
    assert rows[1].arguments == {"account_number": "1001", "pin": "[redacted]"}
    message = ok.message()
    assert message["role"] == "tool" and json.loads(message["content"])["balance"] == "2417.35"


def test_a_failing_handler_becomes_an_error_outcome(
    db_factory: sessionmaker[Session], ctx: CallContext
) -> None:
    def explode(run: ToolRun) -> ToolResult:
        raise RuntimeError("backend down")

    spec = ToolSpec(name="explode", description="", parameters={"type": "object"}, handler=explode)
    toolset = load_toolset(builtins={"explode": spec})
    outcome = call_tool(ToolExecutor(db_factory, toolset, tool_settings()), ctx, "explode")
    assert outcome.status == ToolStatus.error and outcome.result["ok"] is False
    assert "backend" not in outcome.say
    assert [row.status for row in invocations(db_factory, ctx.call_id)] == [ToolStatus.error]


def test_published_definitions_configure_builtins(db_factory: sessionmaker[Session]) -> None:
    with transaction(db_factory) as session:
        session.add_all(
            [
                ToolDefinition(
                    name="get_balance",
                    version=1,
                    description="Old words.",
                    status=VersionStatus.published,
                ),
                ToolDefinition(
                    name="get_balance",
                    version=2,
                    description="Tell the balance.",
                    status=VersionStatus.published,
                    requires_verification=False,
                ),
                ToolDefinition(
                    name="get_balance",
                    version=3,
                    description="Draft, not live.",
                    status=VersionStatus.draft,
                ),
                ToolDefinition(
                    name="block_card", version=1, enabled=False, status=VersionStatus.published
                ),
                ToolDefinition(
                    name="weather", version=1, kind="grpc", status=VersionStatus.published
                ),
            ]
        )
    with db_factory() as session:
        toolset = load_toolset(session)
    names = toolset.names
    # Disabled, or of a kind nothing implements: not offered to the model.
    assert "block_card" not in names and "weather" not in names
    assert len(names) == len(BUILTIN_TOOLS) - 1
    balance = toolset.get("get_balance")
    assert balance is not None
    assert balance.description == "Tell the balance." and balance.version == 2
    # Who may run a built-in is code policy; a row cannot switch verification off.
    assert balance.requires_verification is True
    schema = next(s for s in toolset.schemas() if s["function"]["name"] == "get_balance")
    assert schema == {
        "type": "function",
        "function": {
            "name": "get_balance",
            "description": "Tell the balance.",
            "parameters": dict(BUILTIN_TOOLS["get_balance"].parameters),
        },
    }


def test_admin_defined_kinds_run_through_the_same_path(
    db_factory: sessionmaker[Session], ctx: CallContext
) -> None:
    with transaction(db_factory) as session:
        session.add(
            ToolDefinition(
                name="order_status",
                version=1,
                kind="http",
                status=VersionStatus.published,
                description="Look up an order.",
                requires_verification=True,
                parameters={
                    "type": "object",
                    "properties": {"order_id": {"type": "string"}},
                    "required": ["order_id"],
                },
            )
        )

    def factory(row: ToolDefinition) -> ToolSpec:
        def handler(run: ToolRun) -> ToolResult:
            return ToolResult.ok("It shipped.", order=run.arguments["order_id"])

        return ToolSpec(
            name=row.name,
            description=row.description,
            parameters=row.parameters,
            handler=handler,
            requires_verification=row.requires_verification,
            kind=row.kind,
        )

    with db_factory() as session:
        toolset = load_toolset(session, factories={"http": factory})
    executor = ToolExecutor(db_factory, toolset, tool_settings())
    assert call_tool(executor, ctx, "order_status", order_id="A1").status == ToolStatus.refused
    verify_dana(executor, ctx)
    assert call_tool(executor, ctx, "order_status").status == ToolStatus.invalid
    assert call_tool(executor, ctx, "order_status", order_id="A1").result["order"] == "A1"


async def test_tool_service_reloads_definitions_and_runs_off_the_loop(
    db_factory: sessionmaker[Session], ctx: CallContext
) -> None:
    service = ToolService(db_factory, tool_settings(), refresh_s=0)
    await service.refresh()
    assert "block_card" in [schema["function"]["name"] for schema in service.schemas()]
    with transaction(db_factory) as session:
        session.add(
            ToolDefinition(
                name="block_card", version=1, enabled=False, status=VersionStatus.published
            )
        )
    # schemas() never reads the database on the event loop; refresh() reloads off it.
    assert "block_card" in [schema["function"]["name"] for schema in service.schemas()]
    await service.refresh()
    assert "block_card" not in [schema["function"]["name"] for schema in service.schemas()]
    request = ToolCall(id="c9", name="get_balance", arguments={})
    outcome = await service.execute(ctx, request, turn_seq=7)
    assert outcome.status == ToolStatus.refused
    rows = invocations(db_factory, ctx.call_id)
    assert [(row.name, row.turn_seq) for row in rows] == [("get_balance", 7)]
