"""PIN and date-of-birth hashes take a pepper kept outside the database, and rows hashed
before it (or with an old one) move to the current pepper on their next successful check."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from callcenter.store.models import Customer
from callcenter.store.secrets import (
    PEPPERED_PREFIX,
    Pepper,
    hash_secret,
    needs_rehash,
    pepper_key_id,
    verify_secret,
)
from callcenter.store.seed import count_identity_hashes
from callcenter.tools import CallContext
from tests.tools.helpers import account, call_tool, make_executor, seed_and_open_call

OLD, NEW = "old-pepper-" + "a" * 32, "new-pepper-" + "b" * 32


def _dana(factory: sessionmaker[Session]) -> Customer:
    with factory() as session:
        customer = session.get(Customer, account(factory, "1001").customer_id)
        assert customer is not None
        session.expunge(customer)
        return customer


def _verify(factory: sessionmaker[Session], ctx: CallContext, **settings: str) -> bool:
    executor = make_executor(factory, **settings)
    ctx.record_caller_utterance("My account number is one zero zero one.")
    ctx.record_caller_utterance("And my PIN is four three two one.")
    outcome = call_tool(executor, ctx, "verify_identity", account_number="1001", pin="4321")
    return bool(outcome.result.get("verified"))


def test_a_peppered_hash_is_useless_without_the_pepper() -> None:
    pepper = Pepper.of(NEW)
    stored = hash_secret("4 3 2 1", pepper)
    assert stored.startswith(f"{PEPPERED_PREFIX}{pepper_key_id(NEW)}$")
    assert NEW not in stored
    assert verify_secret(stored, "4321", pepper)
    assert not verify_secret(stored, "1234", pepper)
    # A leaked table alone: the right PIN does not verify without the key.
    assert not verify_secret(stored, "4321")
    assert not verify_secret(stored, "4321", Pepper.of("some-other-pepper-" + "c" * 32))
    # Rotation: the old pepper still verifies while it is listed as previous.
    assert verify_secret(stored, "4321", Pepper.of(OLD, previous=NEW))
    assert needs_rehash(stored, Pepper.of(OLD, previous=NEW))
    assert not needs_rehash(stored, pepper)


def test_rows_hashed_without_a_pepper_migrate_on_the_next_successful_check(
    db_factory: sessionmaker[Session],
) -> None:
    ctx = seed_and_open_call(db_factory)  # the demo rows: hashed with no pepper
    legacy = _dana(db_factory)
    assert not legacy.pin_hash.startswith(PEPPERED_PREFIX)
    with db_factory() as session:
        before = count_identity_hashes(session, Pepper.of(OLD))
    assert before["none"] >= 2 and before["current"] == 0

    assert _verify(db_factory, ctx, identity_pepper=OLD)
    migrated = _dana(db_factory)
    assert migrated.pin_hash.startswith(f"{PEPPERED_PREFIX}{pepper_key_id(OLD)}$")
    assert migrated.dob_hash == legacy.dob_hash  # untouched until it is used
    with db_factory() as session:
        after = count_identity_hashes(session, Pepper.of(OLD))
    assert after["current"] == before["current"] + 1 and after["none"] == before["none"] - 1


def test_a_pepper_rotates_and_a_lost_pepper_fails_closed(
    db_factory: sessionmaker[Session],
) -> None:
    ctx = seed_and_open_call(db_factory)
    assert _verify(db_factory, ctx, identity_pepper=OLD)
    # Rotated: the old pepper listed as previous still verifies, and the row moves on.
    assert _verify(
        db_factory, seed_and_open_call(db_factory), identity_pepper=NEW,
        identity_pepper_previous=OLD,
    )  # fmt: skip
    assert _dana(db_factory).pin_hash.startswith(f"{PEPPERED_PREFIX}{pepper_key_id(NEW)}$")
    with db_factory() as session:
        counts = count_identity_hashes(session, Pepper.of("a-third-pepper-" + "d" * 32))
    assert counts["unknown"] >= 1
    # Without the pepper that made the row, the right PIN is refused (not waved through).
    assert not _verify(db_factory, seed_and_open_call(db_factory), identity_pepper="")
