"""Per-turn stage timings: where the time between the caller's last word and the agent's
first audio went. Recorded as a `turn_timing` call event and as Prometheus histograms."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass
class TurnTiming:
    # End of caller speech -> the endpointer decided the turn was over (mostly silence).
    endpoint_ms: float | None = None
    # Endpoint -> transcript ready (≈ 0 when the speculative transcript was reused).
    asr_ms: float | None = None
    speculative_asr: bool = False
    # Reply start -> first LLM token (text or tool call).
    llm_ttft_ms: float | None = None
    # First clause ready -> its first audio sent to Twilio.
    tts_first_audio_ms: float | None = None
    # End of caller speech -> first agent audio sent (the number callers feel).
    voice_to_voice_ms: float | None = None
    # The first audio was a backchannel ("Okay.") because the answer was not ready.
    backchannel: bool = False
    # End of caller speech -> first audio of the answer itself.
    first_answer_ms: float | None = None
    # time.monotonic() marks for traces (not part of the recorded event): when the
    # caller stopped speaking and when the reply (LLM request) started.
    speech_end_at: float | None = field(default=None, metadata={"mark": True})
    reply_started_at: float | None = field(default=None, metadata={"mark": True})

    def as_payload(self) -> dict[str, float | bool | None]:
        values = {f.name: getattr(self, f.name) for f in fields(self) if not f.metadata.get("mark")}
        return {k: (round(v, 1) if isinstance(v, float) else v) for k, v in values.items()}
