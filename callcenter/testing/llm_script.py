"""The script a :class:`~callcenter.testing.scripted_llm.ScriptedLLMServer` answers from.

A script is an ordered list of rules. Each request is matched against the content of
its LAST user or tool message (a regex search, case-insensitive, ``.`` matches
newlines); the first rule that matches (and still has uses left) gives the reply:
text, tool calls, or both. If none matches, the fallback answers.

JSON form (for ``python -m callcenter.testing.scripted_llm --script FILE``)::

    {"token_delay_s": 0.02,
     "rules": [
       {"match": "account .*\\\\d+", "role": "user",
        "tool_calls": [{"name": "verify_identity",
                        "arguments": {"account_number": "1001", "pin": "4321"}}]},
       {"match": "\\"verified\\": ?true", "role": "tool", "reply": "Thanks, you're verified."}
     ],
     "fallback": {"reply": "Sorry, could you say that again?"}}
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DEFAULT_FALLBACK_REPLY = "Sorry, could you say that again?"


@dataclass(frozen=True)
class ScriptedToolCall:
    name: str
    # A dict is sent as JSON; a str is sent verbatim (use it to send invalid JSON).
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class Rule:
    match: str = ""  # regex searched in the last user/tool message; "" matches anything
    reply: str = ""
    tool_calls: Sequence[ScriptedToolCall] = ()
    role: Literal["user", "tool"] | None = None  # only match when the last such message has it
    times: int | None = None  # fire at most this many times, then let later rules answer
    token_delay_s: float | None = None  # overrides the server's delay between chunks
    stall_s: float = 0.0  # wait this long before the first chunk (slow or hung server)
    status: int = 200  # answer with this HTTP error instead of a completion
    finish_reason: str | None = None  # default: "tool_calls" if any, else "stop"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        calls = tuple(
            ScriptedToolCall(
                name=call["name"], arguments=call.get("arguments", {}), id=call.get("id")
            )
            for call in data.get("tool_calls", ())
        )
        known = {name for name in cls.__dataclass_fields__ if name != "tool_calls"}
        unknown = set(data) - known - {"tool_calls"}
        if unknown:
            raise ValueError(f"unknown rule field(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(tool_calls=calls, **{key: data[key] for key in data if key in known})


def message_text(message: Mapping[str, Any]) -> str:
    """Content as text; OpenAI also allows a list of ``{"type": "text", "text": ...}`` parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, Mapping))
    return ""


def last_turn(messages: Sequence[Mapping[str, Any]]) -> tuple[str | None, str]:
    """(role, text) of the last user or tool message: what the model is answering."""
    for message in reversed(messages):
        if message.get("role") in ("user", "tool"):
            return str(message["role"]), message_text(message)
    return None, ""


class Script:
    """Ordered rules plus a fallback; counts uses so ``times`` works. Thread-safe."""

    def __init__(
        self,
        rules: Sequence[Rule],
        *,
        fallback: Rule | None = None,
        token_delay_s: float = 0.0,
    ) -> None:
        self.rules = tuple(rules)
        self.fallback = fallback or Rule(reply=DEFAULT_FALLBACK_REPLY)
        self.token_delay_s = token_delay_s
        self._patterns = [re.compile(rule.match, re.IGNORECASE | re.DOTALL) for rule in rules]
        self._uses = [0] * len(self.rules)
        self._lock = threading.Lock()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Script:
        fallback = data.get("fallback")
        return cls(
            [Rule.from_dict(rule) for rule in data.get("rules", ())],
            fallback=Rule.from_dict(fallback) if fallback else None,
            token_delay_s=float(data.get("token_delay_s", 0.0)),
        )

    def choose(self, messages: Sequence[Mapping[str, Any]]) -> tuple[int | None, Rule]:
        """(index of the rule that answers or None for the fallback, the rule)."""
        role, text = last_turn(messages)
        with self._lock:
            for index, (rule, pattern) in enumerate(zip(self.rules, self._patterns, strict=True)):
                if rule.role is not None and rule.role != role:
                    continue
                if rule.times is not None and self._uses[index] >= rule.times:
                    continue
                if pattern.search(text):
                    self._uses[index] += 1
                    return index, rule
        return None, self.fallback


def load_script(path: str | Path) -> Script:
    return Script.from_dict(json.loads(Path(path).read_text()))
