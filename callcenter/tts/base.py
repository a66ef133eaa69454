"""The text-to-speech stage: one protocol streaming audio clause by clause."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class AudioChunk:
    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int


class Synthesizer(Protocol):
    sample_rate: int

    def stream(self, text: str) -> AsyncIterator[AudioChunk]:
        """Speak one clause; chunks arrive as soon as the engine produces them.

        Closing the iterator early (barge-in) stops synthesis.
        """
        ...

    async def close(self) -> None: ...
