"""From synthesizer chunks to what the phone line and the simulator need.

The session streams :func:`to_phone_audio` straight into Twilio media messages; the call
simulator and tests use :func:`render_ulaw` / :func:`render_pcm` for whole clauses.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

import numpy as np

from callcenter.audio.g711 import PHONE_RATE, float_to_ulaw
from callcenter.audio.resample import StreamResampler
from callcenter.tts.base import AudioChunk, Synthesizer

T = TypeVar("T")


@asynccontextmanager
async def closing(stream: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Close ``stream`` on exit, now rather than at garbage collection.

    ``async for`` does not close an async generator it leaves early; without this an
    interrupted clause would keep synthesising until the generator is collected.
    The protocol promises only an AsyncIterator, hence the duck-typed ``aclose``.
    """
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


async def resample_chunks(
    chunks: AsyncIterator[AudioChunk], to_rate: int
) -> AsyncGenerator[np.ndarray, None]:
    """Float32 samples at ``to_rate``, resampled with one filter state across chunks.

    One :class:`StreamResampler` per stream keeps chunk joins click-free; the tail held
    back by the filter is flushed when the source ends. Empty outputs are skipped.
    A source whose rate changes mid-stream is an engine bug and raises.
    """
    resampler: StreamResampler | None = None
    async with closing(chunks) as source:
        async for chunk in source:
            if resampler is None:
                resampler = StreamResampler(chunk.sample_rate, to_rate)
            elif chunk.sample_rate != resampler.from_rate:
                raise ValueError(
                    f"sample rate changed mid-stream: {resampler.from_rate} -> {chunk.sample_rate}"
                )
            out = resampler.process(chunk.samples)
            if out.size:
                yield out
    if resampler is not None:
        tail = resampler.flush()
        if tail.size:
            yield tail


async def to_phone_audio(chunks: AsyncIterator[AudioChunk]) -> AsyncGenerator[bytes, None]:
    """8 kHz μ-law bytes for Twilio, chunk by chunk as the synthesizer produces audio.

    Closing this iterator early closes ``chunks`` too, which stops synthesis (barge-in).
    """
    async with closing(resample_chunks(chunks, PHONE_RATE)) as pcm:
        async for samples in pcm:
            # μ-law is sample-by-sample, so converting per chunk needs no carried state.
            yield float_to_ulaw(samples)


async def render_pcm(synth: Synthesizer, text: str, sample_rate: int | None = None) -> np.ndarray:
    """The whole clause as float32 samples at ``sample_rate`` (default: the engine's)."""
    rate = sample_rate or synth.sample_rate
    parts = [part async for part in resample_chunks(synth.stream(text), rate)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


async def render_ulaw(synth: Synthesizer, text: str) -> bytes:
    """The whole clause as 8 kHz μ-law bytes (what the caller hears)."""
    return b"".join([part async for part in to_phone_audio(synth.stream(text))])
