"""Run Celery jobs in-process against a given database and LLM server.

Jobs read the process settings (``get_settings``): this points them at the test's
database and model, and makes the app run each job in the outbox's sender thread the
moment it is enqueued (``task_always_eager``), so nothing reaches a shared broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from callcenter.settings import get_settings
from callcenter.tasks.celery_app import app


@contextmanager
def eager_jobs(
    monkeypatch: pytest.MonkeyPatch, database_url: str, llm_base_url: str
) -> Iterator[None]:
    monkeypatch.setenv("CALLCENTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CALLCENTER_LLM_BASE_URL", llm_base_url)
    monkeypatch.setenv("CALLCENTER_LLM_MODEL", "scripted")
    monkeypatch.setenv("CALLCENTER_HANDOFF_LANGUAGE", "en")
    get_settings.cache_clear()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = eager
        get_settings.cache_clear()
