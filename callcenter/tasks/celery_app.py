"""The Celery app: Redis broker, JSON only, at-least-once delivery.

Jobs take IDs and open their own database session; their results live in the store,
so there is no result backend. ``acks_late`` plus ``reject_on_worker_lost`` means a job
whose worker dies is delivered again, so every job must be idempotent.

Run a worker with ``celery -A callcenter.tasks.celery_app worker`` (or ``callcenter worker``).
"""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

from callcenter.settings import Settings, get_settings

DEFAULT_QUEUE = "callcenter"
TASK_MODULES = [
    "callcenter.tasks.handoff",
    "callcenter.tasks.translation",
    "callcenter.tasks.post_call",
    "callcenter.tasks.webhooks",
    "callcenter.tasks.retention",
    "callcenter.tasks.outbox",
]
# Beat (``callcenter worker --beat``): the retention purge nightly, and an outbox sweep
# so jobs the broker missed are sent even while no server runs.
BEAT_SCHEDULE = {
    "retention-purge": {
        "task": "callcenter.purge_expired",
        "schedule": crontab(hour=3, minute=17),
    },
    "outbox-sweep": {"task": "callcenter.sweep_outbox", "schedule": 60.0},
}


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    celery = Celery("callcenter", broker=settings.celery_broker_url, include=TASK_MODULES)
    celery.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A summary is worth little after a few minutes; never let a job hang a worker.
        task_soft_time_limit=90,
        task_time_limit=120,
        worker_prefetch_multiplier=1,
        task_default_queue=DEFAULT_QUEUE,
        task_always_eager=settings.celery_eager,
        task_eager_propagates=True,
        timezone="UTC",
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        # Enqueueing happens while a call is live: fail within about a second when the
        # broker is down instead of retrying for minutes (the caller would hear silence).
        broker_connection_timeout=2,
        broker_connection_max_retries=1,
        task_publish_retry_policy={
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.2,
        },
        beat_schedule=BEAT_SCHEDULE,
        # Redelivery of unacked jobs (worker lost) after the visibility timeout.
        broker_transport_options={
            "visibility_timeout": settings.celery_visibility_timeout_s,
            # Look for abandoned (unacked) jobs every few seconds, not every 100.
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
    )
    return celery


app = make_celery()
