"""The one path every tool call takes: parse → scope policy → schema → handler → audit.

Whatever the model asked for (an unknown tool, broken JSON, another customer's
account), the call gets a :class:`ToolOutcome` the model can relay and exactly one
``tool_invocations`` row with secrets redacted. Nothing here raises into the call
session: a failing database or handler becomes an ``error`` outcome.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy.orm import Session, sessionmaker

from callcenter.settings import Settings, get_settings
from callcenter.store.calls import add_tool_invocation
from callcenter.store.db import transaction
from callcenter.store.models import ToolStatus
from callcenter.text.spoken_numbers import extract_digits
from callcenter.tools import policy
from callcenter.tools.base import ToolCall, ToolOutcome, ToolResult, ToolRun, ToolSpec
from callcenter.tools.context import CallContext
from callcenter.tools.redaction import REDACTED, is_secret_key, redact
from callcenter.tools.registry import ToolSet

log = logging.getLogger(__name__)

ERROR_SAY = "Sorry, something went wrong on my side. Let me try that another way."


class ToolExecutor:
    """Runs tool calls for calls. One per process is fine; state lives in the context."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        toolset: ToolSet,
        settings: Settings | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.toolset = toolset
        self.settings = settings or get_settings()
        self._validators: dict[tuple[str, int], Draft202012Validator] = {}

    async def aexecute(
        self, ctx: CallContext, request: ToolCall, *, turn_seq: int | None = None
    ) -> ToolOutcome:
        """:meth:`execute` off the event loop (database and argon2 block for a while)."""
        return await asyncio.to_thread(self.execute, ctx, request, turn_seq=turn_seq)

    def execute(
        self, ctx: CallContext, request: ToolCall, *, turn_seq: int | None = None
    ) -> ToolOutcome:
        started = time.perf_counter()
        arguments, parse_error = _arguments(request)
        _remember_secrets(ctx, arguments)
        audit = _Audit(
            ctx=ctx,
            name=request.name,
            arguments=arguments
            or ({"_raw": request.raw_arguments} if request.raw_arguments else {}),
            turn_seq=turn_seq,
            started=started,
        )
        spec = self.toolset.get(request.name)
        if spec is not None and "public_arguments" in spec.extra:
            # A tool that takes secrets: whatever the model named a field, keep only the
            # fields known to be harmless ("code": "4321" must not reach the audit log).
            public = set(spec.extra["public_arguments"])
            audit = dataclasses.replace(
                audit,
                arguments={k: v if k in public else REDACTED for k, v in audit.arguments.items()},
            )
        if parse_error is not None:
            result, invocation_id = parse_error, self._audit_only(audit, parse_error)
        elif spec is None:
            result = ToolResult.invalid(
                "unknown_tool", "Sorry, I can't do that here.", available=self.toolset.names
            )
            invocation_id = self._audit_only(audit, result)
        else:
            checked = self._precheck(spec, ctx, arguments)
            if isinstance(checked, ToolResult):
                result, invocation_id = checked, self._audit_only(audit, checked)
            else:
                result, invocation_id = self._run(spec, ctx, checked, audit)
        return ToolOutcome(
            tool_call_id=request.id,
            name=request.name,
            status=result.status,
            result=result.data,
            action=result.action,
            reason=result.reason,
            speak=result.speak,
            invocation_id=invocation_id,
        )

    def _precheck(
        self, spec: ToolSpec, ctx: CallContext, arguments: dict[str, Any]
    ) -> ToolResult | dict[str, Any]:
        """Scope policy, then the schema: a refusal, or the arguments the handler gets."""
        refusal, scoped = policy.check_scope(spec, ctx, arguments)
        if refusal is not None:
            return refusal
        scoped = coerce(scoped, spec.parameters)
        errors = sorted(self._validator(spec).iter_errors(scoped), key=lambda e: list(e.path))
        if errors:
            return ToolResult.invalid(
                "invalid_arguments",
                "Sorry, I didn't get all the details. Could you say that again?",
                problems=[_describe(error) for error in errors[:5]],
            )
        return scoped

    def _run(
        self, spec: ToolSpec, ctx: CallContext, arguments: dict[str, Any], audit: _Audit
    ) -> tuple[ToolResult, int | None]:
        try:
            # The change and its audit row commit together, or neither does.
            with transaction(self.session_factory) as session:
                run = ToolRun(
                    ctx=ctx,
                    session=session,
                    arguments=arguments,
                    settings=self.settings,
                    spec=spec,
                )
                result = spec.handler(run)
                invocation_id = audit.write(session, result)
        except Exception:
            log.exception("tool %s failed in call %s", spec.name, ctx.call_id)
            failed = ToolResult(
                ToolStatus.error, {"ok": False, "error": "internal_error", "say": ERROR_SAY}
            )
            return failed, self._audit_only(audit, failed)
        for callback in run.on_commit:
            callback()
        return result, invocation_id

    def _audit_only(self, audit: _Audit, result: ToolResult) -> int | None:
        try:
            with transaction(self.session_factory) as session:
                return audit.write(session, result)
        except Exception:
            # The database is down: the call goes on; the log keeps what happened.
            log.exception("could not audit tool %s in call %s", audit.name, audit.ctx.call_id)
            return None

    def _validator(self, spec: ToolSpec) -> Draft202012Validator:
        key = (spec.name, spec.version)
        if key not in self._validators:
            self._validators[key] = Draft202012Validator(dict(spec.parameters))
        return self._validators[key]


