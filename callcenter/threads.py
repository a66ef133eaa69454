"""How many CPU threads each embedded engine gets.

On a small CPU the engines run at the same time (the LLM generates while Piper speaks
the first clause and the next caller turn is transcribed). llama.cpp's threads busy-wait
at every layer barrier, so when engines together ask for more threads than there are
cores, generation does not slow down a little, it collapses (seconds per token were seen
on 2 cores). The default plan therefore never oversubscribes: the LLM gets about half
the cores and ASR and TTS share the rest. Explicit settings override it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from callcenter.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class ThreadPlan:
    llm: int
    asr: int
    tts: int


def thread_plan(settings: Settings, cores: int | None = None) -> ThreadPlan:
    cores = cores or os.cpu_count() or 1
    llm_default = max(1, cores // 2)
    rest = max(1, cores - llm_default)
    return ThreadPlan(
        llm=settings.llm_threads or llm_default,
        asr=settings.asr_threads or rest,
        tts=settings.tts_threads or rest,
    )


# --- priority: the audio path before the engines -------------------------------------
#
# The event loop reads caller frames, runs the VAD and sends `clear` on barge-in; each of
# those is a fraction of a millisecond but must not wait behind a busy engine. On a small
# CPU the engines keep every core busy while the agent talks, so their threads run at a
# lower priority (a higher nice value): the scheduler then lets the loop in at once. The
# engines lose almost nothing, because the loop needs so little CPU. Linux keeps a nice
# value per thread and a new thread inherits it, so threads an engine starts itself
# (CTranslate2's worker, OpenMP and llama.cpp pools) inherit it from the thread that
# loaded or runs the engine.

_engine_nice = 10


def configure_engine_priority(nice: int) -> None:
    """Set the nice value engine threads started from now on take (0 = as the loop)."""
    global _engine_nice
    _engine_nice = nice


def lower_engine_thread_priority() -> None:
    """Run on an engine thread (a ``ThreadPoolExecutor`` initializer, or first thing in a
    loader thread). Raising one's own nice value needs no privilege; failure is harmless."""
    if _engine_nice <= 0 or not hasattr(os, "setpriority"):
        return
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, max(current, min(19, _engine_nice)))
    except OSError:  # pragma: no cover - a sandbox that forbids it
        pass


async def run_in_engine_thread(fn: Callable[..., T], *args: Any) -> T:
    """``asyncio.to_thread`` on a lower-priority thread (for loading an engine).

    Not the default executor: its threads are reused for database work, and a thread's
    priority cannot be raised back without privilege. One small pool for the process,
    so reloading engines (tests, a restarted app) reuses its threads.
    """
    global _loader
    if _loader is None:
        _loader = ThreadPoolExecutor(
            max_workers=3,
            thread_name_prefix="engine-load",
            initializer=lower_engine_thread_priority,
        )
    return await asyncio.get_running_loop().run_in_executor(_loader, fn, *args)


_loader: ThreadPoolExecutor | None = None
