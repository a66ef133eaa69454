"""Background jobs survive faults: a worker killed mid-job (the job runs again after a
restart: acks_late + reject_on_worker_lost + the visibility timeout), and a broker that
is down when the job is created (the job waits in the outbox and is sent when it returns).

Each test runs its own redis-server: the shared one is never stopped.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from callcenter.settings import load_settings
from callcenter.simulator.script import Say, WaitAgent
from callcenter.store.calls import add_turn, get_or_create_call
from callcenter.store.models import Call, CallStatus, Handoff, OutboxJob, Speaker
from callcenter.tasks.celery_app import make_celery
from callcenter.tasks.summary import create_handoff
from callcenter.testing.llm_script import Rule
from callcenter.testing.scripted_llm import ScriptedLLMServer
from tests.reliability.conftest import SUMMARY_JSON, PrivateRedis, Stack, wait_until

GREETING = WaitAgent(quiet_ms=700, timeout_ms=30_000)


def _handoff(stack: Stack, handoff_id: int) -> Handoff:
    with stack.session() as session:
        row = session.get(Handoff, handoff_id)
        assert row is not None
        return row


def _committed_handoff(stack: Stack) -> int:
    with stack.session() as session, session.begin():
        call = get_or_create_call(session, call_sid="CAworkerkill")
        call.status = CallStatus.transferred
        add_turn(session, call_id=call.id, seq=1, speaker=Speaker.caller, text="Get me a person.")
        return create_handoff(session, call.id, "caller_request", "queue:support").id


def test_a_worker_killed_mid_summary_finishes_it_after_a_restart(
    stack: Stack, own_redis: PrivateRedis
) -> None:
    # The first summary request stalls, so the job is in progress when the worker dies.
    slow = ScriptedLLMServer(
        [
            Rule(match="Transcript:", reply=SUMMARY_JSON, stall_s=30, times=1),
            Rule(reply=SUMMARY_JSON),
        ]
    ).start()
    try:
        env: dict[str, Any] = {
            "celery_broker_url": own_redis.url,
            "llm_base_url": slow.base_url,
            "celery_visibility_timeout_s": "3",
        }
        handoff_id = _committed_handoff(stack)
        celery = make_celery(load_settings(celery_broker_url=own_redis.url))
        celery.send_task("callcenter.summarise_handoff", args=[handoff_id])

        first = stack.worker("worker-1", **env)
        wait_until(lambda: slow.requests, 60, "the summary job to reach the LLM")
        first.kill9()  # the worker and its pool child, mid-job: nothing acked
        assert _handoff(stack, handoff_id).summary_source == "fallback"

        stack.worker("worker-2", **env)
        done = wait_until(
            lambda: _handoff(stack, handoff_id).summary_source == "llm", 60, "the LLM summary"
        )
        assert done
        handoff = _handoff(stack, handoff_id)
        assert handoff.summary["notes"] == "Written by the model."
        assert len(slow.requests) >= 2  # delivered again, not lost
    finally:
        slow.stop()


async def test_broker_down_during_a_handoff_delivers_the_job_when_it_returns(
    stack: Stack, own_redis: PrivateRedis
) -> None:
    env = {"celery_broker_url": own_redis.url}
    stack.serve(**env)
    own_redis.stop()  # Redis is down for the whole call

    result = await stack.call(
        [GREETING, Say(text="I want to talk to a real person please."), WaitAgent(900, 30_000)]
    )
    redirects = [
        r for r in stack.twilio.requests if r.call_sid == result.call_sid and "Twiml" in r.form
    ]
    assert redirects, "the call was handed to a human while Redis was down"
    with stack.session() as session:
        call = session.scalar(select(Call).where(Call.call_sid == result.call_sid))
        assert call is not None
        handoff = session.scalar(select(Handoff).where(Handoff.call_id == call.id))
        assert handoff is not None and handoff.summary_source == "fallback"
        assert "real person" in handoff.summary["intent"]
        call_id = call.id

    def unsent() -> list[str]:
        with stack.session() as session:
            return list(session.scalars(select(OutboxJob.task).where(OutboxJob.sent_at.is_(None))))

    wait_until(lambda: len(unsent()) == 2, 20, "both jobs in the outbox")
    assert sorted(unsent()) == ["callcenter.summarise_call", "callcenter.summarise_handoff"]

    own_redis.start()  # same port: the server's sweeper sends, a worker runs them
    stack.worker(**env)
    wait_until(lambda: not unsent(), 30, "the outbox to drain")
    wait_until(
        lambda: _handoff(stack, handoff.id).summary_source == "llm", 60, "the handoff summary"
    )

    def summary() -> dict[str, Any] | None:
        with stack.session() as session:
            row = session.get(Call, call_id)
            return row.summary if row is not None else None

    post_call = wait_until(summary, 60, "the post-call summary")
    assert post_call["disposition"] == "transferred"
    assert post_call["source"] == "llm"
