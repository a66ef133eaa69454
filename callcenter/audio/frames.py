"""Fixed-size windows out of arbitrarily sized chunks (20 ms phone frames -> 32 ms VAD windows)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class FrameAccumulator:
    """Buffers samples and hands out complete windows of ``size`` samples, in order."""

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError(f"window size must be positive, got {size}")
        self.size = size
        self._pending = np.zeros(0, dtype=np.float32)

    def push(self, samples: np.ndarray) -> Iterator[np.ndarray]:
        data = np.asarray(samples, dtype=np.float32).reshape(-1)
        pending = np.concatenate([self._pending, data]) if self._pending.size else data
        full = len(pending) // self.size * self.size
        for start in range(0, full, self.size):
            yield pending[start : start + self.size]
        self._pending = pending[full:].copy()

    @property
    def pending(self) -> int:
        """Samples waiting for the next full window."""
        return int(self._pending.size)

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)


class AudioBuffer:
    """Append-only audio indexed by absolute sample number, trimmable from the front.

    Chunks are kept as a list and joined only on read, so appending a window costs O(1)
    even during a long utterance.
    """

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._start = 0  # absolute index of the first kept sample
        self._end = 0  # absolute index one past the last sample

    @property
    def end(self) -> int:
        return self._end

    @property
    def start(self) -> int:
        return self._start

    def append(self, samples: np.ndarray) -> None:
        self._chunks.append(np.asarray(samples, dtype=np.float32))
        self._end += len(samples)

    def read(self, start: int, end: int) -> np.ndarray:
        """Samples [start, end) clipped to what is kept."""
        start, end = max(start, self._start), min(end, self._end)
        if end <= start or not self._chunks:
            return np.zeros(0, dtype=np.float32)
        joined = np.concatenate(self._chunks) if len(self._chunks) > 1 else self._chunks[0]
        self._chunks = [joined]  # keep the join: later reads of the same span are free
        return joined[start - self._start : end - self._start].copy()

    def trim_before(self, index: int) -> None:
        """Forget samples before ``index`` (whole chunks only; cheap)."""
        while self._chunks and self._start + len(self._chunks[0]) <= index:
            self._start += len(self._chunks.pop(0))
