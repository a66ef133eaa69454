"""Jobs enqueued only after the database commit, and never lost when the broker is down.

``enqueue_after_commit`` writes an :class:`OutboxJob` row in the caller's transaction
(so the job exists exactly when the data it works on exists), and after the commit a
sender thread hands it to Celery and marks it sent. If Redis is unreachable the row
stays unsent and :func:`sweep_outbox` sends it later: the server runs the sweep every
few seconds (:func:`run_sweeper`), beat runs it too. A job can be sent twice (sent, then
the "sent" mark fails), never zero times, which is why every job is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from callcenter.store.db import transaction
from callcenter.store.models import OutboxJob
from callcenter.tasks.celery_app import app

log = logging.getLogger(__name__)

_PENDING = "callcenter.jobs_after_commit"
# After a failed send, leave jobs to the sweeper for this long instead of blocking every
# commit's sender on a dead broker.
BROKER_BACKOFF_S = 5.0


@dataclass(frozen=True)
class _Job:
    engine: Engine | None
    job_id: int
    task: Any
    args: tuple[Any, ...]
    options: dict[str, Any]


def enqueue_after_commit(session: Session, task: Any, *args: Any, **options: Any) -> None:
    """Run ``task(*args)`` once ``session``'s transaction commits; nothing on rollback.

    The job is a row of the same transaction; ``options`` go to ``apply_async``.
    """
    row = OutboxJob(task=task.name, args=list(args))
    session.add(row)
    session.flush()
    jobs: list[_Job] | None = session.info.get(_PENDING)
    if jobs is None:
        jobs = session.info[_PENDING] = []
        from sqlalchemy import event

        event.listen(session, "after_commit", _send_pending)
        event.listen(session, "after_soft_rollback", _drop_pending)
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else None
    jobs.append(_Job(engine, row.id, task, tuple(args), options))


def _send_pending(session: Session) -> None:
    jobs: list[_Job] = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    for job in jobs:
        sender().submit(job)


def _drop_pending(session: Session, previous: Any) -> None:
    if getattr(previous, "parent", None) is not None:
        return  # a savepoint rolled back; the outer transaction may still commit
    session.info[_PENDING] = []


class _Sender:
    """One thread per process that publishes committed jobs, so a slow or dead broker
    never blocks the thread that committed (the call recorder, a request)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[_Job] = queue.Queue()
        self._down_until: dict[str, float] = {}  # broker URL -> skip sends until
        self._thread = threading.Thread(target=self._run, name="job-sender", daemon=True)
        self._thread.start()

    def submit(self, job: _Job) -> None:
        self._queue.put(job)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            broker = str(job.task.app.conf.broker_url)
            if time.monotonic() < self._down_until.get(broker, 0.0):
                continue  # the sweeper sends it when the broker is back
            try:
                job.task.apply_async(args=job.args, **job.options)
            except Exception as error:
                self._down_until[broker] = time.monotonic() + BROKER_BACKOFF_S
                log.warning("broker unavailable; job %s waits in the outbox: %s", job.job_id, error)
                continue
            if job.engine is not None:
                try:
                    _mark_sent(job.engine, job.job_id)
                except Exception:  # sent twice at worst: jobs are idempotent
                    log.warning("could not mark job %s sent", job.job_id, exc_info=True)


_sender: _Sender | None = None
_sender_lock = threading.Lock()


def sender() -> _Sender:
    global _sender
    with _sender_lock:
        if _sender is None:
            _sender = _Sender()
        return _sender


def _mark_sent(engine: Engine, job_id: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(OutboxJob).where(OutboxJob.id == job_id).values(sent_at=datetime.now(UTC))
        )


def sweep_outbox(
    factory: sessionmaker[Session], *, older_than_s: float = 3.0, limit: int = 200
) -> int:
    """Send unsent jobs older than ``older_than_s`` (younger ones are the sender's);
    stops at the first broker failure. Returns how many were sent."""
    app.loader.import_default_modules()  # the task registry, by name
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    with factory() as session:
        jobs = list(
            session.scalars(
                select(OutboxJob)
                .where(OutboxJob.sent_at.is_(None), OutboxJob.created_at <= cutoff)
                .order_by(OutboxJob.id)
                .limit(limit)
            )
        )
    sent = 0
    for job in jobs:
        task = app.tasks.get(job.task)
        try:
            if task is None:
                raise LookupError(f"unknown task {job.task!r}")
            task.apply_async(args=list(job.args))
        except Exception as error:
            with transaction(factory) as session:
                session.execute(
                    update(OutboxJob)
                    .where(OutboxJob.id == job.id)
                    .values(attempts=OutboxJob.attempts + 1, last_error=str(error)[:500])
                )
            if task is None:
                continue
            log.debug("broker still unavailable; %d job(s) wait in the outbox", len(jobs) - sent)
            break
        with transaction(factory) as session:
            session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == job.id)
                .values(sent_at=datetime.now(UTC), attempts=OutboxJob.attempts + 1)
            )
        sent += 1
    if sent:
        log.info("sent %d job(s) from the outbox", sent)
    return sent


async def run_sweeper(factory: sessionmaker[Session], interval_s: float) -> None:
    """The server's sweep loop (cancel it to stop); survives database and broker outages."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(sweep_outbox, factory)
        except Exception as error:
            log.warning("outbox sweep failed: %s", str(error).splitlines()[0][:200])


@app.task(name="callcenter.sweep_outbox", acks_late=True)
def sweep_outbox_task() -> int:
    """Beat runs this too, so jobs are sent even while no server process is up."""
    from callcenter.tasks.common import job_session_factory

    return sweep_outbox(job_session_factory())
