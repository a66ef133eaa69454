"""Ordered, durable writes for live calls without blocking the event loop.

Every write a call makes (turns, tool invocations, events) goes through one outbox drained
by one thread, so writes commit in the order they happened. If the database is down, the
thread retries with backoff and the call goes on; the outbox is bounded, and what is in it
is written as soon as the database is back.

Reconnects: the engine pings connections on checkout (``pool_pre_ping``) and a
disconnect invalidates the whole pool, so after a database restart the first retry gets
a fresh connection. A commit whose acknowledgement was lost may have landed: if the
retry then violates a unique constraint, the write is taken as committed (turns are
unique per call and seq), not reported as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")
WriteOp = Callable[[Session], Any]


class OutboxFull(RuntimeError):
    pass


@dataclass
class _Item:
    op: WriteOp
    future: asyncio.Future[Any] | None
    loop: asyncio.AbstractEventLoop | None
    label: str


class CallRecorder:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        max_pending: int = 50_000,
        retry_initial_s: float = 0.2,
        retry_max_s: float = 2.0,
    ) -> None:
        self._factory = factory
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=max_pending)
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._thread = threading.Thread(target=self._run, name="call-recorder", daemon=True)
        self._idle = threading.Event()
        self._idle.set()
        # Queued + in flight; guarded so `drain` can never see "idle" with work left.
        self._unfinished = 0
        self._count_lock = threading.Lock()
        self.database_ok = True
        self.failed_attempts = 0
        self._closing = False
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the writer thread is still alive (False once `close` has finished)."""
        return self._thread.is_alive()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def submit(self, op: WriteOp, label: str = "write") -> asyncio.Future[Any]:
        """Queue a write; the returned future resolves with op's result once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._put(_Item(op=op, future=future, loop=loop, label=label))
        return future

    def submit_nowait(self, op: WriteOp, label: str = "write") -> None:
        """Queue a write from any thread without waiting for it."""
        self._put(_Item(op=op, future=None, loop=None, label=label))

    def _put(self, item: _Item) -> None:
        with self._count_lock:
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                log.error("call recorder outbox full; dropping %s", item.label)
                raise OutboxFull(item.label) from None
            self._unfinished += 1
            self._idle.clear()

    def _done(self) -> None:
        with self._count_lock:
            self._unfinished -= 1
            if self._unfinished == 0:
                self._idle.set()

    async def write(self, op: Callable[[Session], T], label: str = "write") -> T:
        result: T = await self.submit(op, label)
        return result

    async def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued so far is committed (True) or the timeout passes."""
        return await asyncio.to_thread(self._idle.wait, timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Flush what is queued; writes still failing after ``timeout_s`` are given up
        (and logged), so shutdown cannot hang on a dead database."""
        self._idle.wait(timeout_s)
        self._closing = True
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._write_until_committed(item)
            finally:
                self._done()

    def _write_until_committed(self, item: _Item) -> None:
        delay = self._retry_initial_s
        retried = False
        while True:
            try:
                with self._factory() as session, session.begin():
                    result = item.op(session)
            except IntegrityError as error:
                if retried:
                    # The attempt that lost its connection had committed after all.
                    log.info("%s was committed before the connection dropped", item.label)
                    self.database_ok = True
                    self._resolve(item, result=None)
                else:
                    self._resolve(item, error=error)
                return
            except (DBAPIError, DisconnectionError, PoolTimeoutError) as error:
                if not _is_connection_error(error):
                    self._resolve(item, error=error)
                    return
                retried = True
                # The database is unreachable: keep this write (and everything behind it).
                self.database_ok = False
                if self._closing:
                    log.error("shutting down with the database unreachable: %s lost", item.label)
                    self._resolve(item, error=error)
                    return
                self.failed_attempts += 1
                log.warning("database unreachable, %s waits (%d queued)", item.label, self.pending)
                time.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
                continue
            except Exception as error:  # a bug in one write must not stop the others
                log.exception("write %s failed", item.label)
                self._resolve(item, error=error)
                return
            self.database_ok = True
            self._resolve(item, result=result)
            return

    @staticmethod
    def _resolve(item: _Item, result: Any = None, error: BaseException | None = None) -> None:
        if item.future is None or item.loop is None:
            return
        future = item.future

        def settle() -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        # RuntimeError: the loop is gone (shutdown); the write itself is committed.
        with contextlib.suppress(RuntimeError):
            item.loop.call_soon_threadsafe(settle)


def _is_connection_error(error: Exception) -> bool:
    """Errors that say "the database is unreachable", as opposed to "this write is wrong"."""
    if isinstance(error, DisconnectionError | PoolTimeoutError | OperationalError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    # psycopg reports a connection closed under it as InterfaceError.
    return isinstance(error, InterfaceError)
