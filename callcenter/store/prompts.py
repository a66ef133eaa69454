"""Versioned prompts: seeded from prompts/ as version 1, then edited as drafts and published."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from callcenter.store.models import PromptVersion, VersionStatus

DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
PROMPT_FILES = {
    "system": "system.txt",
    "greeting": "greeting.txt",
    "reprompt": "reprompt.txt",
    "goodbye": "goodbye.txt",
    "silence_goodbye": "silence_goodbye.txt",
    # Said when the caller stops mid-sentence and stays silent (turn_prompt_after_ms).
    "take_your_time": "take_your_time.txt",
    "handoff_line": "handoff_line.txt",
    # A multilingual greeting's keypad offer, one per language ("Para español, pulse 2").
    "language_offer": "language_offer.txt",
    "filler": "filler.txt",
    "backchannel": "backchannel.txt",
    "handoff_summary": "handoff_summary.txt",
    "variables": "variables.json",
    # What the task flows say (one "key: text" per line).
    "flow_lines": "flow_lines.txt",
    # Softer variants of key flow lines, said to a caller who sounds frustrated.
    "flow_lines_soft": "flow_lines_soft.txt",
    # Slower, louder, repeat, the keypad, returning callers; keypad variants of flow lines.
    "caller_lines": "caller_lines.txt",
    # The deployment's names (products, streets, towns, plans) and how they are misheard.
    "glossary": "glossary.txt",
}
# Knowledge-base articles: versioned like every prompt, one per file under knowledge/,
# named kb_<file stem>. Open questions are answered only from these.
KNOWLEDGE_PREFIX = "kb_"
PROMPT_FILES.update(
    {
        f"{KNOWLEDGE_PREFIX}{path.stem}": f"knowledge/{path.name}"
        for path in sorted((DEFAULT_PROMPTS_DIR / "knowledge").glob("*.md"))
    }
)

# Translations: prompts/<language>/ holds the same files for another language, versioned
# as "<name>.<language>" ("flow_lines.es", "greeting.de", "kb_cards.es"); a call in that
# language uses them, and anything not translated falls back to the default language.
LANGUAGE_DIRS = sorted(
    path.name for path in DEFAULT_PROMPTS_DIR.iterdir() if path.is_dir() and len(path.name) == 2
)
for _language in LANGUAGE_DIRS:
    for _name, _filename in list(PROMPT_FILES.items()):
        if "." in _name:
            continue
        _translated = DEFAULT_PROMPTS_DIR / _language / _filename
        if _translated.is_file():
            PROMPT_FILES[f"{_name}.{_language}"] = f"{_language}/{_filename}"


def default_prompt_bodies(directory: Path = DEFAULT_PROMPTS_DIR) -> dict[str, str]:
    return {
        name: (directory / filename).read_text(encoding="utf-8").strip()
        for name, filename in PROMPT_FILES.items()
        if (directory / filename).is_file()
    }


def seed_default_prompts(session: Session, directory: Path = DEFAULT_PROMPTS_DIR) -> int:
    """Publish version 1 of every prompt that has no version yet. Returns how many."""
    existing = set(session.scalars(select(PromptVersion.name).distinct()))
    added = 0
    now = datetime.now(UTC)
    for name, body in default_prompt_bodies(directory).items():
        if name in existing:
            continue
        session.add(
            PromptVersion(
                name=name, version=1, body=body, status=VersionStatus.published, published_at=now
            )
        )
        added += 1
    session.flush()
    return added


def added_article_names(session: Session) -> list[str]:
    """Knowledge-base articles that exist only in the store (admins added them)."""
    rows = session.scalars(
        select(PromptVersion.name)
        .where(PromptVersion.name.startswith(KNOWLEDGE_PREFIX, autoescape=True))
        .distinct()
    )
    return sorted(name for name in rows if name not in PROMPT_FILES)


def published_prompts(session: Session) -> dict[str, PromptVersion]:
    rows = session.scalars(
        select(PromptVersion).where(PromptVersion.status == VersionStatus.published)
    )
    return {row.name: row for row in rows}


def list_versions(session: Session, name: str) -> list[PromptVersion]:
    return list(
        session.scalars(
            select(PromptVersion)
            .where(PromptVersion.name == name)
            .order_by(PromptVersion.version.desc())
        )
    )


def create_draft(session: Session, name: str, body: str, user_id: int | None) -> PromptVersion:
    latest = session.scalar(
        select(func.max(PromptVersion.version)).where(PromptVersion.name == name)
    )
    draft = PromptVersion(
        name=name,
        version=(latest or 0) + 1,
        body=body,
        status=VersionStatus.draft,
        created_by=user_id,
    )
    session.add(draft)
    session.flush()
    return draft


def publish(session: Session, version_id: int) -> PromptVersion:
    """Make one version the published one; the previously published is archived."""
    row = session.get(PromptVersion, version_id)
    if row is None:
        raise LookupError(f"prompt version {version_id} does not exist")
    session.execute(
        update(PromptVersion)
        .where(PromptVersion.name == row.name, PromptVersion.status == VersionStatus.published)
        .values(status=VersionStatus.archived)
    )
    row.status = VersionStatus.published
    row.published_at = datetime.now(UTC)
    session.flush()
    return row
