"""`callcenter load-test`: N concurrent simulated calls for M minutes against a real
`callcenter serve` (embedded ASR/VAD/TTS; the scripted LLM by default for repeatable
dialogue, ``--embedded-llm`` for llama.cpp). A benchmark, not a test.

Each of the N callers places call after call (greeting, three questions, hang up) until
time is up. Reported: calls completed and dropped (no stream, the server closed the
call, or a question that got no answer), p50/p95 turn latency (end of caller speech ->
first agent audio, as the simulated caller hears it), and the server's RSS over time.
JSON goes to ``--out`` (default ``bench-results/``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from callcenter.settings import Settings

QUESTIONS = (
    "What are your opening hours?",
    "And what is your address?",
    "How many branches do you have?",
)
RULES = (
    ("opening hours", "We are open Monday to Friday, from eight to eight."),
    ("address", "Our address is twelve Harbor Street."),
    ("branches", "We have three branches in town."),
)


def register(commands: Any) -> None:
    load = commands.add_parser("load-test", help="benchmark: N concurrent simulated calls")
    load.add_argument("--calls", type=int, nargs="+", default=[1, 2, 4], help="N (one run each)")
    load.add_argument("--minutes", type=float, default=2.0, help="length of each run")
    load.add_argument("--embedded-llm", action="store_true", help="llama.cpp, not scripted")
    load.add_argument("--out", type=Path, default=Path("bench-results"))
    load.set_defaults(handler=cmd_load)


@dataclass
class RunResult:
    calls: int
    minutes: float
    llm: str
    completed: int = 0
    dropped: int = 0
    drop_reasons: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[int] = field(default_factory=list)
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MiB)

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        rss = [mb for _, mb in self.rss_mb]
        return {
            "calls": self.calls,
            "minutes": self.minutes,
            "llm": self.llm,
            "completed": self.completed,
            "dropped": self.dropped,
            "drop_reasons": self.drop_reasons,
            "turns": len(lat),
            "p50_ms": _pct(lat, 50),
            "p95_ms": _pct(lat, 95),
            "mean_ms": round(statistics.fmean(lat)) if lat else None,
            "rss_start_mb": rss[0] if rss else None,
            "rss_max_mb": max(rss) if rss else None,
            "rss_end_mb": rss[-1] if rss else None,
        }


def _pct(values: list[int], pct: float) -> int | None:
    if not values:
        return None
    index = min(len(values) - 1, round(pct / 100 * (len(values) - 1)))
    return values[index]


def _rss_mb(pid: int) -> float:
    """RSS of the process and its children (the server has no children, but be fair)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(child) for child in children]
    except OSError:
        pass
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


async def _caller(url: str, audio: list[bytes], deadline: float, result: RunResult) -> None:
    from callcenter.simulator.caller import SimulationOptions, run_call
    from callcenter.simulator.script import Hangup, Say, Step, WaitAgent

    steps: list[Step] = [WaitAgent(quiet_ms=700, timeout_ms=30_000)]
    for ulaw in audio:
        steps += [Say(ulaw=ulaw), WaitAgent(quiet_ms=900, timeout_ms=30_000)]
    steps.append(Hangup())
    while time.monotonic() < deadline:
        options = SimulationOptions(auth_token="load-auth", call_sid="CA" + uuid.uuid4().hex)
        try:
            sim = await run_call(url, steps, options)
        except Exception as error:
            reason = type(error).__name__
        else:
            answered = [t.response_delay_ms for t in sim.turns if t.response_delay_ms is not None]
            result.latencies_ms += [int(ms) for ms in answered]
            if sim.answer != "stream":
                reason = f"answer:{sim.answer}"
            elif sim.end_reason != "caller_hangup":
                reason = f"end:{sim.end_reason}"
            elif len(answered) < len(audio):
                reason = "unanswered_turn"
            else:
                result.completed += 1
                continue
        result.dropped += 1
        result.drop_reasons[reason] = result.drop_reasons.get(reason, 0) + 1


async def _sample_rss(pid: int, result: RunResult, stop: asyncio.Event) -> None:
    start = time.monotonic()
    while not stop.is_set():
        result.rss_mb.append((round(time.monotonic() - start, 1), _rss_mb(pid)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5.0)


async def _run(url: str, pid: int, calls: int, minutes: float, llm: str) -> RunResult:
    from callcenter.simulator.script import piper_synthesize

    audio = [await piper_synthesize(text) for text in QUESTIONS]  # rendered once, not per call
    result = RunResult(calls, minutes, llm)
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(pid, result, stop))
    deadline = time.monotonic() + minutes * 60
    await asyncio.gather(*(_caller(url, audio, deadline, result) for _ in range(calls)))
    stop.set()
    await sampler
    return result


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    import httpx

    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "callcenter.cli", "serve", "--port", str(port)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"serve exited; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"serve did not start; see {log}")


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.store import migrate
    from callcenter.testing.llm_script import Rule
    from callcenter.testing.scripted_llm import ScriptedLLMServer
    from callcenter.testing.twilio_stub import TwilioStub

    args.out.mkdir(parents=True, exist_ok=True)
    llm_name = "embedded llama.cpp" if args.embedded_llm else "scripted"
    llm = ScriptedLLMServer([Rule(match=m, reply=r) for m, r in RULES], token_delay_s=0.02)
    if not args.embedded_llm:
        llm.start()
    twilio = TwilioStub(auth_token="load-auth").start()
    summaries: list[dict[str, Any]] = []
    try:
        for calls in args.calls:
            with tempfile.TemporaryDirectory() as tmp:
                database = f"sqlite:///{tmp}/load.db"
                migrate.upgrade(database)
                port = _free_port()
                env = {
                    "CALLCENTER_DATABASE_URL": database,
                    "CALLCENTER_PUBLIC_URL": f"http://127.0.0.1:{port}",
                    "CALLCENTER_TWILIO_AUTH_TOKEN": "load-auth",
                    "CALLCENTER_TWILIO_API_BASE": twilio.url,
                    "CALLCENTER_LLM_BASE_URL": "" if args.embedded_llm else llm.base_url,
                    "CALLCENTER_LLM_MODEL": settings.llm_model if args.embedded_llm else "scripted",
                    "CALLCENTER_JOB_SWEEP_INTERVAL_S": "0",
                }
                server = _serve(env, port, args.out / f"serve-{calls}.log")
                try:
                    result = asyncio.run(
                        _run(f"http://127.0.0.1:{port}", server.pid, calls, args.minutes, llm_name)
                    )
                finally:
                    server.terminate()
                    server.wait(60)
            summary = result.summary()
            summaries.append(summary)
            tag = "embedded" if args.embedded_llm else "scripted"
            (args.out / f"load-{tag}-{calls}.json").write_text(
                json.dumps(asdict(result) | {"summary": summary}, indent=1)
            )
            print(json.dumps(summary), flush=True)
    finally:
        twilio.stop()
        llm.stop()
    print(
        f"{'N':>3} {'done':>5} {'drop':>5} {'p50 ms':>7} {'p95 ms':>7}"
        f" {'RSS MiB start/max/end':>22}"
    )
    for s in summaries:
        rss = f"{s['rss_start_mb']}/{s['rss_max_mb']}/{s['rss_end_mb']}"
        print(
            f"{s['calls']:>3} {s['completed']:>5} {s['dropped']:>5} {s['p50_ms']!s:>7}"
            f" {s['p95_ms']!s:>7} {rss:>22}"
        )
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
