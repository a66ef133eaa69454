"""Console operations on a real PostgreSQL (rolled back per test): versioning, publishing,
handoff state changes and their audit entries, HTTP tool secrets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.settings import load_settings
from callcenter.store import audit
from callcenter.store import users as user_store
from callcenter.store.db import transaction
from callcenter.store.models import AuditLog, Call, Handoff, HandoffStatus, User
from callcenter.store.prompts import seed_default_prompts
from callcenter.tools import load_toolset
from callcenter.tools.http_tool import (
    HeaderInput,
    HttpToolConfigError,
    build_http_config,
    decrypt_secret,
    public_http_config,
)
from callcenter.web import handoff_ops, prompt_ops, tool_ops, turn_view
from callcenter.web.errors import Conflict, Invalid

# The echo endpoint stands in for a CRM on loopback, which tools may reach only when allowed.
SETTINGS = load_settings(secret_key="k" * 40, tool_allowed_networks="127.0.0.1/32")


def _user(session: Session, role: str) -> User:
    return user_store.create_user(
        session,
        username=f"{role}_{uuid.uuid4().hex[:6]}",
        password="ops-test-passphrase",
        role=role,
    )


def _actions(session: Session, target_type: str, target_id: str) -> list[str]:
    rows = session.scalars(
        select(AuditLog.action)
        .where(AuditLog.target_type == target_type, AuditLog.target_id == target_id)
        .order_by(AuditLog.id)
    )
    return list(rows)


def test_accept_is_first_come_and_resolve_belongs_to_the_assignee(db_session: Session) -> None:
    first, second, admin = (_user(db_session, r) for r in ("agent", "agent", "admin"))
    call = Call(call_sid="CA" + uuid.uuid4().hex)
    db_session.add(call)
    db_session.flush()
    handoff = Handoff(call_id=call.id, reason="asked for a person")
    db_session.add(handoff)
    db_session.flush()

    accepted = handoff_ops.accept(db_session, first, handoff.id)
    assert accepted.status == HandoffStatus.accepted and accepted.assigned_user_id == first.id
    assert accepted.accepted_at is not None
    with pytest.raises(Conflict):
        handoff_ops.accept(db_session, second, handoff.id)
    with pytest.raises(Conflict):
        handoff_ops.resolve(db_session, second, handoff.id, "not mine")
    resolved = handoff_ops.resolve(db_session, first, handoff.id, "  refunded the fee  ")
    assert resolved.status == HandoffStatus.resolved
    assert resolved.resolution_note == "refunded the fee" and resolved.resolved_at is not None
    with pytest.raises(Conflict):
        handoff_ops.resolve(db_session, admin, handoff.id, "again")
    assert _actions(db_session, "handoff", str(handoff.id)) == [
        "handoff.accept",
        "handoff.resolve",
    ]


def test_heard_and_unheard_parts_of_agent_turns() -> None:
    from callcenter.store.models import Speaker, Turn

    cut = Turn(speaker=Speaker.agent, text="One two three", heard_text="One two", interrupted=True)
    assert turn_view.heard_parts(cut) == ("One two", " three")
    whole = Turn(speaker=Speaker.agent, text="Hello", heard_text=None, interrupted=False)
    assert turn_view.heard_parts(whole) == ("Hello", "")
    never = Turn(speaker=Speaker.agent, text="Hello", heard_text=None, interrupted=True)
    assert turn_view.heard_parts(never) == ("", "Hello")
    caller = Turn(speaker=Speaker.caller, text="Hi", heard_text=None, interrupted=False)
    assert turn_view.heard_parts(caller) == ("Hi", "")


def test_prompt_draft_publish_rollback_and_diff(db_session: Session) -> None:
    seed_default_prompts(db_session)
    admin = _user(db_session, "admin")
    draft = prompt_ops.save_draft(db_session, admin, "greeting", "Hi, ${agent_name} here.")
    assert draft.status.value == "draft" and draft.created_by == admin.id
    row, action = prompt_ops.publish(db_session, admin, "greeting", draft.version)
    assert action == "prompt.publish" and row.published_by == admin.id
    _, action = prompt_ops.publish(db_session, admin, "greeting", 1)
    assert action == "prompt.rollback"
    versions = {v.version: v.status.value for v in prompt_ops.versions(db_session, "greeting")}
    assert versions[1] == "published" and versions[draft.version] == "archived"
    diff = prompt_ops.diff(db_session, "greeting", 1, draft.version)
    assert "+Hi, ${agent_name} here." in diff
    assert _actions(db_session, "prompt", "greeting") == [
        "prompt.draft",
        "prompt.publish",
        "prompt.rollback",
    ]
    rendered, missing = prompt_ops.preview(
        "greeting", "Hi ${agent_name}, ${nope}", {"agent_name": "Ava"}
    )
    assert rendered == "Hi Ava, ${nope}" and missing == ["nope"]


@pytest.mark.parametrize(
    ("name", "body"),
    [("system", "costs $5"), ("variables", "[1, 2]"), ("variables", "{not json"), ("system", " ")],
)
def test_bad_prompt_bodies_are_refused(db_session: Session, name: str, body: str) -> None:
    with pytest.raises(Invalid):
        prompt_ops.save_draft(db_session, _user(db_session, "admin"), name, body)


def test_http_tool_secrets_are_encrypted_kept_and_never_shown() -> None:
    secret = "sk-live-" + uuid.uuid4().hex
    config = build_http_config(
        SETTINGS,
        url="https://crm.example/orders",
        method="post",
        timeout_s=3,
        headers=[
            HeaderInput("X-Api-Key", secret, True),
            HeaderInput("Accept", "text/plain", False),
        ],
    )
    assert secret not in repr(config)
    assert decrypt_secret(SETTINGS, config["headers"][0]["value_encrypted"]) == secret
    assert secret not in repr(public_http_config(config))
    assert public_http_config(config)["headers"][0] == {
        "name": "X-Api-Key", "secret": True, "value_set": True,
    }  # fmt: skip
    # Saving again with an empty secret keeps the stored one.
    again = build_http_config(
        SETTINGS, url="https://crm.example/orders", method="POST", timeout_s=3,
        headers=[HeaderInput("X-Api-Key", "", True)], previous=config,
    )  # fmt: skip
    assert again["headers"][0]["value_encrypted"] == config["headers"][0]["value_encrypted"]
    with pytest.raises(HttpToolConfigError):
        build_http_config(SETTINGS, url="https://x.example", method="POST", timeout_s=3,
                          headers=[HeaderInput("X-New", "", True)])  # fmt: skip
    with pytest.raises(HttpToolConfigError):
        other = load_settings(secret_key="another-key" * 4)
        decrypt_secret(other, again["headers"][0]["value_encrypted"])
    for bad in ({"url": "ftp://x"}, {"method": "TRACE"}, {"timeout_s": 99}):
        kwargs = {"url": "https://x.example", "method": "GET", "timeout_s": 1.0} | bad
        with pytest.raises(HttpToolConfigError):
            build_http_config(SETTINGS, headers=[], **kwargs)  # type: ignore[arg-type]


def test_tool_versions_go_live_only_when_published(db_session: Session) -> None:
    admin = _user(db_session, "admin")
    name = f"order_status_{uuid.uuid4().hex[:6]}"
    data = tool_ops.ToolInput(
        description="Look up an order.",
        parameters={"type": "object", "properties": {"order_id": {"type": "string"}}},
        url="https://crm.example/orders",
    )
    v1 = tool_ops.save(db_session, SETTINGS, admin, name, data, new=True)
    assert name not in load_toolset(db_session).names  # a draft is not live
    tool_ops.publish(db_session, admin, name, v1.version)
    live = load_toolset(db_session).get(name)
    assert live is not None and live.kind == "http" and live.version == 1

    off = tool_ops.save(
        db_session, SETTINGS, admin, "get_balance",
        tool_ops.ToolInput(description="Balance.", enabled=False), new=False,
    )  # fmt: skip
    assert "get_balance" in load_toolset(db_session).names
    tool_ops.publish(db_session, admin, "get_balance", off.version)
    assert "get_balance" not in load_toolset(db_session).names
    with pytest.raises(Invalid):
        tool_ops.save(db_session, SETTINGS, admin, "get_balance", data, new=True)
    with pytest.raises(Invalid):
        bad = tool_ops.ToolInput(description="x", parameters={"type": "nope"}, url="https://x.y")
        tool_ops.save(db_session, SETTINGS, admin, name, bad, new=False)
    assert _actions(db_session, "tool", name) == ["tool.create", "tool.publish"]


def test_audit_filters(db_session: Session) -> None:
    admin = _user(db_session, "admin")
    tag = uuid.uuid4().hex[:8]
    audit.record(
        db_session, actor=admin, action="prompt.draft", target_type="prompt", target_id=tag
    )
    audit.record(db_session, actor=None, action="tool.save", target_type="tool", target_id=tag)
    rows, total = audit.search(db_session, audit.AuditFilter(action="prompt.", target_id=tag))
    assert total == 1 and rows[0].actor == admin.username
    _, total = audit.search(db_session, audit.AuditFilter(actor=admin.username.upper()))
    assert total >= 1
    _, total = audit.search(db_session, audit.AuditFilter(actor="system", target_id=tag))
    assert total == 1
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    _, total = audit.search(db_session, audit.AuditFilter(since=tomorrow, target_id=tag))
    assert total == 0


def test_an_http_tool_runs_through_the_call_executor(db_factory: sessionmaker[Session]) -> None:
    from callcenter.store.models import ToolInvocation
    from callcenter.tools import CallContext, ToolExecutor
    from callcenter.tools.base import ToolCall
    from tests.web.helpers import echo_endpoint

    secret = "sk-" + uuid.uuid4().hex
    name = f"order_lookup_{uuid.uuid4().hex[:6]}"
    with echo_endpoint() as (url, received):
        with transaction(db_factory) as session:
            admin = _user(session, "admin")
            data = tool_ops.ToolInput(
                description="Look up an order.",
                parameters={
                    "type": "object",
                    "properties": {"order_id": {"type": "string"}},
                    "required": ["order_id"],
                },
                url=url,
                headers=[HeaderInput("X-Api-Key", secret, True)],
            )
            row = tool_ops.save(session, SETTINGS, admin, name, data, new=True)
            tool_ops.publish(session, admin, name, row.version)
            call = Call(call_sid="CA" + uuid.uuid4().hex)
            session.add(call)
            session.flush()
            call_id = call.id
        with db_factory() as session:
            toolset = load_toolset(session)
        executor = ToolExecutor(db_factory, toolset, SETTINGS)
        outcome = executor.execute(
            CallContext(call_id=call_id),
            ToolCall(id="t1", name=name, arguments={"order_id": 1017}),
        )
    assert outcome.status.value == "ok", outcome.result
    assert outcome.result["response"]["status"] == "shipped on Tuesday"
    assert outcome.say == "Your order shipped on Tuesday."
    # The endpoint got the key and the coerced argument; the model never sees the key.
    assert received[0]["headers"]["x-api-key"] == secret
    assert received[0]["body"] == {"order_id": "1017"}
    assert received[0]["headers"]["x-callcenter-call-id"] == call_id
    assert secret not in repr(outcome.result)
    with db_factory() as session:
        stored = session.scalars(
            select(ToolInvocation).where(ToolInvocation.call_id == call_id)
        ).one()
        assert secret not in repr(stored.result) and stored.name == name
