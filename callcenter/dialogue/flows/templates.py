"""Flow lines: what the flows say, from the versioned ``flow_lines`` prompt.

The prompt holds one ``key: text`` line per thing said; admins edit and publish it like any
prompt, and a call keeps the version it started with. A key missing from an edited
version falls back to the shipped default, so a careless edit cannot silence a flow.
"""

from __future__ import annotations

from string import Template

from callcenter.dialogue.prompts import PromptSet
from callcenter.store.prompts import default_prompt_bodies

PROMPT_NAME = "flow_lines"


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
        self._variables = dict(prompts.variables)

    def has(self, key: str) -> bool:
        return key in self._lines

    def render(self, key: str, **values: object) -> str:
        text = self._lines.get(key, "")
        merged = {**self._variables, **{k: str(v) for k, v in values.items()}}
        # safe_substitute: a typo in an admin's line must not break a live call.
        return Template(text).safe_substitute(merged).strip()
