"""Retention: delete calls older than ``CALLCENTER_RETENTION_DAYS`` (beat runs it daily).

A call goes with its turns, events and tool invocations (foreign keys cascade), and its
resolved handoffs. A call with a handoff that is not resolved stays, whatever its age:
a human still owes that caller something. Live calls are never touched. Sent outbox
jobs and finished webhook deliveries past the same age go too. Deletes run in small
batches so no transaction holds locks for long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.recordings import RecordingStorage, make_recording_storage
from callcenter.settings import get_settings
from callcenter.store.caller_prefs import purge_preferences
from callcenter.store.calls import LIVE_STATUSES
from callcenter.store.db import transaction
from callcenter.store.models import (
    Call,
    DeliveryStatus,
    Handoff,
    HandoffStatus,
    OutboxJob,
    WebhookDelivery,
)
from callcenter.tasks.celery_app import app
from callcenter.tasks.common import factory_for

log = logging.getLogger(__name__)
BATCH = 500


@dataclass(frozen=True)
class PurgeReport:
    calls: int
    outbox_jobs: int
    webhook_deliveries: int
    recordings: int = 0
    caller_preferences: int = 0  # returning callers not heard from for the period


def _delete_recordings(storage: RecordingStorage | None, call_ids: list[str]) -> int:
    """A purged call's recording goes with it (after the rows: never a row without it
    being purgeable, at worst a file a later run finds gone)."""
    if storage is None:
        return 0
    deleted = 0
    for call_id in call_ids:
        try:
            deleted += storage.delete(call_id)
        except Exception:  # one unreachable object must not stop the purge
            log.exception("could not delete the recording of call %s", call_id)
    return deleted


def purge_expired(
    factory: sessionmaker[Session],
    retention_days: int,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
    recordings: RecordingStorage | None = None,
) -> PurgeReport:
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    open_handoff = exists().where(
        Handoff.call_id == Call.id, Handoff.status != HandoffStatus.resolved
    )
    calls = deleted_recordings = 0
    while True:
        with transaction(factory) as session:
            ids = list(
                session.scalars(
                    select(Call.id)
                    .where(
                        Call.started_at < cutoff,
                        Call.status.not_in(LIVE_STATUSES),
                        ~open_handoff,
                    )
                    .limit(batch)
                )
            )
            if ids:
                session.execute(delete(Call).where(Call.id.in_(ids)))
        calls += len(ids)
        deleted_recordings += _delete_recordings(recordings, ids)
        if len(ids) < batch:
            break
    with transaction(factory) as session:
        jobs = session.execute(
            delete(OutboxJob).where(OutboxJob.sent_at.is_not(None), OutboxJob.created_at < cutoff)
        ).rowcount  # type: ignore[attr-defined]
        deliveries = session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.status != DeliveryStatus.pending,
                WebhookDelivery.created_at < cutoff,
            )
        ).rowcount  # type: ignore[attr-defined]
        preferences = purge_preferences(session, cutoff)
    report = PurgeReport(
        calls, int(jobs or 0), int(deliveries or 0), deleted_recordings, preferences
    )
    log.info("retention purge (older than %s): %s", cutoff.date(), report)
    return report


@app.task(name="callcenter.purge_expired", acks_late=True)
def purge_expired_task() -> dict[str, int]:
    settings = get_settings()
    report = purge_expired(
        factory_for(settings.sqlalchemy_url),
        settings.retention_days,
        recordings=make_recording_storage(settings),
    )
    return {
        "recordings": report.recordings,
        "calls": report.calls,
        "outbox_jobs": report.outbox_jobs,
        "webhook_deliveries": report.webhook_deliveries,
    }
