"""What a scenario runs against: the published prompts and tools, or them with one draft.

A target is written ``published``, ``prompt:<name>:<version>`` (a prompt, the flow lines
or a knowledge-base article) or ``tool:<name>:<version>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.dialogue.prompts import PromptSet, load_prompt_set, parse_variables
from callcenter.store.models import PromptVersion, ToolDefinition
from callcenter.store.prompts import PROMPT_FILES
from callcenter.tools.registry import ToolSet, load_toolset, published_definitions

TargetKind = Literal["published", "prompt", "tool"]


class TargetError(LookupError):
    """A target that names no stored version; the message says which."""


@dataclass(frozen=True)
class Target:
    kind: TargetKind = "published"
    name: str = ""
    version: int | None = None

    @classmethod
    def parse(cls, spec: str) -> Target:
        spec = spec.strip()
        if spec in ("", "published"):
            return cls()
        kind, _, rest = spec.partition(":")
        name, _, version = rest.rpartition(":")
        if kind not in ("prompt", "tool") or not name or not version.isdigit():
            raise TargetError(
                f"target {spec!r}: write published, prompt:<name>:<version> or "
                "tool:<name>:<version>"
            )
        return cls(kind, name, int(version))  # type: ignore[arg-type]

    @property
    def spec(self) -> str:
        return (
            "published" if self.kind == "published" else f"{self.kind}:{self.name}:{self.version}"
        )

    @property
    def label(self) -> str:
        if self.kind == "published":
            return "the published prompts and tools"
        return f"{self.kind} {self.name} v{self.version}"


def resolve(session: Session, target: Target) -> tuple[PromptSet, ToolSet]:
    """The prompts and tools a call would use if ``target``'s draft were published."""
    prompts = load_prompt_set(session)
    if target.kind == "prompt":
        if target.name not in PROMPT_FILES:
            raise TargetError(f"no prompt named {target.name!r}")
        row = session.scalar(
            select(PromptVersion).where(
                PromptVersion.name == target.name, PromptVersion.version == target.version
            )
        )
        if row is None:
            raise TargetError(f"prompt {target.name} has no version {target.version}")
        if target.name == "variables":
            prompts = PromptSet(prompts.bodies, parse_variables(row.body), prompts.version_ids)
        else:
            bodies = prompts.bodies | {target.name: row.body}
            prompts = PromptSet(
                bodies, prompts.variables, prompts.version_ids | {target.name: row.id}
            )
    rows = published_definitions(session)
    if target.kind == "tool":
        draft = session.scalar(
            select(ToolDefinition).where(
                ToolDefinition.name == target.name, ToolDefinition.version == target.version
            )
        )
        if draft is None:
            raise TargetError(f"tool {target.name} has no version {target.version}")
        rows = [row for row in rows if row.name != target.name] + [draft]
    return prompts, load_toolset(rows=rows)
