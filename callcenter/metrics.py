"""Prometheus metrics for one process, held by the Runtime.

Each :class:`Metrics` has its own registry so several apps in one process (tests) do not
collide; the serving process exposes ``metrics.registry``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from callcenter.turn_timing import TurnTiming

# Seconds; dense below one second where the voice-to-voice budget lives.
LATENCY_BUCKETS = (
    0.05,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
    1.0,
    1.25,
    1.5,
    2.0,
    3.0,
    5.0,
)


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

        def latency(name: str, doc: str) -> Histogram:
            return Histogram(name, doc, buckets=LATENCY_BUCKETS, registry=self.registry)

        self.voice_latency = latency(
            "voice_to_voice_seconds", "End of caller speech to the agent's first audio"
        )
        self.vad_endpoint_delay = latency(
            "vad_endpoint_delay_seconds", "End of caller speech to the endpoint decision"
        )
        self.asr_seconds = latency("asr_seconds", "Transcription time per utterance")
        self.llm_first_token = latency("llm_first_token_seconds", "LLM time to first token")
        self.tts_first_audio = latency("tts_first_audio_seconds", "TTS time to first audio")
        self.barge_in_reaction = latency(
            "barge_in_reaction_seconds", "Caller speech onset to the clear sent to Twilio"
        )

    def observe_turn(self, timing: TurnTiming) -> None:
        pairs = (
            (self.voice_latency, timing.voice_to_voice_ms),
            (self.vad_endpoint_delay, timing.endpoint_ms),
            (self.asr_seconds, timing.asr_ms),
            (self.llm_first_token, timing.llm_ttft_ms),
            (self.tts_first_audio, timing.tts_first_audio_ms),
        )
        for histogram, value_ms in pairs:
            if value_ms is not None:
                histogram.observe(value_ms / 1000.0)

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 if never touched); for tests and /healthz."""
        return self.registry.get_sample_value(name, labels) or 0.0
