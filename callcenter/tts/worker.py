"""Drive a blocking synthesis generator from asyncio, one step at a time, on one thread.

Both engines (Piper, XTTS) expose synthesis as a blocking Python generator that yields
audio as it is produced. The event loop must never block on it, and the model must not
run on two threads at once (an ONNX session per voice, a torch model per GPU). So each
synthesizer owns one worker thread and submits the generator *one step at a time*:

- early close (barge-in) stops synthesis after at most the step in flight, because no
  further step is submitted and the generator is closed on the worker thread;
- concurrent calls sharing one synthesizer interleave step by step instead of one
  call's whole clause queuing behind another's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from callcenter.threads import lower_engine_thread_priority

T = TypeVar("T")

_DONE = object()


class SynthesisWorker:
    """One thread that owns a model; async iteration over blocking generators it runs."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=name, initializer=lower_engine_thread_priority
        )
        self._closed = False

    async def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the model's thread (loading, conditioning, warm-up)."""
        if self._closed:
            raise RuntimeError("synthesizer is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def iterate(self, make: Callable[[], Iterator[T]]) -> AsyncGenerator[T, None]:
        """Yield the items of ``make()``, created and advanced on the model's thread.

        When the consumer stops early (``aclose()``, cancellation), the generator is
        closed on the model's thread too, so the engine's own cleanup runs where it
        belongs and nothing keeps computing audio nobody will hear.
        """
        iterator: Iterator[T] = await self.call(make)
        finished = False
        try:
            while True:
                item = await self.call(lambda: next(iterator, _DONE))
                if item is _DONE:
                    finished = True
                    return
                yield item  # type: ignore[misc]
        finally:
            if not finished:
                close = getattr(iterator, "close", None)
                if close is not None and not self._closed:
                    # Shielded: a cancelled consumer must still release the generator.
                    await asyncio.shield(self.call(close))

    def shutdown(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
