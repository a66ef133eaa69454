"""Tool administration: built-in overrides and HTTP tools, versioned, published, test-run.

A save never changes a live tool: it adds a draft version. Publishing makes that version
the one new calls load (callcenter.tools.registry). A test run builds the ToolSpec the
registry would build from the version and sends the sample arguments through the same
steps a call's executor applies before a handler (schema coercion and validation),
then the same handler. It skips the verification gate (no caller here) and writes no
tool_invocations row (there is no call); the audit log records that it ran.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy.orm import Session

from callcenter.scenarios.target import Target
from callcenter.settings import Settings
from callcenter.store import audit
from callcenter.store import tools as tool_store
from callcenter.store.models import ToolDefinition, User
from callcenter.tools.base import ToolResult, ToolRun, ToolSpec
from callcenter.tools.builtin import BUILTIN_TOOLS
from callcenter.tools.context import CallContext
from callcenter.tools.executor import coerce
from callcenter.tools.http_tool import (
    HeaderInput,
    HttpToolConfigError,
    build_http_config,
    http_tool_from_row,
    public_http_config,
)
from callcenter.web.errors import Conflict, Invalid, NotFound
from callcenter.web.suite_ops import check_publish

TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
RESERVED_NAMES = frozenset({"new"})  # /admin/tools/new is the creation form
MAX_DESCRIPTION = 2000
TEST_BODY_CHARS = 4000  # of a test run's response body, as shown


@dataclass
class ToolInput:
    """What an admin submits for one new version (form or JSON)."""

    description: str
    enabled: bool = True
    # HTTP tools only:
    parameters: dict[str, Any] = field(default_factory=dict)
    requires_verification: bool = False
    url: str = ""
    method: str = "POST"
    timeout_s: float = 5.0
    headers: list[HeaderInput] = field(default_factory=list)


@dataclass(frozen=True)
class ToolSummary:
    name: str
    kind: str
    latest_version: int  # 0: the code default of a built-in, never saved
    published_version: int | None
    enabled: bool  # of the live version (a built-in never saved: its code default)
    description: str
    draft_enabled: bool | None = None  # of a newer unpublished draft, if there is one


def kind_of(session: Session, name: str) -> str:
    if name in BUILTIN_TOOLS:
        return "builtin"
    kinds = tool_store.names_by_kind(session)
    if name not in kinds:
        raise NotFound(f"no tool named {name!r}")
    return kinds[name]


def overview(session: Session) -> list[ToolSummary]:
    out = []
    names = list(BUILTIN_TOOLS) + sorted(
        n for n in tool_store.names_by_kind(session) if n not in BUILTIN_TOOLS
    )
    for name in names:
        latest = tool_store.latest(session, name)
        live = tool_store.published(session, name)
        builtin = BUILTIN_TOOLS.get(name)
        shown = live or latest
        out.append(
            ToolSummary(
                name=name,
                kind="builtin" if builtin else (latest.kind if latest else "http"),
                latest_version=latest.version if latest else 0,
                published_version=live.version if live else None,
                enabled=live.enabled if live else builtin is not None,
                draft_enabled=(
                    latest.enabled
                    if latest is not None and (live is None or latest.version > live.version)
                    else None
                ),
                description=(shown.description if shown and shown.description else "")
                or (builtin.description if builtin else ""),
            )
        )
    return out


_SAMPLES: dict[str, Any] = {
    "string": "sample",
    "integer": 1,
    "number": 1,
    "boolean": True,
    "array": [],
    "object": {},
}


def sample_arguments(parameters: dict[str, Any]) -> dict[str, Any]:
    """Test arguments that satisfy the schema's required fields, to edit from (a test
    run of "{}" against a schema requiring order_id only shows an error)."""
    properties = parameters.get("properties") or {}
    out: dict[str, Any] = {}
    for name in parameters.get("required") or []:
        spec = properties.get(name) or {}
        if spec.get("enum"):
            out[name] = spec["enum"][0]
        elif "default" in spec:
            out[name] = spec["default"]
        else:
            kind = spec.get("type", "string")
            out[name] = _SAMPLES.get(kind if isinstance(kind, str) else "string", "sample")
    return out


def get_version(session: Session, name: str, version: int) -> ToolDefinition:
    row = tool_store.get_version(session, name, version)
    if row is None:
        raise NotFound(f"tool {name!r} has no version {version}")
    return row


def validate_schema(parameters: Any) -> dict[str, Any]:
    if not isinstance(parameters, dict):
        raise Invalid("parameters: must be a JSON object (a JSON Schema)")
    try:
        Draft202012Validator.check_schema(parameters)
    except SchemaError as error:
        raise Invalid(f"parameters: not a valid JSON Schema ({error.message})") from None
    if parameters.get("type") != "object":
        raise Invalid('parameters: the top level must be {"type": "object", ...}')
    return parameters


def save(
    session: Session, settings: Settings, actor: User, name: str, data: ToolInput, *, new: bool
) -> ToolDefinition:
    """Validate and store a new draft version of tool ``name``."""
    description = data.description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(f"description: at most {MAX_DESCRIPTION} characters")
    if new:
        if not TOOL_NAME.match(name):
            raise Invalid("name: 2-64 characters, lower-case letters, digits and _")
        if name in RESERVED_NAMES:
            raise Invalid(f"name: {name!r} is reserved")
        if name in BUILTIN_TOOLS or tool_store.latest(session, name) is not None:
            raise Invalid(f"name: a tool named {name!r} already exists")
        kind = "http"
    else:
        kind = kind_of(session, name)
    if kind == "builtin":
        fields: dict[str, Any] = {
            "kind": "builtin",
            "enabled": data.enabled,
            "description": description,
            # Ignored by the registry (code policy decides), kept for the record.
            "parameters": dict(BUILTIN_TOOLS[name].parameters),
            "requires_verification": BUILTIN_TOOLS[name].requires_verification,
            "http": {},
        }
    else:
        if not description:
            raise Invalid("description: the model needs one to know when to call the tool")
        previous = tool_store.latest(session, name)
        try:
            http = build_http_config(
                settings,
                url=data.url,
                method=data.method,
                timeout_s=data.timeout_s,
                headers=data.headers,
                previous=previous.http if previous is not None else None,
            )
        except HttpToolConfigError as error:
            raise Invalid(str(error)) from None
        fields = {
            "kind": "http",
            "enabled": data.enabled,
            "description": description,
            "parameters": validate_schema(data.parameters),
            "requires_verification": data.requires_verification,
            "http": http,
        }
    row = tool_store.save_version(session, name, fields=fields, user_id=actor.id)
    audit.record(
        session,
        actor=actor,
        action="tool.create" if new else "tool.save",
        target_type="tool",
        target_id=name,
        # The public view: header names and flags, never a secret.
        details={"version": row.version, "enabled": row.enabled, "kind": row.kind}
        | ({"http": public_http_config(row.http)} if row.kind == "http" else {}),
    )
    return row


def publish(
    session: Session,
    actor: User,
    name: str,
    version: int,
    *,
    override_reason: str | None = None,
) -> tuple[ToolDefinition, str]:
    """Publish ``version`` (a draft must have passed the required scenario suites, or
    come with an override reason)."""
    row = get_version(session, name, version)
    check_publish(session, actor, Target("tool", name, version), row.status, override_reason)
    live = tool_store.published(session, name)
    previous = live.version if live is not None else None
    action = "tool.rollback" if previous is not None and version < previous else "tool.publish"
    tool_store.publish(session, row, actor.id)
    details: dict[str, Any] = {
        "version": version,
        "previous_version": previous,
        "enabled": row.enabled,
    }
    if override_reason and override_reason.strip():
        details["override_reason"] = override_reason.strip()
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="tool",
        target_id=name,
        details=details,
    )
    return row, action


def archive(session: Session, actor: User, name: str) -> int:
    if name in BUILTIN_TOOLS:
        raise Invalid("built-in tools cannot be archived; save a version with enabled off")
    kind_of(session, name)  # 404 for an unknown tool
    changed = tool_store.archive(session, name)
    if changed == 0:
        raise Conflict(f"tool {name!r} is already archived")
    audit.record(
        session,
        actor=actor,
        action="tool.archive",
        target_type="tool",
        target_id=name,
        details={"versions": changed},
    )
    return changed


def spec_for_test(session: Session, name: str, version: int) -> ToolSpec:
    row = get_version(session, name, version)
    if row.kind != "http":
        raise Invalid("test runs are for HTTP tools; built-ins need a live, verified caller")
    session.expunge(row)
    return http_tool_from_row(row)


def test_run(
    session: Session, settings: Settings, spec: ToolSpec, arguments: dict[str, Any]
) -> ToolResult:
    """Blocking (the handler does HTTP): call from a worker thread."""
    checked = coerce(arguments, spec.parameters)
    errors = sorted(
        Draft202012Validator(dict(spec.parameters)).iter_errors(checked), key=lambda e: list(e.path)
    )
    if errors:
        # "arguments: order_id: ..." for a field, "arguments: 'order_id' is a required
        # property" for the object itself (not "arguments: arguments: ...").
        problems = [
            f"{'.'.join(map(str, e.path))}: {e.message}" if e.path else e.message
            for e in errors[:5]
        ]
        raise Invalid("arguments: " + "; ".join(problems))
    run = ToolRun(
        ctx=CallContext(call_id="admin-test-run"),
        session=session,
        arguments=checked,
        settings=settings,
        spec=spec,
    )
    result = spec.handler(run)
    return replace(result, data=test_view(result.data))


def test_view(data: dict[str, Any]) -> dict[str, Any]:
    """What a test run shows: the handler's (already redacted) result with the body cut
    to TEST_BODY_CHARS, so a large or hostile response cannot flood the page."""
    response = data.get("response")
    if response is None:
        return data
    text = response if isinstance(response, str) else json.dumps(response, ensure_ascii=False)
    if len(text) <= TEST_BODY_CHARS:
        return data
    return {**data, "response": text[:TEST_BODY_CHARS], "response_truncated": True}


def version_dict(row: ToolDefinition, usernames: dict[int, str]) -> dict[str, Any]:
    """A version as pages and the API show it (secrets never included)."""
    return {
        "id": row.id,
        "name": row.name,
        "version": row.version,
        "kind": row.kind,
        "status": row.status.value,
        "enabled": row.enabled,
        "description": row.description,
        "parameters": row.parameters,
        "requires_verification": row.requires_verification,
        "http": public_http_config(row.http) if row.kind == "http" else None,
        "created_by": usernames.get(row.created_by) if row.created_by else None,
        "created_at": row.created_at.isoformat(),
        "published_by": usernames.get(row.published_by) if row.published_by else None,
        "published_at": row.published_at.isoformat() if row.published_at else None,
    }


def builtin_default(name: str) -> dict[str, Any]:
    spec = BUILTIN_TOOLS[name]
    return {
        "name": name,
        "version": 0,
        "kind": "builtin",
        "status": "code default",
        "enabled": True,
        "description": spec.description,
        "parameters": dict(spec.parameters),
        "requires_verification": spec.requires_verification,
        "http": None,
    }


def record_test(session: Session, actor: User, name: str, version: int, result: str) -> None:
    # Only the outcome: sample arguments may hold real customer data.
    audit.record(
        session,
        actor=actor,
        action="tool.test",
        target_type="tool",
        target_id=name,
        details={"version": version, "result": result},
    )
