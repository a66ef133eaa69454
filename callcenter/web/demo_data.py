"""Customers, accounts and transactions the agent's tools act on (admins), and resetting
the demo data on a one-machine install. PINs and birth dates are never shown: only
their hashes are stored, and no page or API reads even those."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter.keys import exposure
from callcenter.store import audit
from callcenter.store.models import Account, Customer, Role, Transaction
from callcenter.store.secrets import Pepper
from callcenter.store.seed import reset_demo
from callcenter.web.auth import flash, page, principal_of, run_db
from callcenter.web.templating import render

admin_page = page(Role.admin)
TRANSACTIONS_SHOWN = 100


def _account_dict(account: Account) -> dict[str, Any]:
    return {
        "account_number": account.account_number,
        "balance": account.balance,
        "currency": account.currency,
        "status": account.status.value,
        "card_status": account.card_status.value,
        "card_last4": account.card_last4,
        "address": ", ".join(
            part
            for part in (
                account.address_line1,
                account.address_line2,
                account.city,
                account.region,
                account.postal_code,
                account.country,
            )
            if part
        ),
        "updated_at": account.updated_at,
    }


def _customers(session: Session) -> list[dict[str, Any]]:
    rows = []
    for customer in session.scalars(select(Customer).order_by(Customer.full_name)):
        rows.append(
            {
                "name": customer.full_name,
                "phone": customer.phone or "",
                "accounts": [_account_dict(a) for a in customer.accounts],
            }
        )
    return rows


def one_machine(request: Request) -> bool:
    settings = request.app.state.runtime.settings
    return exposure(settings, settings.host) is None


@admin_page
async def customers_page(request: Request) -> Response:
    customers = await run_db(request, _customers)
    context = {"customers": customers, "can_reset": one_machine(request)}
    return render(request, "customers.html", context)


@admin_page
async def account_page(request: Request) -> Response:
    number = request.path_params["number"]

    def load(session: Session) -> dict[str, Any] | None:
        account = session.scalar(select(Account).where(Account.account_number == number))
        if account is None:
            return None
        total = session.scalar(select(func.count()).where(Transaction.account_id == account.id))
        shown = session.scalars(
            select(Transaction)
            .where(Transaction.account_id == account.id)
            .order_by(Transaction.posted_at.desc())
            .limit(TRANSACTIONS_SHOWN)
        )
        return {
            "account": _account_dict(account),
            "customer": {"name": account.customer.full_name, "phone": account.customer.phone},
            "transactions": [
                {"posted_at": t.posted_at, "description": t.description, "amount": t.amount}
                for t in shown
            ],
            "total": int(total or 0),
        }

    context = await run_db(request, load)
    if context is None:
        return render(request, "error.html", {"message": f"No account {number}."}, status_code=404)
    return render(request, "account_detail.html", context)


@admin_page
async def reset_demo_data(request: Request) -> Response:
    if not one_machine(request):
        flash(request, "Demo data can only be reset on a one-machine (loopback) install.", "error")
        return RedirectResponse("/admin/customers", status_code=303)
    settings = request.app.state.runtime.settings
    pepper = Pepper.of(settings.identity_pepper, settings.identity_pepper_previous)
    actor = principal_of(request).user

    def work(session: Session) -> int:
        count = reset_demo(session, pepper)
        audit.record(
            session, actor=actor, action="demo.reset", target_type="demo", details={"count": count}
        )
        return count

    count = await run_db(request, work)
    flash(request, f"Demo data reset: {count} customers as shipped.")
    return RedirectResponse("/admin/customers", status_code=303)


def demo_routes() -> list[BaseRoute]:
    return [
        Route("/admin/customers", customers_page),
        Route("/admin/accounts/{number}", account_page),
        Route("/admin/demo/reset", reset_demo_data, methods=["POST"]),
    ]
