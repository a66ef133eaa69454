"""`callcenter bench turns`, concurrent calls: pause verdicts of several calls at once.

One Smart Turn session serves every call. onnxruntime documents ``InferenceSession.run``
as safe to call from several threads at once, so the session is not locked: verdicts of
concurrent calls run side by side (each on one intra-op thread) instead of queueing. This
measures a verdict's latency (request -> probability) for 1..N calls pausing at the same
moment, unlocked and, for comparison, behind one lock (how it was before).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.audio.turn_completion import RATE, SmartTurn
from callcenter.bench.stats import summary

ROUNDS = 8


class _Locked:
    def __init__(self, model: SmartTurn) -> None:
        self._model = model
        self._lock = threading.Lock()

    def probability(self, audio: np.ndarray) -> float:
        with self._lock:
            return self._model.probability(audio)


def _latencies(model: SmartTurn | _Locked, calls: int, clips: list[np.ndarray]) -> list[float]:
    out: list[float] = []

    def one(clip: np.ndarray) -> float:
        started = time.perf_counter()
        model.probability(clip)
        return (time.perf_counter() - started) * 1000.0

    with ThreadPoolExecutor(max_workers=calls) as pool:
        for round_ in range(ROUNDS):
            batch = [clips[(round_ * calls + k) % len(clips)] for k in range(calls)]
            out += list(pool.map(one, batch))
    return out


def concurrent_verdicts(model_path: Path, levels: tuple[int, ...] = (1, 2, 4)) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    # Speech-like input is not needed for timing: the model's cost does not depend on it.
    clips = [(0.1 * rng.standard_normal(RATE * 4)).astype(np.float32) for _ in range(8)]
    model = SmartTurn(model_path)
    model.probability(clips[0])  # warm-up
    rows = []
    for calls in levels:
        rows.append(
            {
                "calls": calls,
                "unlocked_ms": summary(_latencies(model, calls, clips)),
                "locked_ms": summary(_latencies(_Locked(model), calls, clips)),
            }
        )
    return {"rounds": ROUNDS, "levels": rows}
