"""The handoff summary (fallback and LLM) and its Celery job."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.dialogue.escalation import EscalationReason
from callcenter.llm.openai_compat import OpenAICompatChatModel
from callcenter.settings import load_settings
from callcenter.store.calls import add_event, add_turn, list_turns
from callcenter.store.db import transaction
from callcenter.store.models import Call, Handoff, OutboxJob, Speaker
from callcenter.tasks.celery_app import make_celery
from callcenter.tasks.handoff import enqueue_after_commit, run_summary, summarise_handoff
from callcenter.tasks.summary import create_handoff, mask_numbers
from callcenter.testing import Rule, ScriptedLLMServer
from callcenter.tools import CallContext, ToolExecutor
from tests.support.paths import REPO_ROOT
from tests.tools.helpers import call_tool, make_executor, seed_and_open_call

REDIS_URL = "redis://127.0.0.1:6379/0"
GOOD_SUMMARY = {
    "intent": "Pay the water bill of 120.50 dollars.",
    "open_items": ["Confirm the payment with the caller"],
    "sentiment": "frustrated",
    "notes": "Caller asked twice for a person.",
}


def test_mask_numbers() -> None:
    assert mask_numbers("my pin is four three two one") == "my pin is [number]"
    assert mask_numbers("account 1001, pin 4321") == "account [number], pin [number]"
    assert mask_numbers("oh I see, two cards") == "oh I see, two cards"


# --- the summary from the store -----------------------------------------------------------


def record(factory: sessionmaker[Session], ctx: CallContext, turns: list[tuple[str, str]]) -> None:
    """Write the conversation to the store and feed the caller's side to the context."""
    with transaction(factory) as session:
        first = len(list_turns(session, ctx.call_id))
        for seq, (speaker, text) in enumerate(turns, start=first):
            add_turn(session, call_id=ctx.call_id, seq=seq, speaker=Speaker(speaker), text=text)
    for speaker, text in turns:
        if speaker == "caller":
            ctx.record_caller_utterance(text)


@pytest.fixture
def paying_call(db_factory: sessionmaker[Session]) -> tuple[CallContext, ToolExecutor]:
    """Dana verified, a payment read back but not confirmed, then a request for a person."""
    ctx = seed_and_open_call(db_factory)
    executor = make_executor(db_factory)
    record(
        db_factory,
        ctx,
        [
            ("agent", "Thanks for calling. How can I help?"),
            ("caller", "I need to pay my water bill. Account one zero zero one."),
            ("caller", "My PIN is four three two one."),
        ],
    )
    call_tool(executor, ctx, "verify_identity", account_number="1001", pin="4321")
    call_tool(executor, ctx, "make_payment", amount=120.5, payee="Portland Water")
    record(db_factory, ctx, [("caller", "This is ridiculous, get me a human. A human!")])
    return ctx, executor


def test_fallback_summary_has_identity_intent_actions_and_no_secrets(
    db_factory: sessionmaker[Session], paying_call: tuple[CallContext, ToolExecutor]
) -> None:
    ctx, _ = paying_call
    with transaction(db_factory) as session:
        handoff = create_handoff(
            session, ctx.call_id, EscalationReason.caller_request, "queue:support"
        )
        summary = handoff.summary
    assert handoff.summary_source == "fallback" and handoff.destination == "queue:support"
    assert summary["reason"] == "caller_request"
    assert summary["verified"] is True
    assert summary["customer_name"] == "Dana Whitfield" and summary["account_number"] == "1001"
    assert "make a payment" in summary["intent"]
    assert [(a["tool"], a["status"]) for a in summary["actions"]] == [
        ("verify_identity", "ok"),
        ("make_payment", "ok"),
    ]
    assert "awaiting confirmation" in summary["actions"][1]["detail"]
    assert any("make_payment not confirmed" in item for item in summary["open_items"])
    assert summary["sentiment"] == "frustrated"
    assert "4321" not in json.dumps(summary)


def test_fallback_summary_of_an_unverified_call(db_factory: sessionmaker[Session]) -> None:
    ctx = seed_and_open_call(db_factory)
    record(db_factory, ctx, [("caller", "Hmm, my number is 5 5 5 1 2 3 4, operator please")])
    with transaction(db_factory) as session:
        summary = create_handoff(session, ctx.call_id, "dtmf_zero", "queue:support").summary
    assert summary["verified"] is False and summary["customer_name"] is None
    assert "unclear" in summary["intent"] and "[number]" in summary["intent"]
    assert "1234" not in summary["intent"]
    assert "Caller identity not verified" in summary["open_items"]


