"""A full app with the real embedded speech engines, a scripted LLM and a Twilio stub.

Everything talks over real loopback sockets: the simulator plays Twilio (signed webhook,
signed WebSocket, paced μ-law frames, mark echoes, clear), the app runs faster-whisper,
Silero VAD and Piper for real, the LLM is our OpenAI-compatible scripted server, and call
control goes to the local Twilio REST stub.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import Engine

from callcenter.app import create_app
from callcenter.runtime import Runtime
from callcenter.settings import Settings, load_settings
from callcenter.store import migrate
from callcenter.store.db import make_engine, make_session_factory, transaction
from callcenter.store.seed import seed_demo
from callcenter.testing.llm_script import Rule, ScriptedToolCall
from callcenter.testing.scripted_llm import ScriptedLLMServer
from callcenter.testing.twilio_stub import BackgroundServer, TwilioStub
from callcenter.tracing import make_turn_tracer
from tests.support.postgres import temporary_database

AUTH_TOKEN = "e2e-auth-token-0123456789"
ACCOUNT_SID = "AC" + "2" * 32

LONG_REPLY = (
    "Our branches are open Monday to Friday from eight in the morning to eight in the "
    "evening, and on Saturday from nine to one. You can also bank online at any time, "
    "and our phone line is open around the clock for lost or stolen cards."
)

RULES = [
    # A slow model (1.5 s to its first token) that opens with an acknowledgement of its own:
    # the caller hears the backchannel, and not "Okay. Got it." as well.
    Rule(
        match=r"\blost\b",
        stall_s=1.5,
        reply="Got it. I can block your card as soon as you are verified.",
    ),
    # A caller trying to talk the model into reading an account: the scripted model
    # "obeys" and invents the PIN; policy in code must refuse both calls.
    Rule(
        match=r"ignore|admin mode",
        tool_calls=[
            ScriptedToolCall("verify_identity", {"account_number": "1001", "pin": "4321"}),
            ScriptedToolCall("get_balance", {}),
        ],
    ),
    Rule(match=r"order", tool_calls=[ScriptedToolCall("order_status", {"order_id": "A1"})]),
    Rule(match=r"opening hours|open", reply="We are open Monday to Friday, from eight to eight."),
    Rule(match=r"branches|tell me everything", reply=LONG_REPLY),
    Rule(match=r"\(keyed on the phone\)", reply="Thanks, I got the number you keyed."),
    Rule(
        match=r"number is",
        tool_calls=[ScriptedToolCall("verify_identity", {"account_number": "1001", "pin": "4321"})],
    ),
    Rule(match=r"balance", tool_calls=[ScriptedToolCall("get_balance", {})]),
    Rule(match=r"bye|that's all", tool_calls=[ScriptedToolCall("end_call", {})]),
]


@dataclass
class SpeechApp:
    server: BackgroundServer
    settings: Settings
    runtime: Runtime
    llm: ScriptedLLMServer
    twilio: TwilioStub
    engine: Engine
    spans: InMemorySpanExporter  # the turn traces

    @property
    def url(self) -> str:
        return self.server.url


@contextmanager
def running_speech_app(**overrides: Any) -> Iterator[SpeechApp]:
    """A fresh database, scripted LLM, Twilio stub and the app with the real engines."""
    with temporary_database("callcenter_e2e") as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as session:
            seed_demo(session)
        llm = ScriptedLLMServer(RULES).start()
        twilio = TwilioStub(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
        server = BackgroundServer(None, name="callcenter-e2e", lifespan="on", start_timeout_s=300)
        values: dict[str, Any] = {
            "database_url": url.replace("postgresql+psycopg://", "postgresql://"),
            "public_url": server.url,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_api_base": twilio.url,
            "llm_base_url": llm.base_url,
            "llm_model": "scripted",
            # The speech-loop tests script the model's answers (slow answers, long answers,
            # tool calls): the free LLM dialogue. Task flows have their own e2e tests.
            "dialogue_mode": "llm",
            "secret_key": "e2e-secret",
            "celery_broker_url": "redis://127.0.0.1:6379/15",
            # The admin-defined HTTP tool under test is a loopback server; tools may
            # reach loopback only when a deployment allows it.
            "tool_allowed_networks": "127.0.0.1/32",
        }
        settings = load_settings(**(values | overrides))
        runtime = Runtime(settings, engine=engine, speech=True)
        # Turn traces go to memory, where the tests read them.
        spans = InMemorySpanExporter()
        runtime.turn_tracer = make_turn_tracer("off", exporter=spans)
        server.app = create_app(settings, runtime)
        server.start()
        app = SpeechApp(server, settings, runtime, llm, twilio, engine, spans)
        try:
            yield app
        finally:
            server.stop()
            twilio.stop()
            llm.stop()
            engine.dispose()


@pytest.fixture(scope="session")
def speech_app() -> Iterator[SpeechApp]:
    with running_speech_app() as app:
        yield app
