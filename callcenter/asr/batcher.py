"""Cross-call batching: utterances from all live calls decoded together in one model call.

Each call awaits ``transcribe()``; a single worker task gathers whatever is queued (up
to ``max_batch_size``, waiting at most ``max_wait_ms`` after the first request for
company) and hands the batch to the engine in one worker thread. Requests that arrive
while a batch is decoding form the next batch, so under load batches fill up without
any added wait. The engine is only ever called from that one thread.

Cancellation: a caller that gives up (barge-in, hang-up) cancels its own future; the
worker skips it when forming a batch and ignores its result if it was already in
flight. Nobody else's request is affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from callcenter.asr.base import Transcript
from callcenter.asr.faster_whisper import Request
from callcenter.threads import lower_engine_thread_priority


class BatchEngine(Protocol):
    """What the batcher needs from an engine: a blocking batched decode."""

    def transcribe_batch(self, requests: Sequence[Request]) -> list[Transcript]: ...


@dataclass
class _Pending:
    request: Request
    future: asyncio.Future[Transcript]


class TranscriberClosed(RuntimeError):
    """The transcriber was closed while this request waited."""


class BatchingTranscriber:
    """Implements the :class:`~callcenter.asr.base.Transcriber` protocol over a batch engine."""

    def __init__(
        self,
        engine: BatchEngine,
        *,
        max_batch_size: int = 8,
        max_wait_ms: float = 15.0,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        self.engine = engine
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        # One thread: the engine already uses every core for one batch; two concurrent
        # batches would only fight over them.
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="asr", initializer=lower_engine_thread_priority
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self.batch_sizes: deque[int] = deque(maxlen=1000)  # recent batch sizes (metrics)

    async def transcribe(
        self, audio: np.ndarray, *, hint: str | None = None, language: str | None = None
    ) -> Transcript:
        if self._closed:
            raise TranscriberClosed("transcriber is closed")
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        if samples.size == 0:
            return Transcript(text="", confidence=0.0)
        queue = self._ensure_worker()
        future: asyncio.Future[Transcript] = asyncio.get_running_loop().create_future()
        queue.put_nowait(_Pending(Request(samples, hint, language), future))
        return await future

    def set_vocabulary(self, prompt: str | None) -> None:
        """Pass the glossary's decoder prompt to an engine that takes one."""
        steer = getattr(self.engine, "set_vocabulary", None)
        if callable(steer):
            steer(prompt)

    async def close(self) -> None:
        self._closed = True
        worker, self._worker = self._worker, None
        if worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._fail_queued(TranscriberClosed("transcriber closed"))
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ worker
    def _ensure_worker(self) -> asyncio.Queue[_Pending]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._queue is None or self._worker is None:
            # First use, or a new event loop (tests, a restarted server): start afresh.
            self._loop = loop
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._run(self._queue), name="asr-batcher")
        return self._queue

    async def _run(self, queue: asyncio.Queue[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect(queue)
            if not batch:
                continue
            requests = [item.request for item in batch]
            try:
                transcripts = await loop.run_in_executor(
                    self._executor, self.engine.transcribe_batch, requests
                )
            except asyncio.CancelledError:
                for item in batch:
                    _settle(item.future, error=TranscriberClosed("transcriber closed"))
                raise
            except Exception as error:  # the engine failed: every waiter learns why
                for item in batch:
                    _settle(item.future, error=error)
                continue
            self.batch_sizes.append(len(batch))
            for item, transcript in zip(batch, transcripts, strict=True):
                _settle(item.future, result=replace(transcript, batch_size=len(batch)))

    async def _collect(self, queue: asyncio.Queue[_Pending]) -> list[_Pending]:
        batch = [await queue.get()]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch_size:
            if queue.empty():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                item = await _get_within(queue, remaining)
                if item is None:
                    break
                batch.append(item)
            else:
                batch.append(queue.get_nowait())
        # Callers that were cancelled while queued are dropped here, before decoding.
        return [item for item in batch if not item.future.done()]

    def _fail_queued(self, error: Exception) -> None:
        queue = self._queue
        while queue is not None and not queue.empty():
            _settle(queue.get_nowait().future, error=error)


def _settle(
    future: asyncio.Future[Transcript],
    *,
    result: Transcript | None = None,
    error: BaseException | None = None,
) -> None:
    if future.done():  # cancelled by its caller: nobody is waiting for it
        return
    if error is not None:
        future.set_exception(error)
    elif result is not None:
        future.set_result(result)


async def _get_within(queue: asyncio.Queue[_Pending], wait_s: float) -> _Pending | None:
    """``queue.get()`` with a timeout that never loses an item.

    (``asyncio.wait_for`` on Python 3.11 can drop a result that arrives just as the
    timeout fires; here a getter that won the race is still collected.)
    """
    getter = asyncio.ensure_future(queue.get())
    done, _ = await asyncio.wait({getter}, timeout=wait_s)
    if getter not in done:
        getter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await getter
    if getter.cancelled():
        return None
    return getter.result()
