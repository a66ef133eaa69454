"""One real `callcenter serve` on a fresh PostgreSQL database for the console tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from callcenter.store import migrate
from callcenter.store.db import make_engine, make_session_factory
from tests.support.postgres import temporary_database
from tests.support.servers import serve
from tests.web.helpers import WebServer

METRICS_TOKEN = secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """A fresh install: no CALLCENTER_SECRET_KEY, so the server generates its own key
    into its state directory (loopback only), as `make run` does."""
    state_dir = tmp_path_factory.mktemp("web-state")
    with temporary_database("callcenter_web") as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        env = {
            "CALLCENTER_DATABASE_URL": url,
            "CALLCENTER_STATE_DIR": str(state_dir),
            "CALLCENTER_RECORDINGS_DIR": str(state_dir / "recordings"),
            "CALLCENTER_METRICS_TOKEN": METRICS_TOKEN,
            "CALLCENTER_LOG_LEVEL": "WARNING",
            "CALLCENTER_PUBLIC_URL": "http://127.0.0.1:9",
            # The tests' stand-in CRM (echo_endpoint) listens on loopback, which custom
            # HTTP tools may not reach by default.
            "CALLCENTER_TOOL_ALLOWED_NETWORKS": "127.0.0.1/32",
        }
        try:
            with serve(env) as base:
                yield WebServer(
                    base=base,
                    url=url,
                    factory=make_session_factory(engine),
                    state_dir=state_dir,
                )
        finally:
            engine.dispose()
