"""The live handoff queue: one poller per process, any number of console streams.

The poller reads the queue from the database about once a second (it works the same on
SQLite and PostgreSQL, and sees rows written by any process: call sessions, Celery
summary jobs, other web workers) and publishes a new snapshot only when something
changed. It runs only while at least one console is connected.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import suppress
from typing import Any

import anyio
from sqlalchemy.orm import Session, sessionmaker

from callcenter.store import handoffs as handoff_store
from callcenter.store.db import transaction

log = logging.getLogger(__name__)


class HandoffFeed:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        interval_s: float = 1.0,
        load: Callable[[Session], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.interval_s = interval_s
        self._load = load or (lambda s: [row.as_dict() for row in handoff_store.queue(s)])
        self.snapshot: str | None = None
        self.version = 0
        self._changed = asyncio.Event()
        self._subscribers = 0
        self._task: asyncio.Task[None] | None = None

    def _read(self) -> str:
        with transaction(self.session_factory) as session:
            return json.dumps(self._load(session), sort_keys=True)

    async def _poll(self) -> None:
        while self._subscribers > 0:
            try:
                snapshot = await anyio.to_thread.run_sync(self._read)
            except Exception:  # a database blip: keep the last snapshot, try again
                log.exception("handoff feed: could not read the queue")
            else:
                if snapshot != self.snapshot:
                    self.snapshot = snapshot
                    self.version += 1
                    changed, self._changed = self._changed, asyncio.Event()
                    changed.set()
            await asyncio.sleep(self.interval_s)

    async def subscribe(self, heartbeat_s: float = 15.0) -> AsyncGenerator[str | None, None]:
        """Yields the current snapshot, then every new one (JSON text); None after
        ``heartbeat_s`` without a change, so the stream can send a keep-alive."""
        self._subscribers += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())
        seen = -1
        try:
            while True:
                if self.snapshot is not None and self.version != seen:
                    seen = self.version
                    yield self.snapshot
                    continue
                try:
                    await asyncio.wait_for(self._changed.wait(), heartbeat_s)
                except TimeoutError:
                    yield None
        finally:
            self._subscribers -= 1

    async def close(self) -> None:
        self._subscribers = 0
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
