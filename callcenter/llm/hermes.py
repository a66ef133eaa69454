"""Incremental parser for Hermes-style tool calls in streamed model text.

Qwen2.5 (and vLLM's ``hermes`` tool parser) write a tool call as::

    <tool_call>
    {"name": "verify_identity", "arguments": {"account_number": "1001"}}
    </tool_call>

The parser forwards plain text the moment it is safe to speak, holds back only a tail
that could still become ``<tool_call>`` (so the TTS never says "less-than tool call"),
and emits a :class:`ToolCallRequest` when a call closes. Small models write sloppy
calls, so the body is parsed leniently: single quotes, a missing ``arguments``, an
``arguments`` given as a JSON string, or a call left unclosed at the end of the reply.
A body that cannot be understood still yields a request (``arguments={}``, the raw body
kept) so the tool layer can refuse it and the audit log shows what the model wrote.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from typing import Any

from callcenter.llm.base import TextDelta, ToolCallRequest

OPEN_TAG = "<tool_call>"
CLOSE_TAG = "</tool_call>"

HermesEvent = TextDelta | ToolCallRequest

_NAME_RE = re.compile(r"""["']name["']\s*:\s*["']([^"']+)["']""")
# Some models wrap the JSON in a code fence inside the tags.
_FENCE_RE = re.compile(r"^```(?:json)?\s*|\s*```$")


def _held_back_length(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def _loads_lenient(text: str) -> Any:
    """JSON first; then Python-literal syntax (single quotes, True/None) as small models write."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    # JSON-ish with single quotes but JSON literals (true/false/null).
    swapped = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", text))
    swapped = re.sub(r"\bnull\b", "None", swapped)
    try:
        return ast.literal_eval(swapped)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def parse_tool_call_body(body: str, call_id: str) -> ToolCallRequest:
    """Turn the text between the tags into a request, as leniently as is safe."""
    raw = _FENCE_RE.sub("", body.strip())
    data = _loads_lenient(raw)
    if not isinstance(data, dict):
        match = _NAME_RE.search(raw)
        return ToolCallRequest(
            id=call_id, name=match.group(1) if match else "", arguments={}, raw_arguments=raw
        )
    # {"function": {...}} and {"type": "function", "function": {...}} appear in the wild too.
    if isinstance(data.get("function"), dict):
        data = data["function"]
    name = data.get("name")
    name = name if isinstance(name, str) else ""
    arguments: Any = data.get("arguments", data.get("parameters", {}))
    raw_arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
    if isinstance(arguments, str):
        arguments = _loads_lenient(arguments) if arguments.strip() else {}
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return ToolCallRequest(id=call_id, name=name, arguments={}, raw_arguments=raw_arguments)
    return ToolCallRequest(id=call_id, name=name, arguments=arguments, raw_arguments=raw_arguments)


class HermesStreamParser:
    """Feed text pieces as they stream; get text deltas and complete tool calls back.

    ``id_prefix`` makes call ids deterministic for tests; by default each parser gets a
    random one so ids are unique across turns of a call.
    """

    def __init__(self, id_prefix: str | None = None) -> None:
        self._id_prefix = id_prefix if id_prefix is not None else uuid.uuid4().hex[:12]
        self._buffer = ""
        self._in_call = False
        self._calls = 0

    @property
    def tool_calls_seen(self) -> int:
        return self._calls

    def _next_id(self) -> str:
        self._calls += 1
        return f"call_{self._id_prefix}_{self._calls}"

    def feed(self, piece: str) -> list[HermesEvent]:
        self._buffer += piece
        events: list[HermesEvent] = []
        while True:
            if self._in_call:
                end = self._buffer.find(CLOSE_TAG)
                if end < 0:
                    return events
                body = self._buffer[:end]
                self._buffer = self._buffer[end + len(CLOSE_TAG) :]
                self._in_call = False
                events.append(parse_tool_call_body(body, self._next_id()))
                continue
            start = self._buffer.find(OPEN_TAG)
            if start >= 0:
                if start > 0:
                    events.append(TextDelta(self._buffer[:start]))
                self._buffer = self._buffer[start + len(OPEN_TAG) :]
                self._in_call = True
                continue
            keep = _held_back_length(self._buffer, OPEN_TAG)
            safe = self._buffer[: len(self._buffer) - keep]
            if safe:
                events.append(TextDelta(safe))
            self._buffer = self._buffer[len(safe) :]
            return events

    def finish(self) -> list[HermesEvent]:
        """End of the reply: flush held-back text; an unclosed call is parsed as it stands."""
        rest, self._buffer = self._buffer, ""
        if self._in_call:
            self._in_call = False
            # A stray close tag without an opener is not text worth speaking either.
            if rest.strip():
                return [parse_tool_call_body(rest, self._next_id())]
            return []
        return [TextDelta(rest)] if rest else []
