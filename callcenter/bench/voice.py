"""Voice-to-voice latency, barge-in reaction and concurrency, measured from outside.

The simulated caller (the Twilio side) timestamps the end of its own speech and the first
agent audio that reaches it, and the onset of an interruption and the `clear` that answers
it; the server's per-stage breakdown comes from its `turn_timing` call events.
"""

from __future__ import annotations

import asyncio
from typing import Any

from callcenter.bench.harness import BenchApp
from callcenter.bench.stats import summary
from callcenter.simulator.result import SimulationResult
from callcenter.simulator.script import Hangup, Interrupt, Say, Step, WaitAgent

QUESTIONS = (
    "What are your opening hours?",
    "Do you have a website?",
    "Can I check my balance please?",
    "My account number is one zero zero one.",
    "Okay, thank you.",
)
LONG_QUESTION = "Can you tell me everything you can help me with today?"
INTERRUPTION = "Wait, stop, sorry."
STAGES = (
    "endpoint_ms",
    "asr_ms",
    "llm_ttft_ms",
    "tts_first_audio_ms",
    "voice_to_voice_ms",
    "first_answer_ms",
)


def conversation(questions: tuple[str, ...] = QUESTIONS) -> list[Step]:
    steps: list[Step] = [WaitAgent(quiet_ms=600, timeout_ms=60_000)]
    for question in questions:
        steps += [Say(text=question), WaitAgent(quiet_ms=900, timeout_ms=60_000)]
    return [*steps, Hangup()]


def interruption_call(after_ms: tuple[int, ...]) -> list[Step]:
    """One call, one interruption per entry: the caller asks a question with a long
    answer and cuts the agent off ``after_ms`` into it."""
    steps: list[Step] = [WaitAgent(quiet_ms=600, timeout_ms=60_000)]
    for delay in after_ms:
        steps += [
            Say(text=LONG_QUESTION),
            Interrupt(say=Say(text=INTERRUPTION), after_ms=delay, timeout_ms=60_000),
            WaitAgent(quiet_ms=900, timeout_ms=60_000),
        ]
    return [*steps, Hangup()]


def _external_delays(results: list[SimulationResult]) -> list[float]:
    return [
        float(turn.response_delay_ms)
        for result in results
        for turn in result.turns
        if turn.response_delay_ms is not None
    ]


async def voice_latency(app: BenchApp, calls: int) -> dict[str, Any]:
    results = [await app.call(conversation()) for _ in range(calls)]
    timings = [t for r in results for t in app.turn_timings(r.call_sid)]
    transcripts = [app.transcript(r.call_sid) for r in results]
    return {
        "per_turn": [
            {"external_ms": turn.response_delay_ms, "caller": turn.label}
            for result in results
            for turn in result.turns
        ],
        "server_turns": timings,
        "transcripts": transcripts,
        "calls": calls,
        "turns": len(timings),
        "external_voice_to_voice_ms": summary(_external_delays(results)),
        "server_stages_ms": {
            stage: summary([float(t[stage]) for t in timings if t.get(stage) is not None])
            for stage in STAGES
        },
        "speculative_asr_share": round(
            sum(1 for t in timings if t.get("speculative_asr")) / max(1, len(timings)), 2
        ),
    }


async def barge_in(app: BenchApp, calls: int, per_call: int = 3) -> dict[str, Any]:
    delays: list[float] = []
    missed = 0
    for index in range(calls):
        # Interrupt at different points of the answer (first clause, later clauses).
        offsets = tuple(400 + 150 * ((index * per_call + k) % 5) for k in range(per_call))
        result = await app.call(interruption_call(offsets))
        for interruption in result.interruptions:
            if interruption.clear_delay_ms is None:
                missed += 1
            else:
                delays.append(float(interruption.clear_delay_ms))
    return {
        "calls": calls,
        "interruptions": calls * per_call,
        "onset_to_clear_ms": summary(delays),
        "no_clear": missed,
    }


async def concurrency(app: BenchApp, levels: tuple[int, ...], budget_ms: float) -> dict[str, Any]:
    out: dict[str, Any] = {"budget_p95_ms": budget_ms, "levels": {}}
    held = 0
    for level in levels:
        results = await asyncio.gather(
            *(app.call(conversation(QUESTIONS[:3])) for _ in range(level))
        )
        stats = summary(_external_delays(list(results)))
        dropped = sum(1 for r in results if r.answer != "stream" or not r.turns)
        out["levels"][str(level)] = {**stats, "dropped_calls": dropped}
        if stats.get("count") and float(stats["p95"]) < budget_ms and dropped == 0:
            held = level
    out["max_calls_within_budget"] = held
    return out
