"""The demo accounts as seeded, and putting them back so: the baseline every benchmark
call and every scenario starts from, and what the judge compares the end state with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callcenter.scenarios.judge import AccountState
from callcenter.store.models import Account, CardStatus, Transaction
from callcenter.store.seed import DEMO_CUSTOMERS, seed_demo


def demo_baseline() -> dict[str, AccountState]:
    """The demo accounts as seeded (and as :func:`reset_demo_accounts` leaves them)."""
    return {
        demo.account_number: AccountState(
            card_status=CardStatus.active.value, address=demo.address, balance=demo.balance
        )
        for demo in DEMO_CUSTOMERS
    }


def demo_transactions() -> dict[str, list[str]]:
    """Each demo account's transaction descriptions and amounts (account facts)."""
    return {
        demo.account_number: [
            part for _, text, amount in demo.transactions for part in (text, amount)
        ]
        for demo in DEMO_CUSTOMERS
    }


def reset_demo_accounts(session: Session) -> None:
    """Put the demo accounts back as seeded, so every benchmark call starts the same:
    card active, seeded address and balance, only the seeded transactions."""
    seed_demo(session)
    now = datetime.now(UTC)
    for demo in DEMO_CUSTOMERS:
        account = session.scalar(
            select(Account).where(Account.account_number == demo.account_number)
        )
        assert account is not None  # seed_demo just made sure
        line1, city, region, postal = demo.address
        account.address_line1, account.address_line2 = line1, ""
        account.city, account.region, account.postal_code = city, region, postal
        account.card_status = CardStatus.active
        account.balance = Decimal(demo.balance)
        session.execute(delete(Transaction).where(Transaction.account_id == account.id))
        for days_ago, description, amount in demo.transactions:
            session.add(
                Transaction(
                    account_id=account.id,
                    posted_at=now - timedelta(days=days_ago),
                    description=description,
                    amount=Decimal(amount),
                )
            )
    session.flush()
