"""Call events to the CRM webhook: signed, idempotent, retried with backoff.

Each event is a :class:`WebhookDelivery` row written in the transaction that produced it
and delivered by a job. The request is ``POST CALLCENTER_CRM_WEBHOOK_URL`` with a JSON
body and these headers:

- ``Idempotency-Key``: the delivery's key, the same on every retry (the CRM drops repeats);
- ``X-Callcenter-Timestamp``: Unix seconds of this attempt;
- ``X-Callcenter-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``"{timestamp}.{body}"``
  with ``CALLCENTER_CRM_WEBHOOK_SECRET`` (the timestamp makes replays detectable).

Network errors, timeouts, 408, 429 and 5xx are retried with exponential backoff
(``CRM_WEBHOOK_BACKOFF_S`` * 2^n, at most 10 minutes apart) up to
``CRM_WEBHOOK_MAX_ATTEMPTS``; other 4xx answers will not improve and fail at once. A
delivery that gives up is kept with status ``failed`` and the last error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from callcenter.settings import Settings, get_settings
from callcenter.store.db import transaction
from callcenter.store.models import DeliveryStatus, WebhookDelivery
from callcenter.tasks.celery_app import app
from callcenter.tasks.common import factory_for
from callcenter.tasks.outbox import enqueue_after_commit

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Callcenter-Signature"
TIMESTAMP_HEADER = "X-Callcenter-Timestamp"
MAX_BACKOFF_S = 600.0
_RETRYABLE = frozenset({408, 425, 429})


def queue_event(session: Session, event: str, call_id: str | None, data: dict[str, Any]) -> int:
    """Record one event for delivery (in the caller's transaction) and enqueue it."""
    delivery = WebhookDelivery(call_id=call_id, event=event, payload={})
    session.add(delivery)
    session.flush()
    delivery.payload = {
        "id": delivery.idempotency_key,
        "event": event,
        "created_at": datetime.now(UTC).isoformat(),
        "data": data,
    }
    enqueue_after_commit(session, deliver_webhook, delivery.id)
    return delivery.id


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff_s(attempt: int, base_s: float) -> float:
    """Delay before retry ``attempt`` (1 = the first retry)."""
    return float(min(MAX_BACKOFF_S, base_s * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Attempt:
    outcome: str  # delivered | already | missing | disabled | retry | failed
    attempts: int = 0
    error: str = ""


def attempt_delivery(
    factory: sessionmaker[Session],
    delivery_id: int,
    settings: Settings,
    client: httpx.Client,
) -> Attempt:
    """One attempt, recorded on the row; says whether to retry."""
    with factory() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return Attempt("missing")
        if delivery.status != DeliveryStatus.pending:
            return Attempt("already", delivery.attempts)
        key, payload, attempts = delivery.idempotency_key, delivery.payload, delivery.attempts
    if not settings.crm_webhook_url:
        return Attempt("disabled", attempts)
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(settings.crm_webhook_secret, timestamp, body),
        "User-Agent": "callcenter-webhooks/1",
    }
    attempts += 1
    status: int | None = None
    try:
        response = client.post(settings.crm_webhook_url, content=body, headers=headers)
        status = response.status_code
        error = "" if response.is_success else f"HTTP {status}: {response.text[:200]}"
    except httpx.HTTPError as failure:
        error = f"{type(failure).__name__}: {str(failure)[:200]}"
    if not error:
        outcome, new_status = "delivered", DeliveryStatus.delivered
    elif (status is None or status >= 500 or status in _RETRYABLE) and (
        attempts < settings.crm_webhook_max_attempts
    ):
        outcome, new_status = "retry", DeliveryStatus.pending
    else:
        outcome, new_status = "failed", DeliveryStatus.failed
    with transaction(factory) as session:
        row = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if row is not None and row.status == DeliveryStatus.pending:
            row.attempts = attempts
            row.status = new_status
            row.response_status = status
            row.last_error = error
            if new_status == DeliveryStatus.delivered:
                row.delivered_at = datetime.now(UTC)
    if outcome == "failed":
        log.error("CRM webhook %s gave up after %d attempt(s): %s", delivery_id, attempts, error)
    return Attempt(outcome, attempts, error)


@app.task(name="callcenter.deliver_webhook", bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self: Any, delivery_id: int) -> str:
    settings = get_settings()
    with httpx.Client(timeout=settings.crm_webhook_timeout_s) as client:
        result = attempt_delivery(
            factory_for(settings.sqlalchemy_url), delivery_id, settings, client
        )
    if result.outcome == "retry":
        # Attempts are counted on the row, not by Celery: a redelivered job keeps count.
        raise self.retry(countdown=backoff_s(result.attempts, settings.crm_webhook_backoff_s))
    return result.outcome
