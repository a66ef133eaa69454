"""Prometheus metrics for one process, held by the Runtime.

Each :class:`Metrics` has its own registry so several apps in one process (tests) do not
collide; the serving process exposes ``metrics.registry``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.malformed_frames = Counter(
            "malformed_frames",
            "Media Stream frames skipped as malformed, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.dropped_media_frames = Counter(
            "dropped_media_frames",
            "Inbound media frames dropped because the call session fell behind",
            registry=self.registry,
        )
        self.handler_errors = Counter(
            "media_handler_errors",
            "Exceptions raised by the call session's media handler (call went on)",
            registry=self.registry,
        )
        self.rejected_streams = Counter(
            "rejected_streams",
            "Media Stream connections closed with 1008, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.live_calls = Gauge("live_calls", "Media Streams open now", registry=self.registry)

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 if never touched); for tests and /healthz."""
        return self.registry.get_sample_value(name, labels) or 0.0
