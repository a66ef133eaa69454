"""What happens in a call, as typed events the stages hand to the session.

Every event is a frozen dataclass: a fact about the call at one moment, never a request
that something be done later. The session routes them between the stages and hands each
one to its observers (tests, tracing): see ``docs/architecture.md``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

import numpy as np


class AgentState(enum.StrEnum):
    listening = "listening"  # waiting for the caller
    thinking = "thinking"  # ASR/LLM at work, nothing audible yet
    speaking = "speaking"  # agent audio is going out


@dataclass(frozen=True)
class AgentStateChanged:
    old: AgentState
    new: AgentState


# --- the caller ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CallerSpeechStarted:
    """The VAD heard the caller start (or resume) a turn."""

    at_ms: float


@dataclass(frozen=True, eq=False)
class CallerPaused:
    """The caller went quiet; the turn may be over (speculative work can start)."""

    audio: np.ndarray = field(repr=False)
    end_ms: float  # stream time where the speech ended (identifies the turn)
    end_wall: float  # the same moment on the event loop's clock


@dataclass(frozen=True, eq=False)
class CallerTurnEnded:
    """The endpointer decided the caller's turn is over."""

    audio: np.ndarray = field(repr=False)
    end_ms: float
    end_wall: float
    lag_s: float  # how long after the speech ended the endpointer decided
    truncated: bool = False
    # The words stopped mid-sentence ("my number is") and the caller stayed silent
    # (``turn_prompt_after_ms``): prompt gently, keep the words for the next turn.
    unfinished: bool = False


CallerSource = Literal["speech", "dtmf"]


@dataclass(frozen=True)
class CallerText:
    """A caller turn as text: a transcript, or a run of keyed digits."""

    text: str
    source: CallerSource
    end_wall: float
    confidence: float | None = None


@dataclass(frozen=True)
class DtmfPressed:
    digit: str


# --- the agent ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentClause:
    """A clause the agent is about to say (after the guard and the acknowledgement filter)."""

    turn_id: str
    text: str


@dataclass(frozen=True)
class AgentAudioSent:
    """The first audio of an agent utterance left for the caller."""

    turn_id: str
    at: float


@dataclass(frozen=True)
class PlaybackFinished:
    """An agent utterance is over: fully played, or cut, with what the caller heard."""

    turn_id: str
    interrupted: bool
    heard_text: str
    text: str


InterruptCause = Literal["speech", "dtmf", "turn"]


@dataclass(frozen=True)
class Interrupted:
    """The caller took the floor while the agent was talking: its audio was cleared."""

    turn_id: str
    cause: InterruptCause


@dataclass(frozen=True)
class Resumed:
    """The caller's sound over the agent was a backchannel or a noise ("mm-hmm"): the
    agent, paused for it, goes on where it was."""

    turn_id: str
    heard: str  # what the caller said ("" = a noise)


@dataclass(frozen=True)
class Escalate:
    reason: str


@dataclass(frozen=True)
class HangUp:
    """The agent ends the call (its last line has been said)."""


CallEvent = (
    AgentStateChanged
    | CallerSpeechStarted
    | CallerPaused
    | CallerTurnEnded
    | CallerText
    | DtmfPressed
    | AgentClause
    | AgentAudioSent
    | PlaybackFinished
    | Interrupted
    | Resumed
    | Escalate
    | HangUp
)
