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
import enum
import json
import re
import uuid
from typing import Any

from callcenter.llm.base import TextDelta, ToolCallRequest, ToolCallStarting

OPEN_TAG = "<tool_call>"
CLOSE_TAG = "</tool_call>"

HermesEvent = TextDelta | ToolCallStarting | ToolCallRequest

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


def _json_object_end(text: str) -> int | None:
    """End index of the balanced ``{...}`` that ``text`` starts with (quote-aware), if closed."""
    depth, quote, escaped = 0, "", False
    for index, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _bare_call(body: str, call_id: str) -> ToolCallRequest | None:
    """A call written without tags, or None when the text is not one."""
    call = parse_tool_call_body(body, call_id)
    return call if call.name else None


class _Mode(enum.Enum):
    START = "start"  # nothing but whitespace yet, in this reply or since the last call
    TEXT = "text"
    TAGGED = "tagged"  # inside <tool_call>...</tool_call>
    BARE_JSON = "bare_json"  # a reply that opens with "{": small models drop the tags
    BARE_FENCE = "bare_fence"  # ...or wrap the call in a ```json fence


class HermesStreamParser:
    """Feed text pieces as they stream; get text deltas and complete tool calls back.

    Besides tagged calls it recognises the untagged forms Qwen 0.5B writes: a reply (or
    the part after a call) that opens with a JSON object or a code fence is held until
    it closes and becomes a call if it names a function; otherwise it is text.
    ``id_prefix`` makes call ids deterministic for tests; by default each parser gets a
    random one so ids are unique across turns of a call.
    """

    def __init__(self, id_prefix: str | None = None) -> None:
        self._id_prefix = id_prefix if id_prefix is not None else uuid.uuid4().hex[:12]
        self._buffer = ""
        self._mode = _Mode.START
        self._calls = 0

    @property
    def tool_calls_seen(self) -> int:
        return self._calls

    def _next_id(self) -> str:
        self._calls += 1
        return f"call_{self._id_prefix}_{self._calls}"

    def _call_or_text(self, body: str, events: list[HermesEvent]) -> None:
        call = _bare_call(body, f"call_{self._id_prefix}_{self._calls + 1}")
        if call is None:
            events.append(TextDelta(body))
            self._mode = _Mode.TEXT
        else:
            self._calls += 1
            events.append(call)
            self._mode = _Mode.START

    def feed(self, piece: str) -> list[HermesEvent]:
        self._buffer += piece
        events: list[HermesEvent] = []
        while self._step(events):
            pass
        return events

    def _step(self, events: list[HermesEvent]) -> bool:
        """Consume what can be decided now; True if another step may make progress."""
        buffer = self._buffer
        if self._mode is _Mode.START:
            head = buffer.lstrip()
            if not head:
                return False
            if head.startswith(OPEN_TAG):
                self._buffer, self._mode = head[len(OPEN_TAG) :], _Mode.TAGGED
                events.append(ToolCallStarting())
            elif OPEN_TAG.startswith(head) or "```".startswith(head):
                return False  # too early to tell
            elif head.startswith("{"):
                self._mode = _Mode.BARE_JSON  # whitespace kept: spoken if it is no call
                events.append(ToolCallStarting())
            elif head.startswith("```"):
                self._mode = _Mode.BARE_FENCE
                events.append(ToolCallStarting())
            else:
                self._mode = _Mode.TEXT  # the whitespace is spoken text too
            return True
        if self._mode is _Mode.TAGGED:
            end = buffer.find(CLOSE_TAG)
            if end < 0:
                return False
            self._buffer, self._mode = buffer[end + len(CLOSE_TAG) :], _Mode.START
            events.append(parse_tool_call_body(buffer[:end], self._next_id()))
            return True
        indent = len(buffer) - len(buffer.lstrip())
        if self._mode is _Mode.BARE_JSON:
            closed = _json_object_end(buffer[indent:])
            if closed is None:
                return False
            self._buffer = buffer[indent + closed :]
            self._call_or_text(buffer[: indent + closed], events)
            return True
        if self._mode is _Mode.BARE_FENCE:
            end = buffer.find("```", indent + 3)
            if end < 0:
                return False
            self._buffer = buffer[end + 3 :]
            self._call_or_text(buffer[: end + 3], events)
            return True
        start = buffer.find(OPEN_TAG)
        if start >= 0:
            if start > 0:
                events.append(TextDelta(buffer[:start]))
            self._buffer, self._mode = buffer[start + len(OPEN_TAG) :], _Mode.TAGGED
            events.append(ToolCallStarting())
            return True
        keep = _held_back_length(buffer, OPEN_TAG)
        safe = buffer[: len(buffer) - keep]
        if safe:
            events.append(TextDelta(safe))
        self._buffer = buffer[len(safe) :]
        return False

    def finish(self) -> list[HermesEvent]:
        """End of the reply: flush held-back text; an unclosed call is parsed as it stands."""
        rest, mode = self._buffer, self._mode
        self._buffer, self._mode = "", _Mode.START
        events: list[HermesEvent] = []
        if mode is _Mode.TAGGED:
            if rest.strip():  # an opener and nothing after it is not worth speaking
                events.append(parse_tool_call_body(rest, self._next_id()))
        elif mode in (_Mode.BARE_JSON, _Mode.BARE_FENCE):
            self._call_or_text(rest, events)
        elif rest.strip() or (mode is _Mode.TEXT and rest):
            events.append(TextDelta(rest))
        return events
