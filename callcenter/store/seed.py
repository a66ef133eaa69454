"""Demo data so anyone can try a call (`callcenter db seed-demo`). Idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callcenter.store.models import Account, CardStatus, Customer, Transaction
from callcenter.store.secrets import (
    NO_PEPPER,
    PEPPERED_PREFIX,
    Pepper,
    hash_secret,
    pepper_key_id,
)


@dataclass(frozen=True)
class DemoCustomer:
    account_number: str
    pin: str
    date_of_birth: str  # ISO date
    name: str
    phone: str
    balance: str
    address: tuple[str, str, str, str]  # line1, city, region, postal code
    card_last4: str
    transactions: tuple[tuple[int, str, str], ...]  # days ago, description, amount


DEMO_CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        account_number="1001",
        pin="4321",
        date_of_birth="1984-03-07",
        name="Dana Whitfield",
        phone="+15551230001",
        balance="2417.35",
        address=("42 Harbor Lane", "Portland", "OR", "97201"),
        card_last4="4417",
        transactions=(
            (1, "Grocery Outlet", "-84.12"),
            (2, "Payroll deposit ACME Corp", "2150.00"),
            (4, "Portland General Electric", "-96.40"),
            (6, "Coffee Collective", "-4.75"),
            (9, "Transfer to savings", "-300.00"),
        ),
    ),
    DemoCustomer(
        account_number="1002",
        pin="8642",
        date_of_birth="1990-11-21",
        name="Marcus Lee",
        phone="+15551230002",
        balance="158.09",
        address=("7 Elm Street", "Austin", "TX", "73301"),
        card_last4="9021",
        transactions=(
            (1, "Metro Transit", "-2.50"),
            (3, "Online Books", "-23.99"),
            (5, "Refund Online Books", "23.99"),
        ),
    ),
    DemoCustomer(
        account_number="1003",
        pin="1357",
        date_of_birth="1975-06-30",
        name="Priya Raman",
        phone="+15551230003",
        balance="10250.00",
        address=("900 Market Street Apt 5", "San Francisco", "CA", "94103"),
        card_last4="3310",
        transactions=((2, "Rent", "-2800.00"), (7, "Salary", "5100.00")),
    ),
)


def seed_demo(session: Session, pepper: Pepper = NO_PEPPER) -> int:
    """Insert the demo customers that are missing; returns how many were added."""
    added = 0
    now = datetime.now(UTC)
    for demo in DEMO_CUSTOMERS:
        exists = session.scalar(
            select(Account.id).where(Account.account_number == demo.account_number)
        )
        if exists is not None:
            continue
        customer = Customer(
            full_name=demo.name,
            phone=demo.phone,
            pin_hash=hash_secret(demo.pin, pepper),
            dob_hash=hash_secret(demo.date_of_birth, pepper),
        )
        line1, city, region, postal = demo.address
        account = Account(
            customer=customer,
            account_number=demo.account_number,
            balance=Decimal(demo.balance),
            address_line1=line1,
            city=city,
            region=region,
            postal_code=postal,
            card_status=CardStatus.active,
            card_last4=demo.card_last4,
        )
        for days_ago, description, amount in demo.transactions:
            account.transactions.append(
                Transaction(
                    posted_at=now - timedelta(days=days_ago),
                    description=description,
                    amount=Decimal(amount),
                )
            )
        session.add_all([customer, account])
        added += 1
    session.flush()
    return added


def count_identity_hashes(session: Session, pepper: Pepper) -> dict[str, int]:
    """PIN and date-of-birth hashes by the pepper that made them: ``current``, ``previous``
    (still verify, re-hashed on use), ``unknown`` (a pepper this process lacks: those
    callers cannot verify) and ``none`` (made before a pepper was set)."""
    counts = {"current": 0, "previous": 0, "unknown": 0, "none": 0}
    for pin_hash, dob_hash in session.execute(select(Customer.pin_hash, Customer.dob_hash)):
        for stored in (pin_hash, dob_hash):
            counts[_pepper_state(stored, pepper)] += 1
    return counts


def _pepper_state(stored: str, pepper: Pepper) -> str:
    if not stored.startswith(PEPPERED_PREFIX):
        return "none"
    key_id = stored.removeprefix(PEPPERED_PREFIX).partition("$")[0]
    if pepper.current and key_id == pepper_key_id(pepper.current):
        return "current"
    return "previous" if pepper.by_key_id(key_id) is not None else "unknown"


def reset_demo(session: Session, pepper: Pepper = NO_PEPPER) -> int:
    """Put the demo customers back as shipped (balances, cards, addresses, transactions).

    Only the demo accounts are touched; calls that verified one keep their record (the
    link is set to NULL by the foreign key). Returns how many customers were re-created.
    """
    numbers = [demo.account_number for demo in DEMO_CUSTOMERS]
    customer_ids = list(
        session.scalars(select(Account.customer_id).where(Account.account_number.in_(numbers)))
    )
    account_ids = select(Account.id).where(Account.account_number.in_(numbers))
    session.execute(delete(Transaction).where(Transaction.account_id.in_(account_ids)))
    session.execute(delete(Account).where(Account.account_number.in_(numbers)))
    if customer_ids:
        session.execute(delete(Customer).where(Customer.id.in_(customer_ids)))
    session.flush()
    session.expunge_all()
    return seed_demo(session, pepper)
