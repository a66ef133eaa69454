"""Flow lines: what the flows say, from the versioned ``flow_lines`` prompt.

The prompt holds one ``key: text`` line per thing said; admins edit and publish it like any
prompt, and a call keeps the version it started with. A key missing from an edited
version falls back to the shipped default, so a careless edit cannot silence a flow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from string import Template

from callcenter.dialogue.prompts import PromptSet
from callcenter.store.prompts import default_prompt_bodies

PROMPT_NAME = "flow_lines"
# Softer variants of some lines, said once the caller sounds frustrated (same keys).
SOFT_PROMPT_NAME = "flow_lines_soft"
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")


def _placeholders(text: str) -> set[str]:
    return {m.group(1) or m.group(2) for m in re.finditer(r"\$(?:\{(\w+)\}|(\w+))", text)}


def parse_lines(body: str) -> dict[str, str]:
    lines: dict[str, str] = {}
    for raw in body.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, text = line.split(":", 1)
        lines[key.strip()] = text.strip()
    return lines


class FlowLines:
    def __init__(self, prompts: PromptSet) -> None:
        defaults = parse_lines(default_prompt_bodies().get(PROMPT_NAME, ""))
        self._lines = {**defaults, **parse_lines(prompts.bodies.get(PROMPT_NAME, ""))}
        soft = parse_lines(default_prompt_bodies().get(SOFT_PROMPT_NAME, ""))
        self._soft = {**soft, **parse_lines(prompts.bodies.get(SOFT_PROMPT_NAME, ""))}
        self._softened: Callable[[], bool] = lambda: False
        self._variables = dict(prompts.variables)

    def soft_when(self, softened: Callable[[], bool]) -> None:
        """Say the soft variant of a line (where there is one) while ``softened()``."""
        self._softened = softened

    def _line(self, key: str) -> str:
        if key in self._soft and self._softened():
            return self._soft[key]
        return self._lines.get(key, "")

    def has(self, key: str) -> bool:
        return key in self._lines

    def render_parts(self, key: str, **values: object) -> list[tuple[str, bool]]:
        """The line sentence by sentence, each with whether it is fixed (holds no slot or
        tool value, so its audio can be replayed from the phrase cache)."""
        parts: list[tuple[str, bool]] = []
        for sentence in SENTENCE_BREAK.split(self._line(key).strip()):
            if not sentence:
                continue
            fixed = not (_placeholders(sentence) - set(self._variables))
            text = self._render(sentence, values)
            if text:
                parts.append((text, fixed))
        return parts

    def fixed_sentences(self, keys: Iterable[str] | None = None) -> list[str]:
        """Every fixed sentence of the given lines (default: all lines but the task
        names), to synthesise ahead of the call that says them."""
        chosen = [k for k in self._lines if not k.startswith("task_")] if keys is None else keys
        return [text for key in chosen for text, fixed in self.render_parts(key) if fixed]

    def _render(self, text: str, values: dict[str, object]) -> str:
        merged = {**self._variables, **{k: str(v) for k, v in values.items()}}
        return Template(text).safe_substitute(merged).strip()

    def render(self, key: str, **values: object) -> str:
        text = self._line(key)
        merged = {**self._variables, **{k: str(v) for k, v in values.items()}}
        # safe_substitute: a typo in an admin's line must not break a live call.
        return Template(text).safe_substitute(merged).strip()
