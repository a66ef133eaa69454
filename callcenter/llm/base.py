"""The language-model stage: one protocol that streams text deltas and tool calls.

Messages and tool schemas use the OpenAI chat format (role/content dicts and
``{"type": "function", "function": {...}}`` tools), which vLLM serves natively and the
embedded engine renders through the model's own chat template.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from jsonschema import Draft202012Validator

Message = Mapping[str, Any]
ToolSchema = Mapping[str, Any]


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallStarting:
    """The model has begun writing a tool call (its arguments are still coming).

    Lets the dialogue say a short filler ("One moment.") instead of dead air while the
    call is generated and run.
    """


@dataclass(frozen=True)
class ToolCallRequest:
    id: str
    name: str
    arguments: dict[str, Any]
    # The arguments as the model produced them (for audit when they fail to parse).
    raw_arguments: str = ""


@dataclass(frozen=True)
class StreamEnd:
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    timings: dict[str, float] = field(default_factory=dict)


ChatEvent = TextDelta | ToolCallStarting | ToolCallRequest | StreamEnd


class LLMUnavailable(RuntimeError):
    """The model could not produce a reply: server down, timed out, refused, or failed.

    The call session treats it as one failure mode (apologise, retry or hand off);
    the message says which and where.
    """


class ChatModel(Protocol):
    def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        session_key: str | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Stream one assistant reply. Closing the iterator early stops generation.

        ``session_key`` identifies the conversation so an engine can keep per-call state
        (e.g. llama.cpp's KV cache of the prompt prefix).
        """
        ...

    async def complete_json(
        self,
        messages: Sequence[Message],
        schema: Mapping[str, Any],
        *,
        session_key: str | None = None,
        max_tokens: int = 64,
    ) -> dict[str, Any]:
        """One reply constrained to JSON matching ``schema`` (llama.cpp grammar, vLLM
        structured output), parsed. Raises :class:`LLMUnavailable` when none comes."""
        ...

    async def warm(
        self, messages: Sequence[Message], tools: Sequence[ToolSchema] = (), *, session_key: str
    ) -> None:
        """Pre-compute the prompt prefix (while the greeting plays) so the first turn is fast."""
        ...

    def forget(self, session_key: str) -> None:
        """The call ended: drop any per-call state kept under ``session_key``."""
        ...

    async def close(self) -> None: ...


def parse_json_reply(text: str, schema: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """A constrained reply as a dict, checked against its schema once more (a server that
    ignored the constraint must not hand the dialogue a malformed intent)."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise LLMUnavailable(
            f"{where} returned no JSON for a structured reply: {text[:80]!r}"
        ) from error
    if not isinstance(data, dict):
        raise LLMUnavailable(f"{where} returned {type(data).__name__}, not an object")
    problems = list(Draft202012Validator(dict(schema)).iter_errors(data))
    if problems:
        raise LLMUnavailable(f"{where} returned JSON outside the schema: {problems[0].message}")
    return data
