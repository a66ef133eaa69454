"""A new user's path: migrate, seed, serve, and /healthz reports the database ok."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from tests.support.postgres import temporary_database
from tests.support.servers import run_cli, serve

METRICS_TOKEN = secrets.token_urlsafe(32)


def _check_fresh_install(database_url: str) -> dict[str, object]:
    env = {
        "CALLCENTER_DATABASE_URL": database_url,
        "CALLCENTER_PUBLIC_URL": "http://127.0.0.1:9",
        "CALLCENTER_METRICS_TOKEN": METRICS_TOKEN,
    }
    run_cli("db", "upgrade", env=env)
    seeded = run_cli("db", "seed-demo", env=env)
    assert "3 customer(s) added" in seeded.stdout
    again = run_cli("db", "seed-demo", env=env)
    assert "0 customer(s) added" in again.stdout
    with serve(env) as base:
        anonymous = httpx.get(base + "/healthz", timeout=10)
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        response = httpx.get(base + "/healthz", headers=headers, timeout=10)
    # Strangers learn that it is up, not what runs it.
    assert anonymous.status_code == 200 and anonymous.json()["database"] == {"ok": True}
    assert "engines" not in anonymous.json() and "version" not in anonymous.json()
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] is True
    assert set(body["engines"]) == {"asr", "llm", "tts"}
    return body


def test_fresh_postgres_install_serves_healthz() -> None:
    with temporary_database("callcenter_serve") as url:
        body = _check_fresh_install(url.replace("postgresql+psycopg://", "postgresql://"))
    assert body["database"]["backend"] == "postgresql"  # type: ignore[index]


def test_fresh_sqlite_install_serves_healthz(tmp_path: Path) -> None:
    body = _check_fresh_install(f"sqlite:///{tmp_path / 'var' / 'callcenter.db'}")
    assert body["database"]["backend"] == "sqlite"  # type: ignore[index]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints_answer_json(tmp_path: Path, path: str) -> None:
    env = {"CALLCENTER_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"}
    run_cli("db", "upgrade", env=env)
    with serve(env) as base:
        response = httpx.get(base + path, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
