"""Per-turn OpenTelemetry traces: the spans carry the measured stage timings."""

from __future__ import annotations

import time

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from callcenter.tracing import make_turn_tracer
from callcenter.turn_timing import TurnTiming


def _ms(span_start: int | None, span_end: int | None) -> float:
    assert span_start is not None and span_end is not None
    return (span_end - span_start) / 1e6


def test_a_turn_becomes_one_trace_with_a_span_per_stage() -> None:
    exporter = InMemorySpanExporter()
    tracer = make_turn_tracer("off", exporter=exporter)
    assert tracer is not None
    speech_end = time.monotonic() - 2.0
    timing = TurnTiming(
        endpoint_ms=400.0,
        asr_ms=0.0,
        speculative_asr=True,
        llm_ttft_ms=350.0,
        tts_first_audio_ms=150.0,
        voice_to_voice_ms=700.0,
        backchannel=True,
        first_answer_ms=1100.0,
        speech_end_at=speech_end,
        reply_started_at=speech_end + 0.3,
    )
    tracer.record_turn("call-123", timing)

    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"turn", "vad.endpoint", "asr", "llm.first_token", "tts.first_audio"}
    root = spans["turn"]
    assert root.attributes is not None and root.attributes["call.id"] == "call-123"
    assert root.attributes["turn.voice_to_voice_ms"] == 700.0
    assert _ms(root.start_time, root.end_time) == pytest.approx(1100.0, abs=1.0)
    assert [e.name for e in root.events] == ["backchannel"]
    assert root.context is not None
    for name in ("vad.endpoint", "asr", "llm.first_token", "tts.first_audio"):
        child = spans[name]
        assert child.parent is not None and child.parent.span_id == root.context.span_id
        assert child.context is not None and child.context.trace_id == root.context.trace_id
    assert _ms(spans["vad.endpoint"].start_time, spans["vad.endpoint"].end_time) == (
        pytest.approx(400.0, abs=1.0)
    )
    llm = spans["llm.first_token"]
    assert _ms(root.start_time, llm.start_time) == pytest.approx(300.0, abs=1.0)
    assert _ms(llm.start_time, llm.end_time) == pytest.approx(350.0, abs=1.0)
    tts = spans["tts.first_audio"]
    # The answer's first audio ends the TTS span, and the turn, 1100 ms after speech end.
    assert tts.end_time == root.end_time
    assert _ms(tts.start_time, tts.end_time) == pytest.approx(150.0, abs=1.0)


def test_audio_with_no_caller_turn_behind_it_is_not_traced() -> None:
    exporter = InMemorySpanExporter()
    tracer = make_turn_tracer("off", exporter=exporter)
    assert tracer is not None
    tracer.record_turn("call-1", TurnTiming(voice_to_voice_ms=None))
    assert exporter.get_finished_spans() == ()


def test_tracing_is_off_by_default() -> None:
    assert make_turn_tracer("off") is None
