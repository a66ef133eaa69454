"""OpenTelemetry traces, one per caller turn (optional: ``pip install 'callcenter[tracing]'``).

Each turn becomes a trace whose root span ``turn`` runs from the end of the caller's
speech to the first audio of the answer, with a child span per stage on the way: the VAD
endpoint decision, ASR, the LLM's time to first token and the TTS time to first audio; a
backchannel ("Okay.") that played first is an event on the root. Spans are built once the
turn's timing is complete, from the monotonic timestamps the call session measured, so
tracing adds no work to the audio path and cannot slow a reply.

Turn it on with ``CALLCENTER_OTEL_TRACES=otlp`` (the exporter reads the standard
``OTEL_EXPORTER_OTLP_ENDPOINT``, default ``http://localhost:4318``) or ``console``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from callcenter.turn_timing import TurnTiming

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

SERVICE_NAME = "callcenter"


class TracingUnavailable(RuntimeError):
    """Traces were asked for but the OpenTelemetry SDK is not installed."""


def _epoch_ns(monotonic_s: float, *, now_monotonic: float, now_epoch_ns: int) -> int:
    """A ``time.monotonic()`` reading as Unix-epoch nanoseconds (what OTel timestamps are)."""
    return now_epoch_ns - int((now_monotonic - monotonic_s) * 1e9)


class TurnTracer:
    """Turns a completed :class:`TurnTiming` into a trace."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("callcenter.dialogue")

    def record_turn(self, call_id: str, timing: TurnTiming) -> None:
        start = timing.speech_end_at
        end_ms = timing.first_answer_ms or timing.voice_to_voice_ms
        if start is None or end_ms is None:
            return  # no caller turn behind this audio (the greeting) or no audio: no trace
        now_monotonic, now_epoch_ns = time.monotonic(), time.time_ns()

        def at(monotonic_s: float) -> int:
            return _epoch_ns(monotonic_s, now_monotonic=now_monotonic, now_epoch_ns=now_epoch_ns)

        attributes: dict[str, Any] = {
            "call.id": call_id,
            "turn.speculative_asr": timing.speculative_asr,
            "turn.backchannel": timing.backchannel,
        }
        for name, value in timing.as_payload().items():
            if isinstance(value, float):
                attributes[f"turn.{name}"] = value
        root_end = at(start + end_ms / 1000.0)
        root = self.tracer.start_span("turn", start_time=at(start), attributes=attributes)
        try:
            # Stages end inside the turn (marks taken on different paths can disagree by
            # microseconds).
            self._stages(root, timing, start, lambda s: min(at(s), root_end))
        finally:
            root.end(end_time=root_end)

    def _stages(
        self, root: Any, timing: TurnTiming, start: float, at: Callable[[float], int]
    ) -> None:
        from opentelemetry import trace

        context = trace.set_span_in_context(root)

        def stage(name: str, begin_s: float, duration_ms: float, **attrs: Any) -> None:
            span = self.tracer.start_span(
                name, context=context, start_time=at(begin_s), attributes=attrs
            )
            span.end(end_time=at(begin_s + duration_ms / 1000.0))

        endpoint_end = start
        if timing.endpoint_ms is not None:
            stage("vad.endpoint", start, timing.endpoint_ms)
            endpoint_end = start + timing.endpoint_ms / 1000.0
        if timing.asr_ms is not None:
            # A speculative transcript was ready before the endpoint: a zero-length span.
            stage("asr", endpoint_end, timing.asr_ms, speculative=timing.speculative_asr)
        if timing.reply_started_at is not None and timing.llm_ttft_ms is not None:
            stage("llm.first_token", timing.reply_started_at, timing.llm_ttft_ms)
        if timing.first_answer_ms is not None and timing.tts_first_audio_ms is not None:
            answer_at = start + timing.first_answer_ms / 1000.0
            stage("tts.first_audio", answer_at - timing.tts_first_audio_ms / 1000.0,
                  timing.tts_first_audio_ms)  # fmt: skip
        if timing.backchannel and timing.voice_to_voice_ms is not None:
            root.add_event("backchannel", timestamp=at(start + timing.voice_to_voice_ms / 1000))

    def shutdown(self) -> None:
        self.provider.shutdown()


def make_turn_tracer(mode: str, exporter: SpanExporter | None = None) -> TurnTracer | None:
    """The tracer for ``CALLCENTER_OTEL_TRACES`` (``off`` -> None). ``exporter`` overrides
    the one the mode names (tests pass an in-memory exporter)."""
    if mode == "off" and exporter is None:
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as error:
        raise TracingUnavailable(
            "CALLCENTER_OTEL_TRACES is set but OpenTelemetry is not installed: "
            "pip install 'callcenter[tracing]'"
        ) from error
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif mode == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Batched: export happens on the SDK's own thread, never on the event loop.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    log.info("OpenTelemetry turn traces on (%s)", "custom exporter" if exporter else mode)
    return TurnTracer(provider)
