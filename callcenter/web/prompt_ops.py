"""Prompt editing as the consoles and the API do it: validate, version, publish, diff, audit."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from string import Template
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.scenarios.target import Target
from callcenter.store import audit
from callcenter.store import prompts as prompt_store
from callcenter.store.models import PromptVersion, User, VersionStatus
from callcenter.text.glossary import PROMPT_NAME as GLOSSARY_PROMPT
from callcenter.text.glossary import GlossaryError, parse_glossary
from callcenter.web.errors import Conflict, Invalid, NotFound
from callcenter.web.suite_ops import check_publish

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


# A knowledge-base article an admin adds: kb_ and a short lower-case name ("kb_parking").
ARTICLE_NAME = re.compile(r"[a-z][a-z0-9_]{1,39}")


def prompt_names(session: Session | None = None) -> list[str]:
    """The shipped prompts, then the knowledge-base articles admins added."""
    names = list(prompt_store.PROMPT_FILES)
    if session is not None:
        names += sorted(set(prompt_store.added_article_names(session)) - set(names))
    return names


def is_article(name: str) -> bool:
    """A well-formed knowledge-base article name (shipped or added)."""
    slug = name.removeprefix(prompt_store.KNOWLEDGE_PREFIX)
    return name.startswith(prompt_store.KNOWLEDGE_PREFIX) and bool(ARTICLE_NAME.fullmatch(slug))


def check_name(name: str, session: Session | None = None) -> None:
    """A shipped prompt, or (with ``session``) an article an admin added."""
    if name in prompt_store.PROMPT_FILES:
        return
    if session is not None and is_article(name) and prompt_store.list_versions(session, name):
        return
    raise NotFound(f"no prompt named {name!r}")


def create_article(session: Session, actor: User, slug: str, body: str) -> PromptVersion:
    """A new knowledge-base article ``kb_<slug>``: version 1, a draft until published."""
    slug = slug.strip().lower().removeprefix(prompt_store.KNOWLEDGE_PREFIX)
    if not ARTICLE_NAME.fullmatch(slug):
        raise Invalid(
            "name: 2 to 40 characters, lower-case letters, digits and _, starting with a letter"
        )
    name = f"{prompt_store.KNOWLEDGE_PREFIX}{slug}"
    if name in prompt_store.PROMPT_FILES or prompt_store.list_versions(session, name):
        raise Conflict(f"an article named {name!r} already exists: edit it instead")
    draft = prompt_store.create_draft(session, name, validate_body(name, body), actor.id)
    audit.record(
        session,
        actor=actor,
        action="prompt.create",
        target_type="prompt",
        target_id=name,
        details={"version": draft.version, "chars": len(draft.body)},
    )
    return draft


def original_of(session: Session, name: str) -> tuple[str, str] | None:
    """For a translation ("greeting.es"): the default-language prompt's name and published
    body, shown beside it in the editor; None for a default-language prompt."""
    base, dot, _language = name.rpartition(".")
    if not dot or base not in prompt_store.PROMPT_FILES:
        return None
    published = prompt_store.published_prompts(session).get(base)
    if published is not None:
        return base, published.body
    return base, prompt_store.default_prompt_bodies().get(base, "")


def overview(session: Session) -> list[PromptSummary]:
    out = []
    for name in prompt_names(session):
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
    check_name(name, session)
    return prompt_store.list_versions(session, name)


def get_version(session: Session, name: str, version: int) -> PromptVersion:
    check_name(name, session)
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
    elif name == GLOSSARY_PROMPT:
        try:
            parse_glossary(body, strict=True)
        except GlossaryError as error:
            raise Invalid(f"body: {error}") from None
    elif not Template(body).is_valid():
        raise Invalid("body: a '$' must start ${name} (write $$ for a literal dollar sign)")
    return body


def save_draft(session: Session, actor: User, name: str, body: str) -> PromptVersion:
    check_name(name, session)
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


def publish(
    session: Session,
    actor: User,
    name: str,
    version: int,
    *,
    override_reason: str | None = None,
) -> tuple[PromptVersion, str]:
    """Publish ``version``. Publishing one older than the live one is a rollback. A draft
    must have passed the required scenario suites, or come with an override reason."""
    row = get_version(session, name, version)
    check_publish(session, actor, Target("prompt", name, version), row.status, override_reason)
    live = prompt_store.published_prompts(session).get(name)
    previous = live.version if live is not None else None
    action = "prompt.rollback" if previous is not None and version < previous else "prompt.publish"
    prompt_store.publish(session, row.id)
    row.published_by = actor.id
    session.flush()
    details: dict[str, Any] = {"version": version, "previous_version": previous}
    if override_reason and override_reason.strip():
        details["override_reason"] = override_reason.strip()
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="prompt",
        target_id=name,
        details=details,
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
    if name not in prompt_store.PROMPT_FILES and not is_article(name):
        raise NotFound(f"no prompt named {name!r}")
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
