"""`callcenter bench tasks`: caller goals played end to end, judged by the database.

Every goal is one real-time call per caller voice against the in-process app with the
embedded models: the reactive caller (:mod:`callcenter.bench.task_caller`) hears the
agent and answers in an espeak-ng voice (with real people's digits where the voice has
them); the demo accounts are reset before each call; the judge reads the end state.
Reported: task success, caller turns and seconds per task, policy violations, and the
answer latency (end of caller speech → first audio of the answer itself, on the
server's clock) beside the first-audio latency (which a backchannel may satisfy).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from callcenter.asr import Transcriber, make_local_transcriber
from callcenter.bench.harness import BenchApp
from callcenter.bench.stats import summary
from callcenter.bench.task_caller import CallerMind, TaskCaller
from callcenter.bench.task_goals import Goal
from callcenter.bench.task_store import (
    known_texts,
    load_record,
    reset,
    wait_call_written,
)
from callcenter.bench.voices import CallerVoice, VoiceRenderer
from callcenter.scenarios.demo_state import demo_baseline, demo_transactions
from callcenter.scenarios.judge import judge


def caller_ear(app: BenchApp) -> Transcriber:
    """The caller's own Whisper, on the bench's event loop (the app's belongs to the
    server's loop and thread)."""
    return make_local_transcriber(app.settings)


TIMELINE = {
    "agent_playout_start",
    "agent_playout_end",
    "caller_speech_start",
    "caller_speech_end",
    "dtmf",
    "caller_gave_up",
    "call_ended",
}


async def play_goal(
    app: BenchApp, goal: Goal, renderer: VoiceRenderer, ear: Transcriber
) -> dict[str, Any]:
    """One call: reset the accounts, play the goal, judge it. Returns the call's row."""
    reset(app.engine)
    caller = TaskCaller(CallerMind(goal), ear, renderer.render)
    started = time.monotonic()
    result = await app.call([], driver=caller)
    wait_call_written(app.engine, result.call_sid)
    record = load_record(app.engine, result.call_sid)
    verdict = judge(goal, record, demo_baseline(), demo_transactions(), known_texts())
    timings = app.turn_timings(result.call_sid)
    return {
        "goal": goal.name,
        "family": goal.family,
        "voice": renderer.voice.name,
        "call_sid": result.call_sid,
        **verdict.as_dict(),
        "caller_turns": caller.turns,
        "call_s": round(result.duration_ms / 1000, 1),
        "wall_s": round(time.monotonic() - started, 1),
        "end_reason": result.end_reason,
        "first_audio_ms": [t.get("voice_to_voice_ms") for t in timings],
        "answer_first_audio_ms": [t.get("first_answer_ms") for t in timings],
        "backchannel": [bool(t.get("backchannel")) for t in timings],
        "peer_first_audio_ms": [t.response_delay_ms for t in result.turns],
        "dialogue": [{"heard": heard, "reply": reply} for heard, reply in caller.mind.log],
        "timeline": [
            f"{event.t_ms} {event.kind}" for event in result.events if event.kind in TIMELINE
        ],
        "transcript": app.transcript(result.call_sid),
    }


async def run_tasks(
    app: BenchApp,
    goals: Sequence[Goal],
    voices: Sequence[CallerVoice],
    cache_dir: Path,
    fsdd_dir: Path | None,
    *,
    log_path: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Every goal in every voice; each call's row is also appended to ``log_path``
    (JSON lines) as soon as it is judged, so a long run can be followed."""
    calls: list[dict[str, Any]] = []
    ear = caller_ear(app)
    if log_path is not None:
        _append(log_path, None)
    try:
        for voice in voices:
            renderer = VoiceRenderer(voice, cache_dir, fsdd_dir)
            for goal in goals:
                row = await play_goal(app, goal, renderer, ear)
                calls.append(row)
                if log_path is not None:
                    _append(log_path, row)
                if progress:
                    mark = "ok  " if row["success"] else "FAIL"
                    why = "; ".join(row["failures"] + row["violations"])[:160]
                    print(
                        f"[{mark}] {voice.name:16} {goal.name:34} {row['call_s']:5.1f}s {why}",
                        flush=True,
                    )
    finally:
        await ear.close()
    return summarise(calls)


def _append(path: Path, row: dict[str, Any] | None) -> None:
    """One JSON line per call (None: start the file afresh)."""
    if row is None:
        path.write_text("")
        return
    with path.open("a") as log:
        log.write(json.dumps(row, default=str) + "\n")


def _values(calls: list[dict[str, Any]], key: str) -> list[float]:
    return [float(v) for call in calls for v in call[key] if v is not None]


def summarise(calls: list[dict[str, Any]]) -> dict[str, Any]:
    by_family: dict[str, list[bool]] = defaultdict(list)
    by_voice: dict[str, list[bool]] = defaultdict(list)
    for call in calls:
        by_family[call["family"]].append(call["success"])
        by_voice[call["voice"]].append(call["success"])
    kinds = Counter(v.split(":", 1)[0] for call in calls for v in call["violations"])
    backchannels = [b for call in calls for b in call["backchannel"]]
    return {
        "calls": len(calls),
        "success_pct": _pct([c["success"] for c in calls]),
        "by_family_pct": {name: _pct(values) for name, values in sorted(by_family.items())},
        "by_voice_pct": {name: _pct(values) for name, values in sorted(by_voice.items())},
        "caller_turns": summary([float(c["caller_turns"]) for c in calls]),
        "call_seconds": summary([float(c["call_s"]) for c in calls]),
        "policy_violations": sum(len(c["violations"]) for c in calls),
        "violations_by_kind": dict(kinds),
        "answer_first_audio_ms": summary(_values(calls, "answer_first_audio_ms")),
        "first_audio_ms": summary(_values(calls, "first_audio_ms")),
        "peer_first_audio_ms": summary(_values(calls, "peer_first_audio_ms")),
        "backchannel_share": round(sum(backchannels) / max(1, len(backchannels)), 2),
        "per_call": calls,
    }


def _pct(values: Sequence[bool]) -> float:
    return round(100.0 * sum(values) / max(1, len(values)), 1)


def table(report: dict[str, Any]) -> str:
    """The headline as a Markdown table (printed, and pasted into the README)."""
    answer, first = report["answer_first_audio_ms"], report["first_audio_ms"]
    turns, seconds = report["caller_turns"], report["call_seconds"]
    rows = [
        ("task success", f"{report['success_pct']} % of {report['calls']} calls"),
        ("… by voice", ", ".join(f"{k} {v} %" for k, v in report["by_voice_pct"].items())),
        ("… by goal family", ", ".join(f"{k} {v} %" for k, v in report["by_family_pct"].items())),
        ("caller turns per task", f"p50 {turns.get('p50')}, max {turns.get('max')}"),
        ("seconds per task (call time)", f"p50 {seconds.get('p50')}, max {seconds.get('max')}"),
        (
            "policy violations",
            f"{report['policy_violations']} {report['violations_by_kind'] or ''}".strip(),
        ),
        (
            "end of caller speech → first audio of the answer itself",
            f"p50 {answer.get('p50')} ms, p95 {answer.get('p95')} ms ({answer.get('count')} turns)",
        ),
        (
            "… → first audio, backchannel included",
            f"p50 {first.get('p50')} ms, p95 {first.get('p95')} ms "
            f"(backchannel in {round(100 * report['backchannel_share'])} % of turns)",
        ),
    ]
    lines = ["| measure | result |", "|---|---|"]
    return "\n".join(lines + [f"| {name} | {value} |" for name, value in rows])


def chart(report: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    families = report["by_family_pct"]
    left.bar(list(families), list(families.values()), color="tab:green")
    left.axhline(90, color="tab:red", linestyle="--", linewidth=1, label="target 90 %")
    left.set_ylim(0, 105)
    left.set_title("task success by goal family (%)", fontsize=10)
    left.tick_params(axis="x", rotation=30, labelsize=8)
    left.legend(fontsize=8, loc="lower left")
    calls = report["per_call"]
    # Slower answers are counted in the last bin rather than dropped.
    answer = [min(v, 4100.0) for v in _values(calls, "answer_first_audio_ms")]
    first = [min(v, 4100.0) for v in _values(calls, "first_audio_ms")]
    bins = list(range(0, 4400, 200))
    right.hist([first, answer], bins=bins, label=["first audio (any)", "answer itself"])
    right.axvline(1000, color="tab:red", linestyle="--", linewidth=1, label="1.0 s")
    right.set_title("end of caller speech → agent audio (ms)", fontsize=10)
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
