"""The caller's voice style: bounded steps, a limiter on gain, the engine's own rate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from callcenter.tts.base import AudioChunk
from callcenter.tts.style import MAX_VOLUME, MIN_RATE, VoiceStyle, apply_gain, styled_stream


def test_steps_are_bounded() -> None:
    style = VoiceStyle()
    for _ in range(10):
        style = style.slower().louder()
    assert style.rate == MIN_RATE and style.volume == MAX_VOLUME
    assert VoiceStyle().slower().faster() == VoiceStyle()
    assert VoiceStyle.of(99.0, -3.0) == VoiceStyle(rate=1.4, volume=0.6)


def test_gain_is_louder_but_never_clips() -> None:
    tone = 0.75 * np.sin(np.linspace(0, 200 * np.pi, 8000)).astype(np.float32)
    louder = apply_gain(tone, 1.7)
    assert np.sqrt(np.mean(louder**2)) > 1.2 * np.sqrt(np.mean(tone**2))
    assert np.max(np.abs(louder)) < 1.0
    quiet = apply_gain(tone, 0.5)
    assert np.allclose(quiet, tone * 0.5)


class _Engine:
    """Speaks 100 samples of 0.5 per character; at another rate, proportionally longer."""

    sample_rate = 8000

    def __init__(self) -> None:
        self.rates: list[float] = []

    async def stream(self, text: str) -> AsyncIterator[AudioChunk]:
        async for chunk in self.stream_at_rate(text, 1.0):
            yield chunk

    async def stream_at_rate(self, text: str, rate: float) -> AsyncIterator[AudioChunk]:
        self.rates.append(rate)
        yield AudioChunk(np.full(int(len(text) * 100 / rate), 0.5, np.float32), 8000)

    async def close(self) -> None:
        return None


class _PlainEngine:
    sample_rate = 8000

    async def stream(self, text: str) -> AsyncIterator[AudioChunk]:
        yield AudioChunk(np.full(len(text) * 100, 0.5, np.float32), 8000)

    async def close(self) -> None:
        return None


async def _samples(stream: AsyncIterator[AudioChunk]) -> np.ndarray:
    return np.concatenate([chunk.samples async for chunk in stream])


def test_slower_uses_the_engines_rate_and_louder_a_gain() -> None:
    engine = _Engine()
    normal = asyncio.run(_samples(styled_stream(engine, "hello", None)))
    slow_loud = asyncio.run(_samples(styled_stream(engine, "hello", VoiceStyle(0.8, 1.3))))
    assert engine.rates == [1.0, 0.8]
    assert len(slow_loud) == int(len(normal) / 0.8)
    assert float(slow_loud[0]) > float(normal[0])
    # An engine without its own rate still gets louder.
    plain = asyncio.run(_samples(styled_stream(_PlainEngine(), "hello", VoiceStyle(0.8, 1.3))))
    assert len(plain) == len(normal) and float(plain[0]) > 0.5