def test_the_summary_carries_the_callers_mood_at_handoff(
    db_factory: sessionmaker[Session],
) -> None:
    # The escalation event carries the smoothed mood (dialogue/session.py): the summary
    # shows the level, and a frustrated voice makes the sentiment "frustrated" even when
    # the words were polite.
    ctx = seed_and_open_call(db_factory)
    record(db_factory, ctx, [("caller", "I would like to check my balance, please.")])
    with transaction(db_factory) as session:
        quiet = create_handoff(session, ctx.call_id, "caller_request", "queue:support")
        assert quiet.summary["frustration"] is None
        mood = {"frustration": 0.7234, "turns": [0.6, 0.8]}
        add_event(session, call_id=ctx.call_id, kind="escalation", payload={"mood": mood})
        summary = create_handoff(session, ctx.call_id, "frustration", "queue:support").summary
    assert summary["frustration"] == 0.723
    assert summary["sentiment"] == "frustrated"
    assert summary["reason"] == "frustration"


# --- the LLM summary ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLMServer]:
    rules = [
        Rule(match="Portland|water", reply="```json\n" + json.dumps(GOOD_SUMMARY) + "\n```"),
        Rule(match="gibberish", reply="Sure! The caller wants help."),
        Rule(match="outage", status=503),
    ]
    with ScriptedLLMServer(rules, fallback=Rule(reply='{"intent": ""}')) as server:
        yield server


def model_factory(server: ScriptedLLMServer) -> OpenAICompatChatModel:
    return OpenAICompatChatModel(base_url=server.base_url, model="scripted", timeout_s=5.0)


def new_handoff(factory: sessionmaker[Session], ctx: CallContext) -> int:
    with transaction(factory) as session:
        return create_handoff(session, ctx.call_id, "caller_request", "queue:support").id


def load_handoff(factory: sessionmaker[Session], handoff_id: int) -> Handoff:
    with factory() as session:
        handoff = session.get(Handoff, handoff_id)
        assert handoff is not None
        return handoff


def test_llm_summary_replaces_the_fallback_once(
    db_factory: sessionmaker[Session],
    paying_call: tuple[CallContext, ToolExecutor],
    llm: ScriptedLLMServer,
) -> None:
    ctx, _ = paying_call
    handoff_id = new_handoff(db_factory, ctx)
    llm.clear()
    assert run_summary(db_factory, handoff_id, lambda: model_factory(llm)) == "llm"
    handoff = load_handoff(db_factory, handoff_id)
    assert handoff.summary_source == "llm"
    assert handoff.summary["intent"] == GOOD_SUMMARY["intent"]
    assert handoff.summary["sentiment"] == "frustrated"
    # Identity and actions are the store's facts, not the model's.
    assert handoff.summary["customer_name"] == "Dana Whitfield"
    assert len(handoff.summary["actions"]) == 2
    # The model never saw the PIN the caller spoke.
    assert "4321" not in json.dumps(llm.requests[-1].messages)
    assert "four three two one" not in json.dumps(llm.requests[-1].messages)
    assert run_summary(db_factory, handoff_id, lambda: model_factory(llm)) == "already"
    assert len(llm.requests) == 1


def test_the_summary_is_asked_for_in_the_human_agents_language(
    db_factory: sessionmaker[Session],
    paying_call: tuple[CallContext, ToolExecutor],
    llm: ScriptedLLMServer,
) -> None:
    ctx, _ = paying_call
    handoff_id = new_handoff(db_factory, ctx)
    llm.clear()
    assert run_summary(db_factory, handoff_id, lambda: model_factory(llm), "de") == "llm"
    systems = [str(r.messages[0]["content"]) for r in llm.requests]
    summary = next(s for s in systems if s.startswith("You write handoff notes"))
    assert "notes in German" in summary, summary
    # The English call was translated into German first, turn by turn, for the agents.
    asked = [str(r.messages[-1]["content"]) for r in llm.requests]
    translating = [s for s in asked if s.startswith("Translate this English line")]
    assert translating and all(s.split("\n")[0].endswith("into German:") for s in translating)


@pytest.mark.parametrize("caller_says", ["gibberish", "outage", "something else"])
def test_bad_llm_answers_keep_the_fallback_and_say_why(
    db_factory: sessionmaker[Session], llm: ScriptedLLMServer, caller_says: str
) -> None:
    ctx = seed_and_open_call(db_factory)
    record(db_factory, ctx, [("caller", caller_says)])
    handoff_id = new_handoff(db_factory, ctx)
    before = load_handoff(db_factory, handoff_id).summary
    assert run_summary(db_factory, handoff_id, lambda: model_factory(llm)) == "fallback"
    handoff = load_handoff(db_factory, handoff_id)
    assert handoff.summary_source == "fallback"
    assert handoff.summary["llm_error"]
    assert {k: v for k, v in handoff.summary.items() if k != "llm_error"} == before


