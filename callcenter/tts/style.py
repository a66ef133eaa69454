"""How one call wants the agent to sound: speaking rate and volume, on any engine.

A caller who asks for "slower" or "louder" keeps that for the rest of the call (and, if
remembered, the next one). The engine is shared by every call, so the style travels with
each request: engines that can change their own pace (Piper's ``length_scale``, XTTS's
``speed``) implement :class:`RateControl`; volume is a gain on the samples, the same for
every engine, with a soft limit so "louder" never clips into distortion on μ-law.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from callcenter.tts.base import AudioChunk, Synthesizer

# Steps a caller can take, and the bounds: past them speech gets hard to follow (rate) or
# the line distorts (volume).
RATE_STEP = 0.75
MIN_RATE, MAX_RATE = 0.55, 1.4
VOLUME_STEP = 1.3
MIN_VOLUME, MAX_VOLUME = 0.6, 1.7


@dataclass(frozen=True)
class VoiceStyle:
    rate: float = 1.0  # relative to the deployment's speaking rate: 0.75 = a quarter slower
    volume: float = 1.0  # gain relative to the engine's level

    @property
    def is_default(self) -> bool:
        return self.rate == 1.0 and self.volume == 1.0

    def slower(self) -> VoiceStyle:
        return VoiceStyle(_bounded(self.rate * RATE_STEP, MIN_RATE, MAX_RATE), self.volume)

    def faster(self) -> VoiceStyle:
        return VoiceStyle(_bounded(self.rate / RATE_STEP, MIN_RATE, MAX_RATE), self.volume)

    def louder(self) -> VoiceStyle:
        return VoiceStyle(self.rate, _bounded(self.volume * VOLUME_STEP, MIN_VOLUME, MAX_VOLUME))

    def softer(self) -> VoiceStyle:
        return VoiceStyle(self.rate, _bounded(self.volume / VOLUME_STEP, MIN_VOLUME, MAX_VOLUME))

    @classmethod
    def of(cls, rate: float, volume: float) -> VoiceStyle:
        """A style from stored numbers, clamped to the bounds (bad input never breaks a call)."""
        return cls(_bounded(rate, MIN_RATE, MAX_RATE), _bounded(volume, MIN_VOLUME, MAX_VOLUME))


def _bounded(value: float, low: float, high: float) -> float:
    return round(min(max(float(value), low), high), 3)


@runtime_checkable
class RateControl(Protocol):
    """An engine that can speak one clause at another pace than its default."""

    def stream_at_rate(self, text: str, rate: float) -> AsyncIterator[AudioChunk]: ...


def styled_stream(
    synth: Synthesizer, text: str, style: VoiceStyle | None
) -> AsyncIterator[AudioChunk]:
    """``synth.stream(text)`` in the call's style."""
    if style is None or style.is_default:
        return synth.stream(text)
    if style.rate != 1.0 and isinstance(synth, RateControl):
        chunks = synth.stream_at_rate(text, style.rate)
    else:
        chunks = synth.stream(text)
    if style.volume == 1.0:
        return chunks
    return _with_gain(chunks, style.volume)


async def _with_gain(
    chunks: AsyncIterator[AudioChunk], gain: float
) -> AsyncGenerator[AudioChunk, None]:
    async with aclosing(chunks) as source:  # type: ignore[type-var]
        async for chunk in source:
            yield AudioChunk(apply_gain(chunk.samples, gain), chunk.sample_rate)


# Above this level the limiter bends the signal instead of clipping it.
_KNEE = 0.7


def apply_gain(samples: np.ndarray, gain: float) -> np.ndarray:
    """``samples * gain``, with peaks above the knee compressed smoothly below 1.0."""
    out = samples.astype(np.float32) * np.float32(gain)
    over = np.abs(out) > _KNEE
    if np.any(over):
        excess = (np.abs(out[over]) - _KNEE) / (1.0 - _KNEE)
        out[over] = np.sign(out[over]) * (_KNEE + (1.0 - _KNEE) * np.tanh(excess))
    return out
