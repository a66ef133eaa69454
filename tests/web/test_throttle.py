"""Login throttling per IP across usernames and per username across IPs, shared through the
real local Redis between processes, with this process's counts when Redis is away."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from callcenter.settings import load_settings
from callcenter.store import users as user_store
from callcenter.store.db import transaction
from callcenter.web.throttle import Limits, LoginThrottle, throttle_redis_url
from tests.support.live_app import LiveApp, live_app, live_engine, live_factory
from tests.support.servers import free_port
from tests.web.helpers import PASSWORD, csrf_from, unique

__all__ = ["live_app", "live_engine", "live_factory"]

REDIS = "redis://127.0.0.1:6379/14"
LIMITS = Limits(per_pair=3, per_user=5, per_ip=6, window_s=60)


def _throttle(namespace: bytes, url: str | None = REDIS) -> LoginThrottle:
    return LoginThrottle(LIMITS, namespace=namespace, redis_url=url)


async def test_two_processes_share_the_counts_through_redis() -> None:
    namespace = secrets.token_bytes(16)  # a deployment of its own in the shared Redis
    web_1, web_2 = _throttle(namespace), _throttle(namespace)
    try:
        # A botnet: one username from many addresses, spread over both processes.
        for attempt in range(LIMITS.per_user):
            throttle = web_1 if attempt % 2 else web_2
            assert await throttle.retry_after("alice", f"203.0.113.{attempt}") == 0
            await throttle.failed("alice", f"203.0.113.{attempt}")
        assert web_1.shared and web_2.shared
        assert await web_1.retry_after("alice", "198.51.100.77") > 0
        assert await web_2.retry_after("ALICE", "198.51.100.78") > 0
        assert await web_2.retry_after("bob", "198.51.100.78") == 0

        # A sprayer: one address across usernames.
        for attempt in range(LIMITS.per_ip):
            await (web_1 if attempt % 2 else web_2).failed(f"user{attempt}", "192.0.2.9")
        assert await web_2.retry_after("someone-new", "192.0.2.9") > 0
        assert await web_1.retry_after("someone-new", "192.0.2.10") == 0
    finally:
        await web_1.close()
        await web_2.close()


async def test_another_deployment_on_the_same_redis_counts_apart() -> None:
    mine, theirs = _throttle(secrets.token_bytes(16)), _throttle(secrets.token_bytes(16))
    try:
        for _ in range(LIMITS.per_pair):
            await mine.failed("carol", "192.0.2.50")
        assert await mine.retry_after("carol", "192.0.2.50") > 0
        assert await theirs.retry_after("carol", "192.0.2.50") == 0
    finally:
        await mine.close()
        await theirs.close()


async def test_without_redis_each_process_still_throttles() -> None:
    port = free_port()  # nothing listens there
    throttle = _throttle(secrets.token_bytes(16), url=f"redis://127.0.0.1:{port}/0")
    try:
        for _ in range(LIMITS.per_pair):
            await throttle.failed("dave", "192.0.2.60")
        assert not throttle.shared  # it noticed, and counts here meanwhile
        assert await throttle.retry_after("dave", "192.0.2.60") > 0
        assert await throttle.retry_after("erin", "192.0.2.61") == 0
    finally:
        await throttle.close()


def test_where_the_counts_live() -> None:
    assert throttle_redis_url(load_settings()) == "redis://127.0.0.1:6379/0"
    assert throttle_redis_url(load_settings(throttle_redis_url="memory")) is None
    other = load_settings(celery_broker_url="amqp://guest@127.0.0.1//")
    assert throttle_redis_url(other) is None
    assert throttle_redis_url(load_settings(throttle_redis_url=REDIS)) == REDIS


@pytest.mark.parametrize("store", [REDIS, "memory"])
def test_one_address_spraying_usernames_is_stopped_at_the_login_form(
    live_app: Callable[..., LiveApp], live_factory: sessionmaker[Session], store: str
) -> None:
    username = unique("agent")
    with transaction(live_factory) as session:
        user_store.create_user(session, username=username, password=PASSWORD, role="agent")
    app = live_app(
        secret_key=secrets.token_urlsafe(32),  # its own namespace in the shared Redis
        login_max_failures_per_ip=4,
        throttle_redis_url=store,
    )
    with httpx.Client(base_url=app.url, timeout=30) as client:
        csrf = csrf_from(client.get("/login").text)

        def attempt(name: str, password: str) -> httpx.Response:
            form = {"username": name, "password": password, "csrf_token": csrf}
            return client.post("/login", data=form)

        for n in range(4):
            assert attempt(f"guess{n}", "wrong-password").status_code == 400
        blocked = attempt(username, PASSWORD)  # even the right password, from here
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
