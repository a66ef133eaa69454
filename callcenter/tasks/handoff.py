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
from callcenter.store.models import Call, Handoff
from callcenter.store.recorder import CallRecorder
from callcenter.store.translations import needs_translation
from callcenter.tasks.celery_app import app
from callcenter.tasks.common import build_chat_model, factory_for
from callcenter.tasks.outbox import enqueue_after_commit
from callcenter.tasks.summary import (
    create_handoff,
    fallback_summary,
    summarise_with_llm,
    transcript,
)
from callcenter.tasks.translation import translate_call

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
) -> str:
    """Summarise one handoff in ``language`` (the human agents'); returns what happened
    (for logs and tests)."""
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
        return await summarise_with_llm(model, lines, facts, language)
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
    )


class HandoffOpener:
    """Opens a handoff when a live call is escalated: the row with its fallback summary,
    and the job that asks the LLM for a better one (enqueued once the row commits). A
    call held in another language than the human agents read (``handoff_language``)
    also gets its transcript machine-translated for them."""

    def __init__(
        self, recorder: CallRecorder, destination: str, handoff_language: str = "en"
    ) -> None:
        self.recorder = recorder
        self.destination = destination
        self.handoff_language = handoff_language

    async def __call__(self, call_id: str, reason: str) -> None:
        def write(session: Session) -> int:
            # Queued behind the call's turns, so the fallback summary sees all of them.
            handoff = create_handoff(session, call_id, reason, self.destination)
            enqueue_after_commit(session, summarise_handoff, handoff.id)
            if self._other_language(session, call_id):
                enqueue_after_commit(session, translate_call, call_id, self.handoff_language)
            return handoff.id

        await asyncio.wait_for(self.recorder.write(write, "handoff"), timeout=5.0)

    def _other_language(self, session: Session, call_id: str) -> bool:
        call = session.get(Call, call_id)
        if call is None:
            return False
        return call.language != self.handoff_language or needs_translation(
            session, call_id, self.handoff_language
        )
