"""Voice-to-voice latency, barge-in reaction and concurrency, measured from outside.

The simulated caller (the Twilio side) timestamps the end of its own speech and the first
agent audio that reaches it, and the onset of an interruption and the `clear` that answers
it; the server's per-stage breakdown comes from its `turn_timing` call events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
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


def interruption_call(
    after_ms: tuple[int, ...], interruptions: Sequence[Say] = (Say(text=INTERRUPTION),)
) -> list[Step]:
    """One call, one interruption per entry: the caller asks a question with a long
    answer and cuts the agent off ``after_ms`` into it, with the interruptions in turn."""
    steps: list[Step] = [WaitAgent(quiet_ms=600, timeout_ms=60_000)]
    for k, delay in enumerate(after_ms):
        steps += [
            Say(text=LONG_QUESTION),
            Interrupt(say=interruptions[k % len(interruptions)], after_ms=delay, timeout_ms=60_000),
            WaitAgent(quiet_ms=900, timeout_ms=60_000),
        ]
    return [*steps, Hangup()]


def human_interruptions(speech_data: Path, count: int = 6) -> list[Path]:
    """Short real recordings to interrupt with: one spoken digit ("two", "eight") from each
    FSDD speaker, as short and soft-onset as "no" or "wait" is on a phone line."""
    folder = speech_data / "fsdd_8k"
    if not folder.is_dir():
        return []
    speakers = sorted({wav.name.split("_")[1] for wav in folder.glob("*_*_*.wav")})
    chosen = []
    for k, speaker in enumerate(speakers[:count]):
        digit, take = (2 + 3 * k) % 10, k % 5
        wav = folder / f"{digit}_{speaker}_{take}.wav"
        if wav.exists():
            chosen.append(wav)
    return chosen


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


async def barge_in(
    app: BenchApp, calls: int, per_call: int = 3, human_clips: Sequence[Path] = ()
) -> dict[str, Any]:
    """Caller speech onset -> `clear`, as the simulated Twilio side sees it. With
    ``human_clips``, every other interruption is a real recording instead of Piper."""
    piper, human = Say(text=INTERRUPTION), [Say(wav=str(clip)) for clip in human_clips]
    delays: dict[str, list[float]] = {"piper": [], **({"human": []} if human else {})}
    quiet: list[float] = []
    missed = 0
    for index in range(calls):
        numbers = [index * per_call + k for k in range(per_call)]
        # Interrupt at different points of the answer (first clause, later clauses).
        offsets = tuple(400 + 150 * (n % 5) for n in numbers)
        says = [human[n // 2 % len(human)] if human and n % 2 else piper for n in numbers]
        steps = interruption_call(offsets, says)
        result = await app.call(steps)
        cleared = [i for i in result.interruptions if i.clear_delay_ms is not None]
        missed += per_call - len(cleared)
        for interruption in cleared:
            step = steps[interruption.step]
            voice = "human" if isinstance(step, Interrupt) and step.say.wav else "piper"
            delays[voice].append(float(interruption.clear_delay_ms or 0))
            if interruption.quiet_delay_ms is not None:
                quiet.append(float(interruption.quiet_delay_ms))
    return {
        "calls": calls,
        "interruptions": calls * per_call,
        "onset_to_clear_ms": summary([d for values in delays.values() for d in values]),
        # What the caller hears: the agent pauses for a candidate barge-in before the
        # clear that confirms it (callcenter/dialogue/floor.py).
        "onset_to_quiet_ms": summary(quiet),
        "by_voice": {name: summary(values) for name, values in delays.items()},
        "human_clips": [clip.name for clip in human_clips],
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
