"""Handoff job: replace the fallback summary with the LLM-written one.

(``enqueue_after_commit`` lives in :mod:`callcenter.tasks.outbox`; re-exported here.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from callcenter.llm.base import ChatModel
from callcenter.settings import get_settings
from callcenter.store.db import transaction
from callcenter.store.models import Handoff
from callcenter.store.recorder import CallRecorder
from callcenter.store.translations import needs_translation, translations_of_call
from callcenter.tasks.celery_app import app
from callcenter.tasks.common import build_chat_model, factory_for
from callcenter.tasks.outbox import enqueue_after_commit
from callcenter.tasks.summary import (
    create_handoff,
    fallback_summary,
    summarise_with_llm,
    transcript,
)
from callcenter.tasks.translation import notes_in, run_translation, translate_call

log = logging.getLogger(__name__)

LLM = "llm"

__all__ = [
    "HandoffOpener",
    "build_chat_model",
    "enqueue_after_commit",
    "run_summary",
    "summarise_handoff",
    "translate_call",
]


def run_summary(
    factory: sessionmaker[Session],
    handoff_id: int,
    model_factory: Callable[[], ChatModel],
    language: str = "en",
    *,
    model_name: str = "",
) -> str:
    """Summarise one handoff in ``language`` (the human agents'); returns what happened
    (for logs and tests).

    A call held in another language is machine-translated first, turn by turn (stored
    beside each turn for the human agent's page), and summarised from the translation: a
    small model asked to summarise Spanish in English writes Spanish."""
    with factory() as session:
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            return "missing"
        if handoff.summary_source == LLM:
            return "already"
        call_id, reason = handoff.call_id, handoff.reason
        foreign = needs_translation(session, call_id, language)
    if foreign:
        run_translation(factory, call_id, language, model_factory, model_name=model_name)
    with factory() as session:
        facts = fallback_summary(session, call_id, reason)
        lines = transcript(session, call_id, translations_of_call(session, call_id, language))
    error: str | None
    try:
        summary, error = asyncio.run(_summarise(model_factory, lines, facts, language))
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


async def _summarise(
    model_factory: Callable[[], ChatModel], lines: Any, facts: Any, language: str = "en"
) -> Any:
    model = model_factory()
    try:
        summary, error = await summarise_with_llm(model, lines, facts, language)
        if error is None:
            summary = await notes_in(model, summary, language)
        return summary, error
    finally:
        await model.close()


@app.task(name="callcenter.summarise_handoff", acks_late=True)
def summarise_handoff(handoff_id: int) -> str:
    settings = get_settings()
    return run_summary(
        factory_for(settings.sqlalchemy_url),
        handoff_id,
        lambda: build_chat_model(settings),
        settings.handoff_language,
        model_name=settings.llm_model,
    )


class HandoffOpener:
    """Opens a handoff when a live call is escalated: the row with its fallback summary,
    and the job that asks the LLM for a better one (enqueued once the row commits). A
    call held in another language than the human agents read (``handoff_language``)
    has its transcript machine-translated for them by that job, before it summarises."""

    def __init__(self, recorder: CallRecorder, destination: str) -> None:
        self.recorder = recorder
        self.destination = destination

    async def __call__(self, call_id: str, reason: str) -> None:
        def write(session: Session) -> int:
            # Queued behind the call's turns, so the fallback summary sees all of them.
            handoff = create_handoff(session, call_id, reason, self.destination)
            enqueue_after_commit(session, summarise_handoff, handoff.id)
            return handoff.id

        await asyncio.wait_for(self.recorder.write(write, "handoff"), timeout=5.0)
