"""`callcenter bench [voice|asr|llm|all]`: run the benchmarks, write JSON and a PNG."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from callcenter.bench.voices import DEFAULT_VOICES, VOICES
from callcenter.settings import Settings

# The recordings ship with the repository (tests/data/, with their licences), so a clone
# anywhere can run the benchmarks.
DEFAULT_SPEECH_DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "speech"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = commands.add_parser("bench", help="benchmarks with the real embedded models")
    bench.add_argument(
        "suite",
        nargs="?",
        default="all",
        choices=[
            "all",
            "voice",
            "asr",
            "llm",
            "tasks",
            "turns",
            "vocabulary",
            "steering",
            "resampling",
            "languages",
        ],
        help="all = voice, asr and llm; tasks (caller goals end to end, ~40 min), turns "
        "(end of turn and backchannels on recordings), vocabulary (the glossary's gain "
        "on street, town and plan names), steering (priming ASR for a yes/no or a date), "
        "resampling (the 8 -> 16 kHz filter the ASR reads) and languages (en/es/de: "
        "language ID, WER, agent voice, tasks, first audio) run alone",
    )
    bench.add_argument("--out", type=Path, default=Path("bench-results"))
    bench.add_argument("--calls", type=int, default=3, help="calls per latency scenario")
    bench.add_argument("--concurrency", default="1,2,3,4", help="concurrent call levels")
    bench.add_argument(
        "--speech-data",
        type=Path,
        default=DEFAULT_SPEECH_DATA,
        help="folder with fsdd_8k/ and osr_8k/ (ASR accuracy, real-voice interruptions); "
        "default: the recordings the repository carries in tests/data/speech",
    )
    bench.add_argument(
        "--scripted-llm",
        action="store_true",
        help="answer with a fixed scripted LLM instead of the embedded model",
    )
    bench.add_argument("--goals", help="tasks: goal names or families, comma-separated")
    bench.add_argument(
        "--voices",
        default=",".join(DEFAULT_VOICES),
        help=f"tasks: caller voices, comma-separated, from {', '.join(VOICES)}",
    )
    bench.add_argument("--quick", action="store_true", help="tasks: the quick subset of goals")
    bench.add_argument(
        "--part",
        default="all",
        choices=["all", "endpointing", "interruptions", "concurrent"],
        help="turns: run one part only",
    )
    bench.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.bench.report import machine, write_report

    report: dict[str, Any] = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M")}
    if args.suite == "tasks":
        return _tasks(args, report)
    if args.suite == "vocabulary":
        return _vocabulary(args, report)
    if args.suite == "steering":
        return _steering(args, report)
    if args.suite == "resampling":
        return _resampling(args, report)
    if args.suite == "languages":
        from callcenter.bench.languages import run_languages_bench, table

        report["languages"] = run_languages_bench(quick=args.quick)
        args.out.mkdir(parents=True, exist_ok=True)
        json_path = args.out / "bench-languages.json"
        json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
        print(table(report["languages"]))
        print(f"report: {json_path}")
        return 0
    if args.suite == "turns":
        # Offline, no server: the listening stage and the ASR on recordings.
        from callcenter.bench.turns import run_turns_bench, write_turns_report

        report |= run_turns_bench(settings, args.speech_data, args.part)
        json_path, chart = write_turns_report(report, args.out)
        shown = ("vad_alone", "semantic", "turn_model_concurrency")
        print(json.dumps({key: report[key] for key in shown if key in report}))
        if "interruptions" in report:
            reaction = report["interruptions"]["pause_reaction"]
            print(json.dumps({"pause_reaction": reaction}))
        print(f"report: {json_path}" + (f", chart: {chart}" if chart else ""))
        return 0
    if args.suite in ("all", "voice"):
        report |= asyncio.run(_voice(args))
    if args.suite in ("all", "asr"):
        from callcenter.asr.bench import run_asr_bench

        asr = run_asr_bench(args.speech_data)
        for key in ("fsdd_digits_hint", "fsdd_plain"):
            asr.get(key, {}).pop("errors", None)
        report["asr"] = asr
    if args.suite in ("all", "llm"):
        from callcenter.llm.bench import run as llm_run

        report["llm"] = asyncio.run(llm_run(threads=0, max_tokens=40))
    json_path, chart = write_report(report, args.out)
    print(json.dumps(_headline(report), indent=2))
    print(f"report: {json_path}" + (f", chart: {chart}" if chart else ""))
    return 0


async def _voice(args: argparse.Namespace) -> dict[str, Any]:
    from callcenter.bench.harness import bench_app
    from callcenter.bench.voice import (
        barge_in,
        concurrency,
        conversation,
        human_interruptions,
        voice_latency,
    )
    from callcenter.testing.llm_script import Rule

    rules = [Rule(reply="Sure. We are open Monday to Friday from eight to eight.")]
    levels = tuple(int(x) for x in args.concurrency.split(",") if x.strip())
    with bench_app(scripted_rules=rules if args.scripted_llm else None) as app:
        await app.call(conversation(("Hello?",)))  # warm-up: first-load effects
        return {
            "llm_engine": app.settings.llm_engine_name,
            "voice": await voice_latency(app, args.calls),
            "barge_in": await barge_in(
                app, max(4, args.calls), human_clips=human_interruptions(args.speech_data)
            ),
            "concurrency": await concurrency(app, levels, budget_ms=1500.0),
        }


def _headline(report: dict[str, Any]) -> dict[str, Any]:
    voice = report.get("voice", {})
    asr = report.get("asr", {})
    return {
        "voice_to_voice_ms": voice.get("external_voice_to_voice_ms"),
        "answer_first_audio_ms": voice.get("server_stages_ms", {}).get("first_answer_ms"),
        "barge_in_onset_to_clear_ms": report.get("barge_in", {}).get("onset_to_clear_ms"),
        "max_calls_p95_under_1.5s": report.get("concurrency", {}).get("max_calls_within_budget"),
        "asr_batching": {
            k: v.get("speedup") for k, v in asr.get("batching", {}).items() if isinstance(v, dict)
        },
        "fsdd_digit_accuracy": asr.get("fsdd_digits_hint", {}).get("accuracy"),
        "osr_wer": asr.get("osr", {}).get("wer"),
    }


def _vocabulary(args: argparse.Namespace, report: dict[str, Any]) -> int:
    from callcenter.bench.vocabulary import run_vocabulary_bench, table

    report |= run_vocabulary_bench(args.out / "voices")
    return _save(args.out / "vocabulary.json", report, table(report))


def _steering(args: argparse.Namespace, report: dict[str, Any]) -> int:
    from callcenter.bench.steering import run_steering_bench, table

    report |= run_steering_bench(args.out / "voices")
    return _save(args.out / "steering.json", report, table(report))


def _resampling(args: argparse.Namespace, report: dict[str, Any]) -> int:
    from callcenter.asr.faster_whisper import WhisperEngine
    from callcenter.asr.whisper_base_files import WHISPER_BASE
    from callcenter.bench.resampling import run_resampling_bench, table

    engines = {"tiny.en": WhisperEngine()}
    if WHISPER_BASE.path().exists():  # the multilingual profile's model, when installed
        engines["base"] = WhisperEngine(str(WHISPER_BASE.path()), languages=("en",))
    report |= run_resampling_bench(args.out / "voices", engines, args.speech_data)
    return _save(args.out / "resampling.json", report, table(report))


def _save(path: Path, report: dict[str, Any], shown: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(shown)
    print(f"report: {path}")
    return 0


def _tasks(args: argparse.Namespace, report: dict[str, Any]) -> int:
    from callcenter.bench.harness import bench_app
    from callcenter.bench.task_goals import select_goals
    from callcenter.bench.tasks import chart, run_tasks, table
    from callcenter.bench.voices import parse_voices

    try:
        goals = select_goals(args.goals, quick=args.quick)
        voices = parse_voices(args.voices)
    except ValueError as error:
        print(f"error: {error}")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with bench_app() as app:
        report["llm_engine"] = app.settings.llm_engine_name
        report["voices"] = [voice.name for voice in voices]
        report["goals"] = [goal.name for goal in goals]
        report |= asyncio.run(
            run_tasks(
                app,
                goals,
                voices,
                args.out / "caller-voices",
                args.speech_data / "fsdd_8k",
                log_path=args.out / "tasks-calls.jsonl",
            )
        )
    json_path = args.out / "tasks.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    png = chart(report, args.out / "tasks.png")
    print(table(report))
    print(f"report: {json_path}" + (f", chart: {png}" if png else ""))
    return 0
