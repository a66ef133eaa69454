"""Demo customers, accounts and transactions in the console, and resetting them."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import select

from callcenter.store.db import make_engine, transaction
from callcenter.store.models import Account, AuditLog, CardStatus
from callcenter.store.seed import DEMO_CUSTOMERS, seed_demo
from tests.support.live_app import start_live_app
from tests.web.helpers import WebServer, login


def test_admin_sees_customers_without_secrets_and_resets_the_demo(
    web_server: WebServer,
) -> None:
    with transaction(web_server.factory) as session:
        seed_demo(session)
        account = session.scalar(select(Account).where(Account.account_number == "1001"))
        assert account is not None
        account.balance = Decimal("1.00")  # what a call's tool might have done
        account.card_status = CardStatus.blocked_lost
    with web_server.client() as client:
        csrf = login(client, web_server.create_user("admin"))
        listing = client.get("/admin/customers").text
        for demo in DEMO_CUSTOMERS:
            assert demo.name in listing and f'data-account="{demo.account_number}"' in listing
            assert demo.pin not in listing and demo.date_of_birth not in listing
        assert "$argon2" not in listing and "blocked lost" in listing
        detail = client.get("/admin/accounts/1001").text
        assert "1.00 USD" in detail and "$argon2" not in detail
        assert DEMO_CUSTOMERS[0].transactions[0][1] in detail
        assert client.get("/admin/accounts/9999").status_code == 404

        reset = client.post("/admin/demo/reset", data={"csrf_token": csrf})
        assert reset.status_code == 303
        after = client.get("/admin/customers").text
        assert "Demo data reset" in after and "blocked lost" not in after
    with web_server.factory() as session:
        account = session.scalar(select(Account).where(Account.account_number == "1001"))
        assert account is not None and account.balance == Decimal(DEMO_CUSTOMERS[0].balance)
        assert session.scalar(select(AuditLog).where(AuditLog.action == "demo.reset"))


def test_the_reset_is_refused_on_an_install_reachable_from_outside(
    web_server: WebServer,
) -> None:
    """The same database as a real server, through an app that listens on every interface
    (reachable from outside the machine): no reset button, and a forged POST changes
    nothing. (A public https:// URL counts as reachable too: see keys.exposure.)"""
    with transaction(web_server.factory) as session:
        seed_demo(session)
        account = session.scalar(select(Account).where(Account.account_number == "1002"))
        assert account is not None
        account.balance = Decimal("2.00")
    engine = make_engine(web_server.url)
    app = start_live_app(engine, web_server.factory, host="0.0.0.0")
    try:
        with httpx.Client(base_url=app.url, timeout=30) as client:
            admin = web_server.create_user("admin")
            csrf = login(client, admin)
            listing = client.get("/admin/customers")
            assert listing.status_code == 200 and 'data-account="1002"' in listing.text
            assert 'id="reset-demo"' not in listing.text
            refused = client.post("/admin/demo/reset", data={"csrf_token": csrf})
            assert refused.status_code == 303
            assert refused.headers["location"] == "/admin/customers"
            after = client.get("/admin/customers").text
            assert "can only be reset on a one-machine" in after
    finally:
        app.stop()
        engine.dispose()
    with transaction(web_server.factory) as session:
        account = session.scalar(select(Account).where(Account.account_number == "1002"))
        assert account is not None and account.balance == Decimal("2.00")
        resets = select(AuditLog).where(AuditLog.action == "demo.reset", AuditLog.actor == admin)
        assert session.scalar(resets) is None
        account.balance = Decimal(DEMO_CUSTOMERS[1].balance)  # as the other tests expect
