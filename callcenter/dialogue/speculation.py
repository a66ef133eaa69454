"""A caller turn answered speculatively while endpointing still waits for silence."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from callcenter.dialogue.timing import TurnTiming


@dataclass(eq=False)
class Speculation:
    end_ms: float  # stream time where the caller's speech ended (identifies the turn)
    end_wall: float  # the same moment on the monotonic clock
    timing: TurnTiming = field(default_factory=TurnTiming)
    # Opens when the endpointer confirms the turn; audio out and tool calls wait on it.
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[Any] | None = None
    transcript_ready: float | None = None
    confirmed_at: float | None = None
    abandoned: bool = False
    # Set once the caller turn was recorded (so an abandoned one can be taken back).
    seq: int | None = None
    history_entry: dict[str, Any] | None = None
    merged: str = ""
