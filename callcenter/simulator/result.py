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
    # Interruption onset -> the caller stops hearing the agent (its audio goes quiet for
    # QUIET_MS or the clear, whichever is first): the agent may pause before it clears.
    quiet_delay_ms: int | None = None


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


QUIET_MS = 200
_FRAME = PHONE_RATE // 50  # 20 ms of μ-law


def quiet_from(agent_audio: bytes, onset_ms: int, until_ms: int | None) -> int | None:
    """When, at or after ``onset_ms``, the agent's audio went quiet for ``QUIET_MS``
    (the start of that quiet stretch), or ``until_ms`` if it did not before then."""
    import numpy as np

    from callcenter.audio.g711 import ulaw_to_float

    samples = ulaw_to_float(agent_audio)
    frames = len(samples) // _FRAME
    loud = np.abs(samples[: frames * _FRAME].reshape(frames, _FRAME)).max(axis=1) > 0.02
    need = QUIET_MS // 20
    start = onset_ms // 20
    stop = frames if until_ms is None else min(frames, until_ms // 20)
    run = 0
    for index in range(start, frames):
        if index >= stop:
            return until_ms
        run = 0 if loud[index] else run + 1
        if run >= need:
            return (index - need + 1) * 20
    return until_ms if until_ms is not None else frames * 20


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
                quiet = quiet_from(result.agent_audio, start.t_ms, clear.t_ms if clear else None)
                result.interruptions.append(
                    InterruptionMetrics(
                        step=step,
                        onset_ms=start.t_ms,
                        clear_ms=clear.t_ms if clear else None,
                        clear_delay_ms=clear.t_ms - start.t_ms if clear else None,
                        dropped_ms=int(clear.data.get("dropped_ms", 0)) if clear else 0,
                        quiet_delay_ms=quiet - start.t_ms if quiet is not None else None,
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
