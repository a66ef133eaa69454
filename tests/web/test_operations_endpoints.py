"""/metrics and /healthz say little to strangers, and no endpoint reads an unbounded body."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callcenter.app import create_app
from callcenter.runtime import Runtime
from callcenter.settings import load_settings
from callcenter.store import users as user_store
from callcenter.store.db import transaction
from callcenter.testing.twilio_stub import BackgroundServer
from tests.support.live_app import LiveApp, live_app, live_engine, live_factory
from tests.support.servers import free_port
from tests.web.conftest import METRICS_TOKEN
from tests.web.helpers import PASSWORD, WebServer, login, unique

__all__ = ["live_app", "live_engine", "live_factory"]

DETAILS = ("version", "engines", "live_calls")


def test_healthz_hides_versions_and_engines_from_strangers(web_server: WebServer) -> None:
    anonymous = httpx.get(web_server.base + "/healthz", timeout=10)
    assert anonymous.status_code == 200
    assert anonymous.json()["status"] == "ok"
    assert not any(key in anonymous.json() for key in DETAILS), anonymous.json()
    assert "tiny.en" not in anonymous.text and "llama" not in anonymous.text

    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    detailed = httpx.get(web_server.base + "/healthz", headers=bearer, timeout=10).json()
    assert all(key in detailed for key in DETAILS)
    with web_server.client() as client:
        login(client, web_server.create_user("agent"))
        assert all(key in client.get("/healthz").json() for key in DETAILS)


def test_metrics_need_the_bearer_token(web_server: WebServer) -> None:
    url = web_server.base + "/metrics"
    assert httpx.get(url, timeout=10).status_code == 401
    wrong = httpx.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    with web_server.client() as client:  # a console session is not the metrics token
        login(client, web_server.create_user("admin"))
        assert client.get("/metrics").status_code == 401
    right = httpx.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert right.status_code == 200 and "live_calls" in right.text


def test_metrics_on_their_own_port_and_off_on_the_main_one(live_engine: Engine) -> None:
    """The listener starts and stops with the app's lifespan (as under `callcenter serve`)."""
    port = free_port()
    server = BackgroundServer(None, name="metrics-app", lifespan="on")
    settings = load_settings(
        public_url=server.url,
        secret_key="s" * 40,
        database_url="postgresql://unused/by-runtime",
        metrics_port=port,
        metrics_host="127.0.0.1",
    )
    runtime = Runtime(settings, engine=live_engine)
    server.app = create_app(settings, runtime)
    server.start()
    try:
        main = httpx.get(server.url + "/metrics", timeout=10)
        assert main.status_code == 404 and str(port) in main.json()["error"]
        own = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert own.status_code == 200 and "live_calls" in own.text
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)


def test_without_a_token_or_port_metrics_are_off(live_app: Callable[..., LiveApp]) -> None:
    app = live_app()
    response = httpx.get(app.url + "/metrics", timeout=10)
    assert response.status_code == 404
    assert "CALLCENTER_METRICS_TOKEN" in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/users", "application/json"),
        ("/login", "application/x-www-form-urlencoded"),
        ("/twilio/voice", "application/x-www-form-urlencoded"),
        ("/api/calls", "application/json"),
    ],
)
def test_a_body_over_the_limit_is_refused_with_413(
    live_app: Callable[..., LiveApp],
    live_factory: sessionmaker[Session],
    path: str,
    content_type: str,
) -> None:
    with transaction(live_factory) as session:
        admin = user_store.create_user(
            session, username=unique("admin"), password=PASSWORD, role="admin"
        )
        user_token = user_store.issue_api_token(session, admin)
    # /api/calls takes the deployment's API token, the console API a user's token.
    token = "t" * 40 if path == "/api/calls" else user_token
    app = live_app(max_body_bytes=64 * 1024, api_token="t" * 40)
    big = b"a=" + b"x" * (200 * 1024)
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}"}
    declared = httpx.post(app.url + path, content=big, headers=headers, timeout=30)
    assert declared.status_code == 413, declared.text
    assert "larger than" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(50):
            yield b"x" * 8192

    streamed = httpx.post(app.url + path, content=chunks(), headers=headers, timeout=30)
    assert streamed.status_code == 413
    # A body under the limit still reaches the endpoint (which answers on its merits).
    small = httpx.post(app.url + path, content=b"{}", headers=headers, timeout=30)
    assert small.status_code != 413
