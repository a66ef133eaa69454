"""Post-call summary and disposition, CRM webhook delivery, retention purge: the job
bodies against a real Postgres (rolled back per test) and a real local HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.recordings import DiskRecordings
from callcenter.settings import load_settings
from callcenter.store.calls import add_tool_invocation, add_turn, get_or_create_call
from callcenter.store.db import transaction
from callcenter.store.models import (
    Call,
    CallEvent,
    CallStatus,
    DeliveryStatus,
    Handoff,
    HandoffStatus,
    Speaker,
    ToolStatus,
    Turn,
    WebhookDelivery,
)
from callcenter.tasks.post_call import run_post_call
from callcenter.tasks.retention import purge_expired
from callcenter.tasks.summary import create_handoff
from callcenter.tasks.webhooks import attempt_delivery, backoff_s, queue_event

HI = ("agent", "Hi")
SETTINGS = load_settings(crm_webhook_url="", crm_webhook_secret="s3cret")


def _call(
    factory: sessionmaker[Session],
    sid: str,
    status: CallStatus,
    said: list[tuple[str, str]],
    tools: list[str] = (),  # type: ignore[assignment]
) -> str:
    with transaction(factory) as session:
        call = get_or_create_call(session, call_sid=sid)
        call.status = status
        call.ended_at = datetime.now(UTC)
        for seq, (speaker, text) in enumerate(said, start=1):
            add_turn(session, call_id=call.id, seq=seq, speaker=Speaker(speaker), text=text)
        for name in tools:
            add_tool_invocation(
                session,
                call_id=call.id,
                name=name,
                arguments={},
                result={"say": "done"},
                status=ToolStatus.ok,
                duration_ms=3,
            )
        return call.id


def _summary(factory: sessionmaker[Session], call_id: str) -> dict[str, Any]:
    with factory() as session:
        call = session.get(Call, call_id)
        assert call is not None and call.summary is not None
        return call.summary


@pytest.mark.parametrize(
    ("status", "said", "tools", "expected"),
    [
        (CallStatus.completed, [HI, ("caller", "balance?")], ["get_balance"], "resolved"),
        (CallStatus.completed, [HI, ("caller", "hours?"), ("agent", "9 to 5")], [], "resolved"),
        (CallStatus.completed, [HI, ("caller", "hours?")], [], "abandoned"),
        (CallStatus.completed, [HI], [], "abandoned"),
        (CallStatus.interrupted, [HI, ("caller", "hours?")], [], "interrupted"),
        (CallStatus.transferred, [HI, ("caller", "a person")], [], "transferred"),
    ],
)  # fmt: skip
def test_post_call_disposition_follows_the_stored_facts(
    db_factory: sessionmaker[Session],
    status: CallStatus,
    said: list[tuple[str, str]],
    tools: list[str],
    expected: str,
) -> None:
    call_id = _call(db_factory, f"CApost-{expected}-{len(said)}", status, said, tools)
    assert run_post_call(db_factory, call_id, None, SETTINGS) == "fallback"
    summary = _summary(db_factory, call_id)
    assert summary["disposition"] == expected
    assert summary["source"] == "fallback" and summary["status"] == status.value
    assert summary["turns"] == len(said)


def test_post_call_summary_with_a_broken_model_keeps_the_fallback(
    db_factory: sessionmaker[Session],
) -> None:
    call_id = _call(db_factory, "CApost-llm", CallStatus.completed, [("caller", "My balance?")])

    def broken() -> Any:
        raise RuntimeError("no model here")

    assert run_post_call(db_factory, call_id, broken, SETTINGS) == "fallback"
    summary = _summary(db_factory, call_id)
    assert "no model here" in summary["llm_error"]
    assert "balance" in summary["intent"]


class _Receiver(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        status = self.answers.pop(0) if self.answers else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def crm() -> Iterator[tuple[str, type[_Receiver]]]:
    class Receiver(_Receiver):
        answers: ClassVar[list[int]] = []
        received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", Receiver
    server.shutdown()


def _delivery(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as session:
        return queue_event(session, "call.completed", None, {"call": {"id": "c1"}})


def test_webhook_is_signed_idempotent_and_retried_until_delivered(
    db_factory: sessionmaker[Session], crm: tuple[str, type[_Receiver]]
) -> None:
    url, receiver = crm
    receiver.answers = [503, 500]
    settings = load_settings(crm_webhook_url=url, crm_webhook_secret="s3cret")
    delivery_id = _delivery(db_factory)
    with httpx.Client(timeout=5) as client:
        outcomes = [attempt_delivery(db_factory, delivery_id, settings, client) for _ in range(4)]
    assert [o.outcome for o in outcomes] == ["retry", "retry", "delivered", "already"]
    assert len(receiver.received) == 3
    keys = {headers["Idempotency-Key"] for headers, _ in receiver.received}
    assert len(keys) == 1  # the same key on every attempt
    headers, body = receiver.received[-1]
    stamp = headers["X-Callcenter-Timestamp"]
    expected = hmac.new(b"s3cret", f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Callcenter-Signature"] == f"sha256={expected}"
    assert json.loads(body)["event"] == "call.completed"
    with db_factory() as session:
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None and row.status == DeliveryStatus.delivered and row.attempts == 3
    assert [backoff_s(n, 2.0) for n in (1, 2, 3, 20)] == [2.0, 4.0, 8.0, 600.0]


def test_webhook_gives_up_after_the_limit_and_records_why(
    db_factory: sessionmaker[Session], crm: tuple[str, type[_Receiver]]
) -> None:
    url, receiver = crm
    receiver.answers = [500, 500, 500]
    settings = load_settings(crm_webhook_url=url, crm_webhook_max_attempts=2)
    delivery_id = _delivery(db_factory)
    with httpx.Client(timeout=5) as client:
        outcomes = [attempt_delivery(db_factory, delivery_id, settings, client) for _ in range(3)]
    assert [o.outcome for o in outcomes] == ["retry", "failed", "already"]
    with db_factory() as session:
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None and row.status == DeliveryStatus.failed
        assert row.attempts == 2 and "HTTP 500" in row.last_error


def test_retention_purges_old_calls_but_keeps_open_handoffs(
    db_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    said = [("caller", "hello")]
    old_plain = _call(db_factory, "CAold-plain", CallStatus.completed, said)
    old_open = _call(db_factory, "CAold-open", CallStatus.transferred, said)
    old_resolved = _call(db_factory, "CAold-resolved", CallStatus.transferred, said)
    recent = _call(db_factory, "CArecent", CallStatus.completed, said)
    with transaction(db_factory) as session:
        for call_id in (old_plain, old_open, old_resolved):
            session.get(Call, call_id).started_at = datetime.now(UTC) - timedelta(days=40)  # type: ignore[union-attr]
        create_handoff(session, old_open, "caller_request", "queue:x")
        done = create_handoff(session, old_resolved, "caller_request", "queue:x")
        done.status = HandoffStatus.resolved
        session.add(CallEvent(call_id=old_plain, kind="dtmf", payload={}))
    kept, gone = tmp_path / f"{old_open}.wav", tmp_path / f"{old_plain}.wav"
    kept.write_bytes(b"RIFF"), gone.write_bytes(b"RIFF")
    report = purge_expired(db_factory, 30, batch=1, recordings=DiskRecordings(tmp_path))
    assert report.calls == 2 and report.recordings == 1
    assert kept.exists() and not gone.exists()
    with db_factory() as session:
        left = set(session.scalars(select(Call.id)))
        assert {old_open, recent} <= left and not {old_plain, old_resolved} & left
        assert not session.scalars(select(Turn).where(Turn.call_id == old_plain)).all()
        assert not session.scalars(select(CallEvent).where(CallEvent.call_id == old_plain)).all()
        assert session.scalars(select(Handoff).where(Handoff.call_id == old_open)).all()
