"""High-quality sample-rate conversion (soxr): 8 kHz phone <-> 16 kHz ASR, TTS rate -> 8 kHz."""

from __future__ import annotations

import numpy as np
import soxr


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample float32 mono samples; returns float32."""
    data = np.asarray(samples, dtype=np.float32)
    if from_rate == to_rate or data.size == 0:
        return data
    return np.asarray(soxr.resample(data, from_rate, to_rate, quality="HQ"), dtype=np.float32)


class StreamResampler:
    """Chunk-by-chunk resampling that keeps filter state across chunks (no clicks at edges)."""

    def __init__(self, from_rate: int, to_rate: int, quality: str = "HQ") -> None:
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._stream = (
            None
            if from_rate == to_rate
            else soxr.ResampleStream(from_rate, to_rate, 1, "float32", quality=quality)
        )

    def process(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        data = np.asarray(samples, dtype=np.float32)
        if self._stream is None:
            return data
        return np.asarray(self._stream.resample_chunk(data, last=last), dtype=np.float32)

    def flush(self) -> np.ndarray:
        return self.process(np.zeros(0, dtype=np.float32), last=True)
