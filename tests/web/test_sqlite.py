"""The embedded default: the live queue and the first-admin command on SQLite."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

from callcenter.store import migrate
from callcenter.store.db import make_engine, make_session_factory, transaction
from callcenter.store.models import Call, Handoff
from callcenter.store.users import authenticate
from callcenter.web.feed import HandoffFeed
from tests.support.paths import REPO_ROOT
from tests.support.servers import callcenter_command


async def test_the_feed_publishes_a_new_handoff_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'feed.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    feed = HandoffFeed(factory, interval_s=0.05)
    try:
        stream = feed.subscribe(heartbeat_s=5)
        assert await anext(stream) == "[]"
        with transaction(factory) as session:
            call = Call(call_sid="CA" + uuid.uuid4().hex, from_number="+15550001111")
            session.add(call)
            session.flush()
            session.add(Handoff(call_id=call.id, reason="wants a person", summary={}))
        snapshot = await anext(stream)
        assert snapshot is not None
        assert '"reason": "wants a person"' in snapshot and '"status": "pending"' in snapshot
        await stream.aclose()
    finally:
        await feed.close()
        engine.dispose()


def test_users_create_reads_the_password_from_stdin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    migrate.upgrade(url)
    env = {**os.environ, "CALLCENTER_DATABASE_URL": url}

    def create(username: str, password: str) -> subprocess.CompletedProcess[str]:
        command = callcenter_command(
            "users", "create", "--role", "admin", "--username", username, "--password-stdin"
        )
        return subprocess.run(
            command, input=password + "\n", env=env, cwd=REPO_ROOT,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    created = create("first-admin", "a long passphrase")
    assert created.returncode == 0, created.stderr
    assert "created admin first-admin" in created.stdout
    again = create("First-Admin", "another passphrase")
    assert again.returncode == 1 and "taken" in again.stderr
    short = create("second", "short")
    assert short.returncode == 1 and "at least 10" in short.stderr
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        user = authenticate(session, "first-admin", "a long passphrase")
        assert user is not None and user.role.value == "admin"
    engine.dispose()
