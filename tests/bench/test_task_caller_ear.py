"""The simulated caller hears everything the agent says, also what the agent says while the
caller's own ear (ASR) is still transcribing the previous part (on a loaded machine that
takes seconds, and the agent's next sentence went unheard: the caller then waited for a
question it had missed)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from callcenter.asr.base import Transcript
from callcenter.bench.task_caller import CallerMind, TaskCaller
from callcenter.bench.task_goals import GOALS

MS = 8  # μ-law bytes per millisecond
TONE = bytes(np.full(8 * 20, 0x10, dtype=np.uint8))  # 20 ms of loud μ-law
QUIET = b"\xff" * (8 * 20)


@dataclass
class Line:
    """A call line on a 20 ms clock; the agent's audio is scripted per tick."""

    agent: dict[int, bytes]  # tick -> 20 ms the agent plays then
    tick_no: int = 0
    audio: bytearray = field(default_factory=bytearray)
    last_played: int | None = None
    said: list[str] = field(default_factory=list)

    @property
    def now_ms(self) -> int:
        return self.tick_no * 20

    def agent_audio(self, since_ms: int) -> bytes:
        return bytes(self.audio[since_ms * MS :])

    @property
    def agent_speaking(self) -> bool:
        return self.tick_no in self.agent

    @property
    def agent_last_played_ms(self) -> int | None:
        return self.last_played

    async def tick(self) -> None:
        self.tick_no += 1
        chunk = self.agent.get(self.tick_no, QUIET)
        if chunk is not QUIET:
            self.last_played = self.now_ms
        self.audio += chunk
        await asyncio.sleep(0)

    async def say(self, ulaw: bytes, label: str) -> None:
        self.said.append(label)

    async def press(self, keys: str) -> None:
        self.said.append(f"press {keys}")

    def note(self, kind: str, **data: object) -> None:
        return None


class SlowEar:
    """An ASR that takes 3 s of call time per utterance; meanwhile the agent speaks on.
    It "hears" a scripted text per utterance and keeps how much audio it was given."""

    def __init__(self, line: Line, texts: list[str]) -> None:
        self.line, self.texts, self.loud_ms = line, texts, []

    async def transcribe(self, audio: np.ndarray, *, hint: str | None = None) -> Transcript:
        loud = int(np.sum(np.abs(audio) > 0.05)) // 16
        self.loud_ms.append(loud)
        for _ in range(150):  # 3 s of call time pass
            await self.line.tick()
        return Transcript(self.texts.pop(0) if self.texts else "", 0.9, 0.0)

    async def close(self) -> None:
        return None


def test_what_the_agent_says_while_the_caller_transcribes_is_heard_next() -> None:
    # The agent: "Thanks." (0.4 s), a 1.6 s gap (its next sentence being synthesised),
    # then the question (1 s), which plays while the caller transcribes "Thanks.".
    agent = {t: TONE for t in range(1, 21)} | {t: TONE for t in range(101, 151)}
    line = Line(agent)
    goal = next(goal for goal in GOALS if goal.name == "balance")
    ear = SlowEar(line, ["Thanks.", "Account one zero zero one. Now please tell me your PIN."])
    caller = TaskCaller(CallerMind(goal), ear, lambda text, _again: TONE, max_turns=1)
    asyncio.run(caller(line))  # type: ignore[arg-type]
    assert ear.loud_ms[1] >= 900, ear.loud_ms  # the question was in what it heard next
    assert line.said == ["four three two one"]
