"""PostgreSQL goes down mid-call and comes back: the call goes on, its writes wait in the
call recorder's outbox, and every turn is stored once the database is back.

This stops the whole local cluster for a few seconds (the test uses a database of its
own, but a cluster restart affects every database), so it lives alone in this module
and waits for ``pg_isready`` before it returns, whatever happened.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from callcenter.simulator.script import Say, Silence, WaitAgent
from callcenter.store.models import CallStatus, Speaker
from tests.reliability.conftest import Stack, caller_turns_asked, wait_until

GREETING = WaitAgent(quiet_ms=700, timeout_ms=30_000)
REPLY = WaitAgent(quiet_ms=900, timeout_ms=30_000)
OUTAGE_S = 4.0


# The test restarts the local Debian cluster; elsewhere there is nothing to restart.
pytestmark = pytest.mark.skipif(
    not os.path.isdir("/etc/postgresql") or not os.listdir("/etc/postgresql"),
    reason="no local PostgreSQL cluster to restart (pg_ctlcluster)",
)


def _cluster() -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql"))
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main"]


def _pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0


@pytest.fixture
def cluster() -> Iterator[list[str]]:
    command = _cluster()
    try:
        yield command
    finally:  # never leave the shared server down
        if not _pg_ready():
            subprocess.run([*command, "start"], check=False, timeout=60)
        wait_until(_pg_ready, 60, "PostgreSQL back")


def _pg_ctl(cluster: list[str], *args: str) -> None:
    subprocess.run([*cluster, *args], check=True, timeout=60)


async def test_postgres_outage_mid_call_loses_no_turn(stack: Stack, cluster: list[str]) -> None:
    server = stack.serve()
    steps = [
        GREETING,
        Say(text="What are your opening hours?"),
        REPLY,
        Silence(1500),
        Say(text="And what is your address?"),
        REPLY,
        Say(text="How many branches do you have?"),
        REPLY,
    ]
    call = asyncio.create_task(stack.call(steps))
    await asyncio.to_thread(wait_until, lambda: caller_turns_asked(stack, 1), 90, "turn 1")
    # In a thread: the simulated caller shares this event loop and must keep its pace.
    await asyncio.to_thread(_pg_ctl, cluster, "stop", "-m", "fast")
    down_at = time.monotonic()
    # The caller asks the second question while the database is down; the agent answers.
    await asyncio.to_thread(wait_until, lambda: caller_turns_asked(stack, 2), 60, "turn 2")
    answered_while_down = not _pg_ready()
    await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    await asyncio.to_thread(_pg_ctl, cluster, "start")
    await asyncio.to_thread(wait_until, _pg_ready, 60, "PostgreSQL back")
    result = await asyncio.wait_for(call, 120)

    assert answered_while_down, "the second question was not asked during the outage"
    assert "database unreachable" in server.log()  # the writes really waited
    assert result.end_reason == "caller_hangup"
    heard = [t for t in result.turns if t.response_delay_ms is not None]
    assert len(heard) == 3, result.turns  # every question got a spoken answer

    def stored() -> list[tuple[Speaker, str]]:
        try:
            return [(t.speaker, t.text) for t in stack.turns(result.call_sid)]
        except Exception:  # the test's own pool reconnecting
            return []

    turns = wait_until(lambda: len(stored()) >= 7 and stored(), 30, "all turns stored")
    speakers = [speaker for speaker, _ in turns]
    assert speakers == [Speaker.agent, *[Speaker.caller, Speaker.agent] * 3], turns
    texts = " ".join(text for _, text in turns)
    assert "Monday to Friday" in texts and "Harbor Street" in texts and "Providence" in texts
    row = wait_until(
        lambda: (
            (r := stack.call_row(result.call_sid)) is not None
            and r.status == CallStatus.completed
            and r
        ),
        30,
        "call completed",
    )
    assert row.ended_at is not None
