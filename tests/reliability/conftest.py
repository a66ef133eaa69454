"""Real processes for fault tests: `callcenter serve` / `callcenter worker` subprocesses
with the embedded speech engines, the scripted LLM and the Twilio stub in this process,
a private redis-server (never the shared one), a database of each test's own."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from callcenter.simulator.caller import CallRemote, SimulationOptions, run_call
from callcenter.simulator.result import SimulationResult
from callcenter.simulator.script import Step
from callcenter.store import migrate
from callcenter.store.db import make_engine
from callcenter.store.models import Call, Turn
from callcenter.testing.llm_script import Rule
from callcenter.testing.scripted_llm import ScriptedLLMServer
from callcenter.testing.twilio_stub import TwilioStub
from tests.support.paths import REPO_ROOT
from tests.support.postgres import temporary_database
from tests.support.servers import callcenter_command, free_port

AUTH_TOKEN = "reliability-auth-token-0123"
ACCOUNT_SID = "AC" + "7" * 32
SUMMARY_JSON = (
    '{"intent": "The caller wants to speak to a person.", "open_items": ["Call back"],'
    ' "sentiment": "neutral", "notes": "Written by the model."}'
)
# Handoff/post-call summary requests carry "Transcript:"; dialogue turns do not.
SUMMARY_RULE = Rule(match=r"Transcript:", reply=SUMMARY_JSON)
RULES = [
    # Loose patterns: under CI load tiny.en sometimes hears "opening hours" as "opening now"
    # or "address" as "a dress"; the tests are about reliability, not recognition.
    Rule(match=r"\bopen|\bhours", reply="We are open Monday to Friday, from eight to eight."),
    # No number the knowledge base does not hold: the number guard would withhold it.
    Rule(match=r"dress|\bwhere", reply="Our main office is on Harbor Street."),
    Rule(match=r"branch|how many", reply="We have branches in Boston, Providence and Hartford."),
    # Answered after a long stall: a crash test kills the server while it waits.
    # Several words: tiny.en does not always hear "slow" in that sentence.
    Rule(match=r"\bslow\b|\bsomething\b|\bcheck\b", reply="Here is the slow answer.", stall_s=60),
]


def caller_turns_asked(stack: Stack, count: int) -> bool:
    """The LLM got a request answering the caller's ``count``-th turn, whatever ASR heard."""
    return any(
        sum(1 for m in r.body.get("messages", []) if m.get("role") == "user") >= count
        for r in stack.llm.requests
    )


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)


@dataclass
class Process:
    """A child process in its own process group (so kill -9 takes its children too)."""

    popen: subprocess.Popen[bytes]
    log_path: str

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill9(self) -> None:
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout_s: float = 30.0) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def log(self) -> str:
        with open(self.log_path, errors="replace") as handle:
            return handle.read()[-6000:]


def spawn(args: list[str], env: dict[str, str], log_path: str) -> Process:
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(
            callcenter_command(*args),
            env={**os.environ, **env},
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Process(popen, log_path)


@dataclass
class Stack:
    """Everything a fault test needs but the processes under test."""

    database_url: str  # SQLAlchemy URL (psycopg)
    engine: Engine
    llm: ScriptedLLMServer
    twilio: TwilioStub
    tmp: str
    port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        values = {
            "CALLCENTER_DATABASE_URL": self.database_url.replace(
                "postgresql+psycopg", "postgresql"
            ),
            "CALLCENTER_PUBLIC_URL": self.url,
            "CALLCENTER_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "CALLCENTER_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "CALLCENTER_TWILIO_API_BASE": self.twilio.url,
            "CALLCENTER_LLM_BASE_URL": self.llm.base_url,
            "CALLCENTER_LLM_MODEL": "scripted",
            # These tests hold an LLM answer open (a stalled model) mid-call: the free
            # LLM dialogue; the task flows answer from templates without one.
            "CALLCENTER_DIALOGUE_MODE": "llm",
            "CALLCENTER_SECRET_KEY": "reliability-secret",
            "CALLCENTER_CELERY_BROKER_URL": "redis://127.0.0.1:1/0",  # none unless a test says
            "CALLCENTER_JOB_SWEEP_INTERVAL_S": "1",
            "CALLCENTER_ASR_THREADS": "1",
            "CALLCENTER_LLM_TIMEOUT_S": "60",
        }
        return values | {f"CALLCENTER_{k.upper()}": v for k, v in extra.items()}

    def serve(self, name: str = "serve", **extra: str) -> Process:
        process = spawn(
            ["serve", "--port", str(self.port)], self.env(**extra), f"{self.tmp}/{name}.log"
        )
        self.processes.append(process)
        deadline = time.monotonic() + 120
        while True:
            if process.popen.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{process.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve did not get ready:\n{process.log()}")
            time.sleep(0.2)

    def worker(self, name: str = "worker", **extra: str) -> Process:
        process = spawn(
            ["worker", "--concurrency", "1"], self.env(**extra), f"{self.tmp}/{name}.log"
        )
        self.processes.append(process)
        return process

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def call_row(self, call_sid: str) -> Call | None:
        with self.session() as session:
            return session.scalar(select(Call).where(Call.call_sid == call_sid))

    def turns(self, call_sid: str) -> list[Turn]:
        with self.session() as session:
            call = session.scalar(select(Call).where(Call.call_sid == call_sid))
            if call is None:
                return []
            return list(
                session.scalars(select(Turn).where(Turn.call_id == call.id).order_by(Turn.seq))
            )

    async def call(self, steps: list[Step], call_sid: str | None = None) -> SimulationResult:
        remote = CallRemote()
        options = SimulationOptions(auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID)
        options.call_sid = call_sid or "CA" + uuid.uuid4().hex
        self.twilio.attach(options.call_sid, remote)
        return await run_call(self.url, steps, options, remote)


@pytest.fixture
def stack(tmp_path: Any) -> Iterator[Stack]:
    with temporary_database("callcenter_reliability") as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        llm = ScriptedLLMServer([*RULES, SUMMARY_RULE]).start()
        twilio = TwilioStub(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
        stack = Stack(url, engine, llm, twilio, str(tmp_path))
        try:
            yield stack
        finally:
            for process in stack.processes:
                if process.popen.poll() is None:
                    os.killpg(process.popen.pid, signal.SIGKILL)
                    process.popen.wait(10)
            twilio.stop()
            llm.stop()
            engine.dispose()


@dataclass
class PrivateRedis:
    """A redis-server of the test's own: stopping it cannot hurt anyone else."""

    port: int
    dir: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), 10, "redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@contextmanager
def private_redis(directory: str) -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port(), directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis(tmp_path: Any) -> Iterator[PrivateRedis]:
    with private_redis(str(tmp_path)) as server:
        yield server
