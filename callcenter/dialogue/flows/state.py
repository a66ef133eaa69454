"""A call's flow state: the task under way, the tasks it interrupted, what the agent waits
for. Plain data, copied before a (possibly speculative) turn and committed after it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Task:
    flow: str
    slots: dict[str, Any] = field(default_factory=dict)
    # The slot name the agent asked for, "confirm" (a read-back), or None.
    awaiting: str | None = None
    misses: int = 0
    confirmed: bool = False
    # Digits of a number the caller has begun to say (the turn ended mid-number).
    partial: str = ""


@dataclass
class FlowState:
    task: Task | None = None
    # Tasks put aside ("actually, block my card first"), resumed last-in first-out.
    suspended: list[Task] = field(default_factory=list)
    # "transfer": the agent offered a person and waits for yes or no; "more": it asked
    # whether there is anything else (a plain "no" ends the call); "task:NAME": the model
    # guessed a task and the agent asked whether that is it.
    offer: str | None = None
    turns_not_understood: int = 0
