"""Small statistics helpers for benchmark reports."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def summary(values: Sequence[float]) -> dict[str, float | int]:
    """p50/p95/mean/min/max of a sample (empty → count 0)."""
    data = np.asarray([v for v in values if v is not None], dtype=float)
    if data.size == 0:
        return {"count": 0}
    return {
        "count": int(data.size),
        "p50": round(float(np.percentile(data, 50)), 1),
        "p95": round(float(np.percentile(data, 95)), 1),
        "mean": round(float(data.mean()), 1),
        "min": round(float(data.min()), 1),
        "max": round(float(data.max()), 1),
    }
