"""G.711 μ-law <-> 16-bit linear PCM, the phone line's codec (Twilio Media Streams)."""

from __future__ import annotations

import audioop  # stdlib up to 3.12; the `audioop-lts` package provides it from 3.13

import numpy as np

PHONE_RATE = 8000
SAMPLE_WIDTH = 2  # bytes per PCM16 sample
FRAME_MS = 20
FRAME_BYTES = PHONE_RATE * FRAME_MS // 1000  # 160 μ-law bytes per 20 ms frame


def ulaw_to_pcm16(ulaw: bytes) -> bytes:
    return audioop.ulaw2lin(ulaw, SAMPLE_WIDTH)


def pcm16_to_ulaw(pcm: bytes) -> bytes:
    return audioop.lin2ulaw(pcm, SAMPLE_WIDTH)


def ulaw_to_float(ulaw: bytes) -> np.ndarray:
    """μ-law bytes -> float32 samples in [-1, 1] at 8 kHz."""
    pcm = np.frombuffer(ulaw_to_pcm16(ulaw), dtype=np.int16)
    return pcm.astype(np.float32) / 32768.0


def float_to_ulaw(samples: np.ndarray) -> bytes:
    """float32 samples in [-1, 1] at 8 kHz -> μ-law bytes."""
    return pcm16_to_ulaw(float_to_pcm16(samples))


def float_to_pcm16(samples: np.ndarray) -> bytes:
    clipped = np.clip(samples, -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
