"""The shapes every tool shares: its spec, what a run sees, what it returns.

A tool (built-in now, admin-defined HTTP later) is a :class:`ToolSpec` whose handler
takes a :class:`ToolRun` and returns a :class:`ToolResult`. The executor wraps every
handler in the same steps (validation, policy, audit), so a new kind of tool only
needs a handler.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from callcenter.settings import Settings
from callcenter.store.models import ToolStatus
from callcenter.tools.context import CallContext

Action = Literal["continue", "transfer", "end_call"]


@dataclass(frozen=True)
class ToolCall:
    """One call of a tool, as the dialogue asks for it (the model's arguments, parsed)."""

    id: str
    name: str
    arguments: dict[str, Any]
    # The arguments as the model produced them (for audit when they fail to parse).
    raw_arguments: str = ""


@dataclass(frozen=True)
class ToolResult:
    """What a handler (or a policy check) decided. ``data`` is what the model reads."""

    status: ToolStatus
    data: dict[str, Any]
    action: Action = "continue"
    reason: str | None = None
    # Text the session should speak verbatim (read-backs): the caller must hear what
    # code will execute, not the model's paraphrase of it.
    speak: str | None = None

    @classmethod
    def ok(cls, say: str, **data: Any) -> ToolResult:
        return cls(ToolStatus.ok, {"ok": True, **data, "say": say})

    @classmethod
    def refused(cls, error: str, say: str, **data: Any) -> ToolResult:
        return cls(ToolStatus.refused, {"ok": False, "error": error, **data, "say": say})

    @classmethod
    def invalid(cls, error: str, say: str, **data: Any) -> ToolResult:
        return cls(ToolStatus.invalid, {"ok": False, "error": error, **data, "say": say})


@dataclass(frozen=True)
class ToolRun:
    """Everything a handler may use. The session is inside the executor's transaction."""

    ctx: CallContext
    session: Session
    arguments: dict[str, Any]
    settings: Settings
    spec: ToolSpec
    # Changes to the in-memory call state that must only happen if the transaction
    # commits (otherwise a retried call would find "already done" for a rolled-back write).
    on_commit: list[Callable[[], None]] = field(default_factory=list)


Handler = Callable[[ToolRun], ToolResult]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: Mapping[str, Any]
    handler: Handler
    # Refused until the caller is verified in this call; scoped to that account.
    requires_verification: bool = False
    kind: str = "builtin"
    version: int = 0  # the ToolDefinition version that configured it (0 = code default)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def schema(self) -> dict[str, Any]:
        """The OpenAI-format tool schema the model sees."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


@dataclass(frozen=True)
class ToolOutcome:
    """The result of one tool call, for the call session to act on."""

    tool_call_id: str
    name: str
    status: ToolStatus
    result: dict[str, Any]
    # "transfer": hand the call to a human (reason says why); "end_call": hang up.
    action: Action = "continue"
    reason: str | None = None
    speak: str | None = None
    invocation_id: int | None = None

    @property
    def say(self) -> str:
        return str(self.result.get("say", ""))

    def message(self) -> dict[str, Any]:
        """The ``role: tool`` message to append to the model's history."""
        return {
            "role": "tool",
            "tool_call_id": self.tool_call_id,
            "content": json.dumps(self.result, default=str),
        }