# --- enqueueing and the real worker -------------------------------------------------------


def test_enqueue_happens_only_after_commit(db_factory: sessionmaker[Session]) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    broker = redis.Redis.from_url(REDIS_URL)
    try:
        with db_factory() as session:
            session.begin()
            enqueue_after_commit(session, summarise_handoff, 1, queue=queue)
            assert broker.llen(queue) == 0
            session.rollback()
            session.begin()
            session.commit()  # the rolled-back enqueue must not fire on a later commit
            assert broker.llen(queue) == 0
            session.begin()
            enqueue_after_commit(session, summarise_handoff, 2, queue=queue)
            session.commit()
        # Sent by the outbox's sender thread right after the commit.
        deadline = time.monotonic() + 10
        while broker.llen(queue) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert broker.llen(queue) == 1
        body = json.loads(broker.lpop(queue))  # type: ignore[arg-type]
        assert body["headers"]["task"] == "callcenter.summarise_handoff"
    finally:
        broker.delete(queue)


def test_broker_down_loses_nothing_stored(
    db_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    dead = make_celery(load_settings(celery_broker_url="redis://127.0.0.1:1/0"))

    @dead.task(name="callcenter.summarise_handoff")
    def task(handoff_id: int) -> None: ...

    ctx = seed_and_open_call(db_factory)
    with caplog.at_level(logging.WARNING), transaction(db_factory) as session:
        handoff = create_handoff(session, ctx.call_id, "caller_request", "queue:support")
        enqueue_after_commit(session, task, handoff.id)
    deadline = time.monotonic() + 15
    while "waits in the outbox" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "waits in the outbox" in caplog.text
    assert load_handoff(db_factory, handoff.id).summary_source == "fallback"
    with db_factory() as session:  # the job is kept for the sweeper, not lost
        jobs = session.scalars(select(OutboxJob).where(OutboxJob.task == task.name)).all()
        assert [job.sent_at for job in jobs if job.args == [handoff.id]] == [None]


@pytest.fixture
def committed_call(pg_engine: Engine) -> Iterator[str]:
    """A call really committed (a worker process cannot see a test's open transaction)."""
    with Session(pg_engine) as session, session.begin():
        call = Call(call_sid="CA" + uuid.uuid4().hex, from_number="+15550000000")
        session.add(call)
        session.flush()
        call_id = call.id
        for seq, (speaker, text) in enumerate(
            [("agent", "How can I help?"), ("caller", "My water bill payment, Portland Water.")]
        ):
            add_turn(session, call_id=call_id, seq=seq, speaker=Speaker(speaker), text=text)
    yield call_id
    with Session(pg_engine) as session, session.begin():
        session.execute(delete(Call).where(Call.id == call_id))


def test_a_real_worker_writes_the_llm_summary(
    pg_engine: Engine, pg_url: str, committed_call: str, llm: ScriptedLLMServer
) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = os.environ | {
        "CALLCENTER_DATABASE_URL": pg_url,
        "CALLCENTER_LLM_BASE_URL": llm.base_url,
        "CALLCENTER_CELERY_BROKER_URL": REDIS_URL,
        "CALLCENTER_CELERY_EAGER": "false",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "callcenter.tasks.celery_app", "worker",
        "-Q", queue, "--pool", "solo", "--without-gossip", "--without-mingle",
        "--without-heartbeat", "--loglevel", "INFO",
    ]  # fmt: skip
    with tempfile.TemporaryFile("w+") as log:
        worker = subprocess.Popen(
            command, env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        try:
            with Session(pg_engine) as session, session.begin():
                handoff = create_handoff(session, committed_call, "caller_request", "queue:x")
                handoff_id = handoff.id
                enqueue_after_commit(session, summarise_handoff, handoff_id, queue=queue)
            deadline = time.monotonic() + 60
            source = "fallback"
            while time.monotonic() < deadline and worker.poll() is None:
                with Session(pg_engine) as session:
                    row = session.get(Handoff, handoff_id)
                    source = row.summary_source if row else "missing"
                    if source == "llm":
                        assert row is not None
                        assert row.summary["intent"] == GOOD_SUMMARY["intent"]
                        break
                time.sleep(0.2)
            log.seek(0)
            assert source == "llm", log.read()[-3000:]
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            redis.Redis.from_url(REDIS_URL).delete(queue)
