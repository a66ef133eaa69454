"""Demo data: the documented demo caller exists, secrets are hashed, seeding is idempotent."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from callcenter.store.models import Account
from callcenter.store.secrets import verify_secret
from callcenter.store.seed import seed_demo


def test_demo_account_1001_is_dana(db_session: Session) -> None:
    seed_demo(db_session)
    account = db_session.scalar(select(Account).where(Account.account_number == "1001"))
    assert account is not None
    assert account.customer.full_name == "Dana Whitfield"
    assert account.balance == Decimal("2417.35")
    assert len(account.transactions) >= 3
    assert verify_secret(account.customer.pin_hash, "4321")
    assert verify_secret(account.customer.pin_hash, "4 3 2 1")
    assert not verify_secret(account.customer.pin_hash, "1234")
    assert verify_secret(account.customer.dob_hash, "1984-03-07")


def test_secrets_are_never_stored_in_clear(db_session: Session) -> None:
    seed_demo(db_session)
    rows = db_session.execute(text("SELECT pin_hash, dob_hash FROM customers")).all()
    assert rows
    for pin_hash, dob_hash in rows:
        assert "4321" not in pin_hash and "1984" not in dob_hash
        assert pin_hash.startswith("$argon2")


def test_seeding_twice_adds_nothing(db_session: Session) -> None:
    first = seed_demo(db_session)
    second = seed_demo(db_session)
    assert first >= 3
    assert second == 0
