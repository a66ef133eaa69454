"""How many CPU threads each embedded engine gets.

On a small CPU the engines run at the same time (the LLM generates while Piper speaks
the first clause and the next caller turn is transcribed). llama.cpp's threads busy-wait
at every layer barrier, so when engines together ask for more threads than there are
cores, generation does not slow down a little, it collapses (seconds per token were seen
on 2 cores). The default plan therefore never oversubscribes: the LLM gets about half
the cores and ASR and TTS share the rest. Explicit settings override it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from callcenter.settings import Settings


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
