"""What a simulated call produced: the timeline, per-turn delays, the agent's audio."""

from __future__ import annotations

import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from callcenter.audio.g711 import PHONE_RATE, SAMPLE_WIDTH, ulaw_to_pcm16


@dataclass(frozen=True)
class TimelineEvent:
    t_ms: int  # call time since the stream started (20 ms resolution: Twilio's frame clock)
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnMetrics:
    step: int
    label: str
    start_ms: int
    end_ms: int
    # End of caller speech -> first agent media message that arrived after it.
    response_delay_ms: int | None


@dataclass(frozen=True)
class InterruptionMetrics:
    step: int
    onset_ms: int
    clear_ms: int | None
    # Interruption onset -> the agent's `clear` (None: the agent never cleared).
    clear_delay_ms: int | None
    dropped_ms: int  # agent audio the clear removed from Twilio's buffer


@dataclass
class SimulationResult:
    call_sid: str
    answer: str = ""  # "stream", "enqueue", "dial", "say", "http_403", ...
    twiml: str = ""
    stream_sid: str = ""
    events: list[TimelineEvent] = field(default_factory=list)
    turns: list[TurnMetrics] = field(default_factory=list)
    interruptions: list[InterruptionMetrics] = field(default_factory=list)
    twilio_errors: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    end_reason: str = ""
    duration_ms: int = 0
    agent_audio: bytes = b""  # what the caller heard, on the call's clock (silence included)

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]

    def of_kind(self, kind: str) -> list[TimelineEvent]:
        return [event for event in self.events if event.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("agent_audio")
        data["agent_audio_ms"] = len(self.agent_audio) * 1000 // PHONE_RATE
        return data

    def write_wav(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(SAMPLE_WIDTH)
            out.setframerate(PHONE_RATE)
            out.writeframes(ulaw_to_pcm16(self.agent_audio))


def compute_metrics(result: SimulationResult) -> None:
    """Fill ``turns`` and ``interruptions`` from the timeline."""
    arrivals = [e.t_ms for e in result.events if e.kind == "agent_media"]
    clears = [e for e in result.events if e.kind == "clear_received"]
    starts: dict[int, TimelineEvent] = {}
    for event in result.events:
        step = int(event.data.get("step", -1))
        if event.kind in ("caller_speech_start", "interruption_onset"):
            starts[step] = event
        elif event.kind == "caller_speech_end" and step in starts:
            start = starts[step]
            if start.kind == "interruption_onset":
                clear = next((c for c in clears if c.t_ms >= start.t_ms), None)
                result.interruptions.append(
                    InterruptionMetrics(
                        step=step,
                        onset_ms=start.t_ms,
                        clear_ms=clear.t_ms if clear else None,
                        clear_delay_ms=clear.t_ms - start.t_ms if clear else None,
                        dropped_ms=int(clear.data.get("dropped_ms", 0)) if clear else 0,
                    )
                )
                continue
            first = next((t for t in arrivals if t >= event.t_ms), None)
            result.turns.append(
                TurnMetrics(
                    step=step,
                    label=str(start.data.get("label", "")),
                    start_ms=start.t_ms,
                    end_ms=event.t_ms,
                    response_delay_ms=first - event.t_ms if first is not None else None,
                )
            )