@dataclass(frozen=True)
class _Audit:
    ctx: CallContext
    name: str
    arguments: dict[str, Any]
    turn_seq: int | None
    started: float

    def write(self, session: Session, result: ToolResult) -> int:
        secrets = self.ctx.secrets_seen
        stored = dict(result.data)
        if result.action != "continue":
            stored["_action"], stored["_reason"] = result.action, result.reason
        row = add_tool_invocation(
            session,
            call_id=self.ctx.call_id,
            name=self.name[:100],
            arguments=redact(self.arguments, secrets),
            result=redact(stored, secrets),
            status=result.status,
            duration_ms=int((time.perf_counter() - self.started) * 1000),
            turn_seq=self.turn_seq,
        )
        return row.id


def _arguments(request: ToolCall) -> tuple[dict[str, Any], ToolResult | None]:
    if request.arguments or not request.raw_arguments.strip():
        return dict(request.arguments), None
    # The LLM client could not parse what the model wrote; try once more, else refuse.
    try:
        parsed = json.loads(request.raw_arguments)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed, None
    return {}, ToolResult.invalid(
        "arguments_not_json", "Sorry, I didn't catch that. Could you say it again?"
    )


def _remember_secrets(ctx: CallContext, arguments: Mapping[str, Any]) -> None:
    for key, value in arguments.items():
        if is_secret_key(key) and isinstance(value, str | int) and str(value).strip():
            ctx.secrets_seen.add(str(value).strip())
            if digits := extract_digits(str(value)):
                ctx.secrets_seen.add(digits)


def coerce(arguments: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Forgive the small model's type slips ("50" for 50, 1001 for "1001", null for
    absent) before validating; the values themselves are still checked strictly."""
    properties = schema.get("properties", {})
    out: dict[str, Any] = {}
    for key, value in arguments.items():
        kind = properties.get(key, {}).get("type") if isinstance(properties, Mapping) else None
        if value is None and key not in schema.get("required", ()):
            continue
        if kind in ("number", "integer") and isinstance(value, str):
            value = _number(value, kind)
        elif kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        elif kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        out[key] = value
    return out


def _number(text: str, kind: str) -> Any:
    try:
        number = Decimal(text.strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        return text  # left for the schema to reject
    if not number.is_finite():
        return text
    if kind == "integer":
        return int(number) if number == number.to_integral_value() else text
    return float(number)


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error.path) or "arguments"
    # The validator's message quotes the value; name the rule instead of echoing it.
    return f"{where}: fails '{error.validator}'"
