"""Handoff jobs: replace the fallback summary with the LLM-written one, and the
after-commit enqueue helper every job producer uses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.orm import Session, sessionmaker

from callcenter.dialogue.escalation import (
    fallback_summary,
    summarise_with_llm,
    transcript,
)
from callcenter.llm.base import ChatModel
from callcenter.settings import Settings, get_settings
from callcenter.store.db import make_engine, make_session_factory, transaction
from callcenter.store.models import Handoff
from callcenter.tasks.celery_app import app

log = logging.getLogger(__name__)

LLM = "llm"


_PENDING = "callcenter.jobs_after_commit"


def enqueue_after_commit(session: Session, task: Any, *args: Any, **options: Any) -> None:
    """Send ``task(*args)`` once ``session``'s transaction commits; drop it on rollback.

    A job enqueued before commit can run before its row exists (or for a row that was
    rolled back). If the broker is down the job is logged and lost: what it would
    improve (e.g. the fallback summary) is already stored. ``options`` go to
    ``apply_async`` (e.g. ``queue=``).
    """
    jobs: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] | None = session.info.get(_PENDING)
    if jobs is None:
        jobs = session.info[_PENDING] = []
        event.listen(session, "after_commit", _send_pending)
        event.listen(session, "after_soft_rollback", _drop_pending)
    jobs.append((task, args, options))


def _send_pending(session: Session) -> None:
    jobs = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    for task, args, options in jobs:
        try:
            task.apply_async(args=args, **options)
        except Exception:
            log.warning(
                "could not enqueue %s%r; broker unavailable", task.name, args, exc_info=True
            )


def _drop_pending(session: Session, previous: Any) -> None:
    if getattr(previous, "parent", None) is not None:
        return  # a savepoint rolled back; the outer transaction may still commit
    session.info[_PENDING] = []


@lru_cache(maxsize=4)
def _factory(url: str) -> sessionmaker[Session]:
    # One engine per worker process (created after the fork, on first use).
    return make_session_factory(make_engine(url))


def build_chat_model(settings: Settings) -> ChatModel:
    """The configured model, imported lazily: workers that never summarise load nothing."""
    from callcenter.llm import make_chat_model

    return make_chat_model(settings)


def run_summary(
    factory: sessionmaker[Session],
    handoff_id: int,
    model_factory: Callable[[], ChatModel],
) -> str:
    """Summarise one handoff; returns what happened (for logs and tests)."""
    with factory() as session:
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            return "missing"
        if handoff.summary_source == LLM:
            return "already"
        facts = fallback_summary(session, handoff.call_id, handoff.reason)
        lines = transcript(session, handoff.call_id)
    error: str | None
    try:
        summary, error = asyncio.run(_summarise(model_factory, lines, facts))
    except Exception as failure:  # building the model failed
        summary, error = facts, f"{type(failure).__name__}: {str(failure)[:300]}"
    if error is not None:
        log.warning("handoff %s keeps its fallback summary: %s", handoff_id, error)
        stored = facts.model_dump(mode="json") | {"llm_error": error}
        with transaction(factory) as session:
            session.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id, Handoff.summary_source != LLM)
                .values(summary=stored)
            )
        return "fallback"
    with transaction(factory) as session:
        # Conditional: a duplicate delivery running alongside cannot write twice.
        done = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.summary_source != LLM)
            .values(summary=summary.model_dump(mode="json"), summary_source=LLM)
        )
    return LLM if getattr(done, "rowcount", 0) else "already"


async def _summarise(model_factory: Callable[[], ChatModel], lines: Any, facts: Any) -> Any:
    model = model_factory()
    try:
        return await summarise_with_llm(model, lines, facts)
    finally:
        await model.close()


@app.task(name="callcenter.summarise_handoff", acks_late=True)
def summarise_handoff(handoff_id: int) -> str:
    settings = get_settings()
    return run_summary(
        _factory(settings.sqlalchemy_url), handoff_id, lambda: build_chat_model(settings)
    )
