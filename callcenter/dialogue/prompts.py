"""The prompts one call uses, rendered with their variables.

A call resolves the published versions once when it starts and keeps them, so an admin
publishing a new version changes new calls only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from string import Template

from sqlalchemy.orm import Session

from callcenter.store.models import PromptVersion
from callcenter.store.prompts import default_prompt_bodies, published_prompts
from callcenter.text.words import words


@dataclass(frozen=True)
class PromptSet:
    bodies: dict[str, str]
    variables: dict[str, str] = field(default_factory=dict)
    version_ids: dict[str, int] = field(default_factory=dict)

    def render(self, name: str, **extra: str) -> str:
        body = self.bodies.get(name, "")
        # safe_substitute: a typo in an admin's template must not break a live call.
        return Template(body).safe_substitute({**self.variables, **extra}).strip()


def parse_variables(raw: str) -> dict[str, str]:
    try:
        data = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def load_prompt_set(session: Session, drafts: Sequence[int] = ()) -> PromptSet:
    """Published versions from the store, with the shipped defaults for anything missing.

    ``drafts``: version ids that stand in for the published version of their prompt
    (a test call trying a draft before it is published)."""
    defaults = default_prompt_bodies()
    published = dict(published_prompts(session))
    for version_id in drafts:
        draft = session.get(PromptVersion, version_id)
        if draft is not None:
            published[draft.name] = draft
    bodies = {
        name: published[name].body if name in published else body for name, body in defaults.items()
    }
    for name, row in published.items():
        bodies.setdefault(name, row.body)
    variables = parse_variables(bodies.pop("variables", ""))
    return PromptSet(
        bodies=bodies,
        variables=variables,
        version_ids={name: row.id for name, row in published.items()},
    )


def default_prompt_set() -> PromptSet:
    bodies = default_prompt_bodies()
    return PromptSet(bodies=bodies, variables=parse_variables(bodies.pop("variables", "")))


def backchannel_lines(prompts: PromptSet) -> list[str]:
    """The short acknowledgements, one per line of the "backchannel" prompt."""
    return [line.strip() for line in prompts.render("backchannel").splitlines() if line.strip()]


# Clauses that only acknowledge. After a backchannel the model's own "Sure." would make
# the caller hear "Okay. Sure." before every answer.
_ACKNOWLEDGEMENTS = frozenset(
    ["okay", "ok", "sure", "alright", "all right", "got it", "certainly", "of course",
     "absolutely", "great", "sounds good", "understood", "right", "i see"]
)  # fmt: skip


def is_acknowledgement(clause: str, backchannels: list[str]) -> bool:
    """Whether ``clause`` says nothing but an acknowledgement ("Sure!", "Got it.")."""
    said = " ".join(words(clause))
    return bool(said) and (
        said in _ACKNOWLEDGEMENTS or said in {" ".join(words(line)) for line in backchannels}
    )
