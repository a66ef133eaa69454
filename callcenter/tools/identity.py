"""verify_identity: account number plus PIN or date of birth, as the caller gave them."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from callcenter.store.models import Account, Call, Customer
from callcenter.store.secrets import Pepper, hash_secret, needs_rehash, verify_secret
from callcenter.text.dates import parse_one_date
from callcenter.text.spoken_numbers import extract_digits
from callcenter.tools.base import ToolResult, ToolRun
from callcenter.tools.context import CallContext, VerifiedIdentity

FAILED_VERIFICATION = "failed_verification"

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "account_number": {
            "type": "string",
            "description": "The account number exactly as the caller said or keyed it.",
        },
        "pin": {
            "type": "string",
            "description": "The PIN exactly as the caller said or keyed it.",
        },
        "date_of_birth": {
            "type": "string",
            "description": "The date of birth the caller said, as YYYY-MM-DD.",
        },
    },
    "required": ["account_number"],
    "additionalProperties": False,
}
DESCRIPTION = (
    "Verify the caller's identity. Call ONLY after the caller has said their account "
    "number and either their PIN or their date of birth. Never guess these values."
)


@lru_cache(maxsize=4)
def _dummy_hash(pepper: Pepper) -> str:
    # Checked against when the account does not exist, so a wrong account number takes
    # as long as a wrong PIN and callers cannot probe which accounts exist.
    return hash_secret("no-such-account", pepper)


def verify_identity(run: ToolRun) -> ToolResult:
    ctx, args = run.ctx, run.arguments
    limit = run.settings.max_verification_attempts
    if ctx.failed_verifications >= limit:
        return _escalate()
    pin = str(args.get("pin") or "").strip()
    dob = str(args.get("date_of_birth") or "").strip()
    _remember_secrets(ctx, pin, dob)
    if not pin and not dob:
        return ToolResult.invalid(
            "missing_secret", "To verify you, I need either your PIN or your date of birth."
        )
    account_number = extract_digits(str(args["account_number"]))
    if ctx.verified is not None:
        if account_number == ctx.verified.account_number:
            return ToolResult.ok("You're already verified on this call.", verified=True)
        return ToolResult.refused(
            "already_verified_other_account",
            "You're already verified for one account on this call. For another account, "
            "I can transfer you to a colleague.",
        )
    if not ctx.caller_said_digits(account_number):
        return ToolResult.invalid(
            "account_number_not_from_caller",
            "Could you tell me your account number? You can also key it in.",
        )
    secret = _secret_from_caller(ctx, pin, dob)
    if isinstance(secret, ToolResult):
        return secret
    method, value = secret
    account = _find_account(run.session, account_number)
    pepper = Pepper.of(run.settings.identity_pepper, run.settings.identity_pepper_previous)
    if account is None:
        verify_secret(_dummy_hash(pepper), value, pepper)
        matched = False
    else:
        stored = account.customer.pin_hash if method == "pin" else account.customer.dob_hash
        matched = verify_secret(stored, value, pepper)
        if matched and needs_rehash(stored, pepper):
            # The migration path: a row hashed without (or with an old) pepper gets the
            # current one now that we hold the value that matched.
            _rehash(account.customer, method, value, pepper)
    if not matched or account is None:
        ctx.failed_verifications += 1
        left = limit - ctx.failed_verifications
        if left <= 0:
            return _escalate()
        return ToolResult.refused(
            "verification_failed",
            "Sorry, those details don't match our records. Could you try again?",
            attempts_left=left,
        )
    identity = VerifiedIdentity(
        account_id=account.id,
        account_number=account.account_number,
        customer_name=account.customer.full_name,
        method=method,
    )
    run.on_commit.append(lambda: setattr(ctx, "verified", identity))
    run.session.execute(
        update(Call).where(Call.id == ctx.call_id).values(verified_account_id=account.id)
    )
    first_name = identity.customer_name.split()[0]
    return ToolResult.ok(
        f"Thank you, {first_name}, you're verified.", verified=True, first_name=first_name
    )


def _escalate() -> ToolResult:
    result = ToolResult.refused(
        FAILED_VERIFICATION,
        "I'm sorry, I wasn't able to verify your identity. Let me transfer you to a "
        "colleague who can help.",
    )
    return ToolResult(result.status, result.data, action="transfer", reason=FAILED_VERIFICATION)


def _secret_from_caller(
    ctx: CallContext, pin: str, dob: str
) -> tuple[Literal["pin", "date_of_birth"], str] | ToolResult:
    """The secret to check, only if the caller said it in this call."""
    if pin:
        pin_digits = extract_digits(pin)
        if pin_digits and ctx.caller_said_digits(pin_digits):
            return "pin", pin_digits
    if dob:
        born = parse_one_date(dob)
        if born is not None and ctx.caller_said_date(born):
            return "date_of_birth", born.isoformat()
    if pin:
        return ToolResult.invalid(
            "pin_not_from_caller", "Could you tell me your PIN? You can also key it in."
        )
    return ToolResult.invalid(
        "date_of_birth_not_from_caller", "Could you tell me your date of birth?"
    )


def _remember_secrets(ctx: CallContext, pin: str, dob: str) -> None:
    for value in (pin, extract_digits(pin), dob):
        if value:
            ctx.secrets_seen.add(value)
    born = parse_one_date(dob) if dob else None
    if born is not None:
        ctx.secrets_seen.add(born.isoformat())


def _rehash(customer: Customer, method: str, value: str, pepper: Pepper) -> None:
    fresh = hash_secret(value, pepper)
    if method == "pin":
        customer.pin_hash = fresh
    else:
        customer.dob_hash = fresh


def _find_account(session: Session, account_number: str) -> Account | None:
    return session.scalar(
        select(Account)
        .options(joinedload(Account.customer))
        .where(Account.account_number == account_number)
    )
