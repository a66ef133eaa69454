"""Typed SQLAlchemy 2 models: everything a call produced, and what the agent acts on.

Works on PostgreSQL (production) and SQLite (the embedded default). Constraint names
follow one convention so Alembic migrations are deterministic on both.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType}  # noqa: RUF012


def enum_column(enum_cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings with a CHECK: portable, and readable in psql.
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=32,
        name=enum_cls.__name__.lower(),
        values_callable=lambda members: [m.value for m in members],
    )


# --- accounts the tools operate on -----------------------------------------------------


class AccountStatus(enum.StrEnum):
    active = "active"
    frozen = "frozen"
    closed = "closed"


class CardStatus(enum.StrEnum):
    active = "active"
    blocked_lost = "blocked_lost"
    blocked_stolen = "blocked_stolen"
    none = "none"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    # Secrets are stored only as argon2 hashes (see callcenter.store.secrets).
    pin_hash: Mapped[str] = mapped_column(String(200))
    dob_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    accounts: Mapped[list[Account]] = relationship(back_populates="customer")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    account_number: Mapped[str] = mapped_column(String(32), unique=True)
    balance: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2), default="US")
    status: Mapped[AccountStatus] = mapped_column(
        enum_column(AccountStatus), default=AccountStatus.active
    )
    card_status: Mapped[CardStatus] = mapped_column(
        enum_column(CardStatus), default=CardStatus.active
    )
    card_last4: Mapped[str] = mapped_column(String(4), default="")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    customer: Mapped[Customer] = relationship(back_populates="accounts")
    transactions: Mapped[list[Transaction]] = relationship(
        back_populates="account", order_by="Transaction.posted_at.desc()"
    )


class Transaction(Base):
    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    description: Mapped[str] = mapped_column(String(200))
    # Negative = money out of the account.
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    reference: Mapped[str | None] = mapped_column(String(64), unique=True)

    account: Mapped[Account] = relationship(back_populates="transactions")


class Callback(Base):
    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    phone: Mapped[str] = mapped_column(String(32))
    requested_for: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- calls and what happened in them ---------------------------------------------------


class CallDirection(enum.StrEnum):
    inbound = "inbound"
    outbound = "outbound"
    # A test call from the console (microphone in the browser), through the same pipeline.
    browser = "browser"


class CallStatus(enum.StrEnum):
    ringing = "ringing"
    in_progress = "in_progress"
    transferred = "transferred"
    completed = "completed"
    failed = "failed"
    interrupted = "interrupted"  # the server died while the call was live


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    stream_sid: Mapped[str | None] = mapped_column(String(64))
    from_number: Mapped[str] = mapped_column(String(64), default="")
    to_number: Mapped[str] = mapped_column(String(64), default="")
    direction: Mapped[CallDirection] = mapped_column(
        enum_column(CallDirection), default=CallDirection.inbound
    )
    status: Mapped[CallStatus] = mapped_column(enum_column(CallStatus), default=CallStatus.ringing)
    language: Mapped[str] = mapped_column(String(16), default="en")
    # Indexed for the retention purge.
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(64))
    # The process serving the live call; used to mark calls interrupted after a crash.
    server_id: Mapped[str | None] = mapped_column(String(64))
    verified_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    prompt_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("prompt_versions.id", ondelete="SET NULL")
    )
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    turns: Mapped[list[Turn]] = relationship(back_populates="call", order_by="Turn.seq")


class Speaker(enum.StrEnum):
    caller = "caller"
    agent = "agent"


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[Speaker] = mapped_column(enum_column(Speaker))
    text: Mapped[str] = mapped_column(Text, default="")
    # Agent turns: the prefix of `text` the caller actually heard (barge-in cuts it).
    heard_text: Mapped[str | None] = mapped_column(Text)
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default="speech")  # speech | dtmf | tts
    start_ms: Mapped[int | None] = mapped_column(Integer)
    end_ms: Mapped[int | None] = mapped_column(Integer)
    asr_confidence: Mapped[float | None]
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    # The language the turn was said in (ISO code; the call's language at the time).
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    call: Mapped[Call] = relationship(back_populates="turns")


class TurnTranslation(Base):
    """A machine translation of one turn for people who read another language (human
    agents, supervisors). Never the record of what was said: the turn is; the console
    labels this as machine-made."""

    __tablename__ = "turn_translations"
    __table_args__ = (UniqueConstraint("turn_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(16))  # the target (ISO code)
    text: Mapped[str] = mapped_column(Text)
    # Who made it: "llm" (the only maker so far) and which model, so a reader knows
    # whose work to doubt.
    made_by: Mapped[str] = mapped_column(String(16), default="llm")
    model: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ToolStatus(enum.StrEnum):
    ok = "ok"
    refused = "refused"
    invalid = "invalid"
    error = "error"


class ToolInvocation(Base):
    __tablename__ = "tool_invocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    turn_seq: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[ToolStatus] = mapped_column(enum_column(ToolStatus))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CallEvent(Base):
    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # barge_in, dtmf, mark, transfer, error, ...
    at_ms: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HandoffStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    resolved = "resolved"


class Handoff(Base):
    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    summary_source: Mapped[str] = mapped_column(String(16), default="pending")  # llm|fallback
    status: Mapped[HandoffStatus] = mapped_column(
        enum_column(HandoffStatus), default=HandoffStatus.pending
    )
    destination: Mapped[str] = mapped_column(String(200), default="")
    assigned_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_note: Mapped[str] = mapped_column(Text, default="")


# --- admin: versioned prompts and tools, users, audit ----------------------------------


class VersionStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class PromptVersion(Base):
    __tablename__ = "prompt_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)  # system, greeting, ...
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[VersionStatus] = mapped_column(
        enum_column(VersionStatus), default=VersionStatus.draft
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ToolDefinition(Base):
    __tablename__ = "tool_definitions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="builtin")  # builtin | http
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    requires_verification: Mapped[bool] = mapped_column(Boolean, default=True)
    # HTTP tools: url, method, timeout_s and headers; header secrets are encrypted.
    http: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[VersionStatus] = mapped_column(
        enum_column(VersionStatus), default=VersionStatus.draft
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Role(enum.StrEnum):
    admin = "admin"
    agent = "agent"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    api_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Carried in the session cookie and compared on every request: bumping it (logout,
    # password change, an admin's "revoke sessions") ends every session of the user.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StreamClaim(Base):
    """A Media Stream that used a stream token. The token hash is the key, so a token
    works once; the partial unique index allows one unreleased (live) stream per call,
    across every server process."""

    __tablename__ = "stream_claims"
    __table_args__ = (
        Index(
            "uq_stream_claims_live_call",
            "call_id",
            unique=True,
            postgresql_where=text("released_at IS NULL"),
            sqlite_where=text("released_at IS NULL"),
        ),
    )

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    stream_sid: Mapped[str] = mapped_column(String(64))
    server_id: Mapped[str] = mapped_column(String(64), default="")
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(64), default="system")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(64), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- scenario suites: scripted callers that guard each publish ------------------------


class ScenarioSuite(Base):
    """Caller scenarios an admin keeps; a required suite must pass against a draft
    before the draft is published (or the admin overrides, with a reason, audited)."""

    __tablename__ = "scenario_suites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Bumped on every change to the suite or its scenarios: older runs are then stale.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    scenarios: Mapped[list[Scenario]] = relationship(
        back_populates="suite", order_by="Scenario.position", cascade="all, delete-orphan"
    )


class Scenario(Base):
    """One caller: the steps (say or key) in order, and the end state expected."""

    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("suite_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    suite_id: Mapped[int] = mapped_column(
        ForeignKey("scenario_suites.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    steps: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    expected: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    suite: Mapped[ScenarioSuite] = relationship(back_populates="scenarios")


class ScenarioRun(Base):
    """One run of a suite against a target: the published set, or it with one draft."""

    __tablename__ = "scenario_runs"
    __table_args__ = (
        Index(
            "ix_scenario_runs_target", "suite_id", "target_kind", "target_name", "target_version"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    suite_id: Mapped[int] = mapped_column(ForeignKey("scenario_suites.id", ondelete="CASCADE"))
    target_kind: Mapped[str] = mapped_column(String(16))  # published | prompt | tool
    target_name: Mapped[str] = mapped_column(String(64), default="")
    target_version: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16), default="text")
    passed: Mapped[bool] = mapped_column(Boolean, default=False)
    scenario_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    # Per scenario: name, success, failures, violations, the transcript.
    results: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(64), default="system")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


# --- background jobs --------------------------------------------------------------------


class OutboxJob(Base):
    """A Celery job recorded in the transaction that caused it (transactional outbox).

    Sent after commit; if the broker is down it stays unsent and a sweeper sends it
    when the broker is back, so a job is never lost between the database and Redis.
    """

    __tablename__ = "outbox_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    args: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # gave up after the configured number of attempts


class WebhookDelivery(Base):
    """One call event for the CRM webhook; its id is the delivery's Idempotency-Key."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: the record of a delivery outlives the purge of its call.
    call_id: Mapped[str | None] = mapped_column(String(36), index=True)
    event: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True, default=new_uuid)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    response_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CallerPreference(Base):
    """How a returning caller likes the call, by a keyed hash of the caller ID (never the
    number itself, never account data); see ``store/caller_prefs.py``."""

    __tablename__ = "caller_preferences"

    caller_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    preferences: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Indexed for the retention purge: a caller who has not called for the retention
    # period is forgotten.
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, index=True
    )


__all__ = [
    "Account",
    "AccountStatus",
    "AuditLog",
    "Base",
    "Call",
    "CallDirection",
    "CallEvent",
    "CallStatus",
    "Callback",
    "CallerPreference",
    "CardStatus",
    "Customer",
    "DeliveryStatus",
    "Handoff",
    "HandoffStatus",
    "OutboxJob",
    "PromptVersion",
    "Role",
    "Scenario",
    "ScenarioRun",
    "ScenarioSuite",
    "Speaker",
    "ToolDefinition",
    "ToolInvocation",
    "ToolStatus",
    "Transaction",
    "Turn",
    "TurnTranslation",
    "User",
    "VersionStatus",
    "WebhookDelivery",
]
