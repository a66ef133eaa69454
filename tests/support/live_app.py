"""The real app under uvicorn on a random loopback port, wired to the test database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callcenter.app import create_app
from callcenter.dialogue.ports import HandlerFactory
from callcenter.runtime import Runtime
from callcenter.settings import Settings, load_settings
from callcenter.store import migrate
from callcenter.store.db import make_engine, make_session_factory
from callcenter.testing.twilio_stub import BackgroundServer
from tests.support.postgres import temporary_database

AUTH_TOKEN = "test-auth-token-0123456789"
ACCOUNT_SID = "AC" + "1" * 32


@dataclass
class LiveApp:
    server: BackgroundServer
    settings: Settings
    runtime: Runtime

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ws_url(self) -> str:
        return self.settings.public_ws_url

    def stop(self) -> None:
        self.server.stop()


def start_live_app(
    engine: Engine,
    session_factory: sessionmaker[Session],
    handler_factory: HandlerFactory | None = None,
    **overrides: Any,
) -> LiveApp:
    # Bind first: the public URL (what Twilio signs) must name the real port.
    server = BackgroundServer(None, name="callcenter-app")
    values: dict[str, Any] = {
        "public_url": server.url,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_account_sid": ACCOUNT_SID,
        "secret_key": "test-secret-key",
        "database_url": "postgresql://unused/by-runtime",
    }
    values.update(overrides)
    settings = load_settings(**values)
    runtime = Runtime(settings, engine=engine)
    runtime.session_factory = session_factory
    if handler_factory is not None:
        runtime.handler_factory = handler_factory
    server.app = create_app(settings, runtime)
    server.start()
    return LiveApp(server, settings, runtime)


@pytest.fixture(scope="session")
def live_engine() -> Iterator[Engine]:
    """A database of its own: the live server commits from its own threads, so it cannot
    share the rolled-back connection of ``db_factory``; a separate database keeps those
    commits away from every other test."""
    with temporary_database("callcenter_live") as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def live_factory(live_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(live_engine)


@pytest.fixture
def live_app(
    live_engine: Engine, live_factory: sessionmaker[Session]
) -> Iterator[Callable[..., LiveApp]]:
    """Start the real app (uvicorn, loopback, random port); stopped after the test."""
    started: list[LiveApp] = []

    def make(**kwargs: Any) -> LiveApp:
        app = start_live_app(live_engine, live_factory, **kwargs)
        started.append(app)
        return app

    yield make
    for app in started:
        app.stop()


def wait_for(predicate: Callable[[], Any], timeout_s: float = 10.0) -> Any:
    """Poll until ``predicate()`` is truthy (the server finishes a call after the client)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)
