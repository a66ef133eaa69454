"""Render OpenAI-format messages and tools with a model's own Jinja chat template.

The embedded engine renders the prompt text itself (instead of llama-cpp-python's chat
handlers) so that the same history always yields the same text: llama.cpp can then
reuse the KV cache for the common prefix of consecutive turns. Rendering follows
Hugging Face's conventions (sandboxed Jinja, ``tojson`` without key sorting or HTML
escaping), which is what the template was written for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from callcenter.llm.base import Message, ToolSchema


def _tojson(
    value: Any,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
    ensure_ascii: bool = False,
) -> str:
    # Jinja's own tojson sorts keys and escapes <>&' for HTML; the model was trained on
    # the transformers rendering, which does neither.
    return json.dumps(
        value,
        indent=indent,
        separators=separators,
        sort_keys=sort_keys,
        ensure_ascii=ensure_ascii,
    )


def _raise(message: str) -> None:
    raise TemplateError(message)


def _arguments(value: Any) -> Any:
    """OpenAI sends tool-call arguments as a JSON string; the template wants an object."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def normalise_message(message: Message) -> dict[str, Any]:
    out = dict(message)
    content = out.get("content")
    if content is None:
        out["content"] = ""
    elif isinstance(content, list):  # OpenAI content parts
        out["content"] = "".join(
            part.get("text", "") for part in content if isinstance(part, Mapping)
        )
    elif not isinstance(content, str):
        out["content"] = json.dumps(content, ensure_ascii=False)
    if out.get("tool_calls"):
        calls = []
        for call in out["tool_calls"]:
            call = dict(call)
            if isinstance(call.get("function"), Mapping):
                function = dict(call["function"])
                function["arguments"] = _arguments(function.get("arguments", {}))
                call["function"] = function
            calls.append(call)
        out["tool_calls"] = calls
    return out


class ChatTemplate:
    def __init__(self, source: str, *, bos_token: str = "", eos_token: str = "") -> None:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.filters["tojson"] = _tojson
        env.globals["raise_exception"] = _raise
        self._template = env.from_string(source)
        self._bos, self._eos = bos_token, eos_token

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        add_generation_prompt: bool = True,
    ) -> str:
        return self._template.render(
            messages=[normalise_message(message) for message in messages],
            tools=[dict(tool) for tool in tools] or None,
            add_generation_prompt=add_generation_prompt,
            bos_token=self._bos,
            eos_token=self._eos,
        )
