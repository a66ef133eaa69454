"""Prompt editing as the consoles and the API do it: validate, version, publish, diff, audit."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from string import Template
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.store import audit
from callcenter.store import prompts as prompt_store
from callcenter.store.models import PromptVersion, User, VersionStatus
from callcenter.web.errors import Invalid, NotFound

MAX_BODY = 20_000
# Values the call fills in at run time; previews use these so a template renders fully.
RUNTIME_SAMPLES = {
    "reason": "caller asked for a person",
    "verified": "true",
    "transcript": "caller: I lost my card.\nagent: I can help with that.",
    "actions": "verify_identity: verified",
    "destination": "the support queue",
    "caller_name": "Dana",
}


@dataclass(frozen=True)
class PromptSummary:
    name: str
    published: PromptVersion | None
    latest: PromptVersion | None
    drafts: int


def prompt_names() -> list[str]:
    return list(prompt_store.PROMPT_FILES)


def check_name(name: str) -> None:
    if name not in prompt_store.PROMPT_FILES:
        raise NotFound(f"no prompt named {name!r}")


def overview(session: Session) -> list[PromptSummary]:
    out = []
    for name in prompt_names():
        rows = prompt_store.list_versions(session, name)
        out.append(
            PromptSummary(
                name=name,
                published=next((r for r in rows if r.status == VersionStatus.published), None),
                latest=rows[0] if rows else None,
                drafts=sum(1 for r in rows if r.status == VersionStatus.draft),
            )
        )
    return out


def versions(session: Session, name: str) -> list[PromptVersion]:
    check_name(name)
    return prompt_store.list_versions(session, name)


def get_version(session: Session, name: str, version: int) -> PromptVersion:
    check_name(name)
    row = session.scalar(
        select(PromptVersion).where(PromptVersion.name == name, PromptVersion.version == version)
    )
    if row is None:
        raise NotFound(f"{name} has no version {version}")
    return row


def validate_body(name: str, body: str) -> str:
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise Invalid("body: must not be empty")
    if len(body) > MAX_BODY:
        raise Invalid(f"body: at most {MAX_BODY} characters")
    if name == "variables":
        try:
            data = json.loads(body)
        except ValueError as error:
            raise Invalid(f"body: variables must be a JSON object ({error})") from None
        if not isinstance(data, dict):
            raise Invalid("body: variables must be a JSON object")
    elif not Template(body).is_valid():
        raise Invalid("body: a '$' must start ${name} (write $$ for a literal dollar sign)")
    return body


def save_draft(session: Session, actor: User, name: str, body: str) -> PromptVersion:
    check_name(name)
    draft = prompt_store.create_draft(session, name, validate_body(name, body), actor.id)
    audit.record(
        session,
        actor=actor,
        action="prompt.draft",
        target_type="prompt",
        target_id=name,
        details={"version": draft.version, "chars": len(draft.body)},
    )
    return draft


def publish(session: Session, actor: User, name: str, version: int) -> tuple[PromptVersion, str]:
    """Publish ``version``. Publishing one older than the live one is a rollback."""
    row = get_version(session, name, version)
    live = prompt_store.published_prompts(session).get(name)
    previous = live.version if live is not None else None
    action = "prompt.rollback" if previous is not None and version < previous else "prompt.publish"
    prompt_store.publish(session, row.id)
    row.published_by = actor.id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="prompt",
        target_id=name,
        details={"version": version, "previous_version": previous},
    )
    return row, action


def diff(session: Session, name: str, old: int, new: int) -> list[str]:
    """A unified diff of two versions' bodies (every line, so the page shows context)."""
    a, b = get_version(session, name, old), get_version(session, name, new)
    return list(
        difflib.unified_diff(
            a.body.splitlines(),
            b.body.splitlines(),
            fromfile=f"{name} v{old}",
            tofile=f"{name} v{new}",
            lineterm="",
            n=3,
        )
    )


def sample_variables(session: Session) -> dict[str, str]:
    live = prompt_store.published_prompts(session).get("variables")
    try:
        data = json.loads(live.body) if live is not None else {}
    except ValueError:
        data = {}
    values = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return RUNTIME_SAMPLES | values


def preview(name: str, body: str, variables: dict[str, Any]) -> tuple[str, list[str]]:
    """The body rendered as a call would render it, and the placeholders left unfilled."""
    check_name(name)
    if name == "variables":
        return body, []
    template = Template(body)
    values = {str(k): str(v) for k, v in variables.items()}
    missing = sorted(set(template.get_identifiers()) - set(values)) if template.is_valid() else []
    return template.safe_substitute(values).strip(), missing


def parse_variables(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise Invalid(f"variables: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise Invalid("variables: must be a JSON object")
    return data


def version_dict(row: PromptVersion, usernames: dict[int, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "version": row.version,
        "status": row.status.value,
        "body": row.body,
        "created_by": usernames.get(row.created_by) if row.created_by else None,
        "created_at": row.created_at.isoformat(),
        "published_by": usernames.get(row.published_by) if row.published_by else None,
        "published_at": row.published_at.isoformat() if row.published_at else None,
    }


def usernames(session: Session) -> dict[int, str]:
    return {uid: name for uid, name in session.execute(select(User.id, User.username)).tuples()}
