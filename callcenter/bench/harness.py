"""An app with the real engines, a Twilio REST stub and (optionally) a scripted LLM,
all in this process on loopback ports, for benchmarks."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from callcenter.app import create_app
from callcenter.runtime import Runtime
from callcenter.settings import Settings, load_settings
from callcenter.simulator.caller import CallDriver, CallRemote, SimulationOptions, run_call
from callcenter.simulator.result import SimulationResult
from callcenter.simulator.script import Step
from callcenter.store import migrate
from callcenter.store.db import make_engine, make_session_factory, transaction
from callcenter.store.models import Call, CallEvent, Turn
from callcenter.store.seed import seed_demo
from callcenter.testing.llm_script import Rule
from callcenter.testing.scripted_llm import ScriptedLLMServer
from callcenter.testing.twilio_stub import BackgroundServer, TwilioStub

AUTH_TOKEN = "bench-auth-token"
ACCOUNT_SID = "AC" + "3" * 32


@dataclass
class BenchApp:
    server: BackgroundServer
    settings: Settings
    runtime: Runtime
    twilio: TwilioStub
    engine: Engine
    llm: ScriptedLLMServer | None

    async def call(
        self, steps: Sequence[Step], speed: float = 1.0, driver: CallDriver | None = None
    ) -> SimulationResult:
        """One simulated call: the ``steps``, or what a reactive ``driver`` decides."""
        remote = CallRemote()
        options = SimulationOptions(
            auth_token=AUTH_TOKEN,
            account_sid=ACCOUNT_SID,
            call_sid="CA" + uuid.uuid4().hex,
            speed=speed,
        )
        self.twilio.attach(options.call_sid or "", remote)
        return await run_call(self.server.url, steps, options, remote, driver)

    def transcript(self, call_sid: str) -> list[str]:
        with make_session_factory(self.engine)() as session:
            call_id = session.scalar(select(Call.id).where(Call.call_sid == call_sid))
            turns = session.scalars(select(Turn).where(Turn.call_id == call_id).order_by(Turn.seq))
            return [
                f"{t.speaker}: {t.heard_text if t.heard_text is not None else t.text}"
                for t in turns
            ]

    def turn_timings(self, call_sid: str) -> list[dict[str, Any]]:
        """The server's own per-turn stage timings (the `turn_timing` call events)."""
        with make_session_factory(self.engine)() as session:
            call_id = session.scalar(select(Call.id).where(Call.call_sid == call_sid))
            rows = session.scalars(
                select(CallEvent)
                .where(CallEvent.call_id == call_id, CallEvent.kind == "turn_timing")
                .order_by(CallEvent.id)
            )
            return [dict(row.payload) for row in rows]


@contextmanager
def bench_app(
    *, scripted_rules: Sequence[Rule] | None = None, **overrides: Any
) -> Iterator[BenchApp]:
    """Start the app; ``scripted_rules`` swaps the embedded LLM for the scripted server."""
    with tempfile.TemporaryDirectory(prefix="callcenter-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as session:
            seed_demo(session)
        llm = ScriptedLLMServer(scripted_rules).start() if scripted_rules is not None else None
        twilio = TwilioStub(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
        server = BackgroundServer(None, name="bench-app", lifespan="on", start_timeout_s=600)
        values: dict[str, Any] = {
            "database_url": url,
            "public_url": server.url,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_api_base": twilio.url,
            "celery_broker_url": "redis://127.0.0.1:1/0",  # jobs are not benchmarked
            "llm_temperature": 0.0,
        }
        if llm is not None:
            values |= {"llm_base_url": llm.base_url, "llm_model": "scripted"}
        values.update(overrides)
        settings = load_settings(**values)
        runtime = Runtime(settings, engine=engine, speech=True)
        server.app = create_app(settings, runtime)
        server.start()
        if runtime.speech:
            runtime.fixed_lines_warmed.wait(300)
        try:
            yield BenchApp(server, settings, runtime, twilio, engine, llm)
        finally:
            server.stop()
            twilio.stop()
            if llm is not None:
                llm.stop()
            engine.dispose()
