"""Reading slots out of the turn that starts a task, or gives several at once: "I lost my
card, account 1001, PIN 4321", "pay 120 dollars to City Power", "42 Elm Street, Springfield,
Illinois, 62704". And the tool arguments a finished task turns into."""

from __future__ import annotations

import re
from typing import Any

from callcenter.dialogue.flows.definitions import FLOWS, FlowDef, SlotDef
from callcenter.dialogue.flows.slots import clean_text, tidy_place
from callcenter.dialogue.flows.state import Task
from callcenter.text.money import states_money

CALLER_REQUEST = "caller_request"

SECRET_START = re.compile(r"\b(pin|pin number|passcode|date of birth|birthday|born|dob)\b", re.I)
_PAYEE = re.compile(r".*\bto (?:the )?([a-z][\w&'. -]{1,80})$", re.IGNORECASE)
# "I want to pay my bill": "to" before a verb names no payee.
_NOT_PAYEE = re.compile(r"(pay|make|do|send|check|know|ask|change|get)\b", re.IGNORECASE)
_WHEN = re.compile(
    r"\b((?:today|tonight|tomorrow|this|next|on|at|in|after|before|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday)\b.*)$",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"(\d+\w*\s+[^,]+?),\s*([^,]+?),\s*([a-z .]+?)[,\s]+(\d{5})\b", re.IGNORECASE)


def tidy(slot: SlotDef, value: Any) -> Any:
    if slot.name in ("city", "region"):
        return tidy_place(str(value))
    return value


def prefill(task: Task, flow: FlowDef, text: str) -> None:
    """Slots the caller already gave when asking for the task ("I lost my card")."""
    if not text:
        return
    if flow.name == "verify":
        prefill_identity(task, text)
        return
    for slot in flow.slots:
        if slot.type.kind in ("text", "address"):
            continue
        if slot.type.kind == "money" and not states_money(text):
            continue  # "make a payment to Metro Transit" names no amount
        value = slot.type.parse(text)
        if value is not None:
            task.slots[slot.name] = value
    if flow.name == "payment":
        payee = _PAYEE.search(text.strip().rstrip(".!?"))
        if payee is not None and not _NOT_PAYEE.match(payee.group(1)):
            task.slots["payee"] = clean_text(payee.group(1))
    if flow.name == "callback":
        when = _WHEN.search(text.strip().rstrip(".!?"))
        if when is not None:
            task.slots["when"] = when.group(1)
    if flow.name == "change_address":
        whole = full_address(text)
        if whole is not None:
            task.slots.update(whole)


def prefill_identity(task: Task, text: str) -> None:
    """ "account 1001, PIN 4321" said with the request: the number before the word PIN (or
    date of birth) is the account; the secret is read only after that word."""
    found = SECRET_START.search(text)
    head = text[: found.start()] if found else text
    if found is not None or re.search(r"\baccount\b", head, re.IGNORECASE):
        account = FLOWS["verify"].slots[0].type.parse(head)
        if account is not None:
            task.slots["account_number"] = account
    if found is not None and "account_number" in task.slots:
        secret = FLOWS["verify"].slots[1].type.parse(text[found.start() :])
        if secret is not None:
            task.slots["secret"] = secret


def full_address(text: str) -> dict[str, str] | None:
    match = _ADDRESS.search(text)
    if match is None:
        return None
    street = FLOWS["change_address"].slots[0].type.parse(match.group(1))
    if street is None:
        return None
    return {
        "address_line1": street,
        "city": tidy_place(match.group(2).strip()),
        "region": tidy_place(match.group(3).strip()),
        "postal_code": match.group(4),
    }


def arguments(task: Task, *, confirm: bool) -> dict[str, Any]:
    slots = task.slots
    if task.flow == "verify":
        secret = slots["secret"]
        key = "pin" if secret.method == "pin" else "date_of_birth"
        return {"account_number": str(slots["account_number"]), key: secret.value}
    if task.flow == "block_card":
        return {"reason": slots["reason"]}
    if task.flow == "change_address":
        fields = ("address_line1", "city", "region", "postal_code")
        return {**{name: str(slots[name]) for name in fields}, "confirm": confirm}
    if task.flow == "payment":
        return {"amount": float(slots["amount"]), "payee": str(slots["payee"]), "confirm": confirm}
    if task.flow == "callback":
        return {"when": str(slots["when"]), "topic": "Caller asked to be called back."}
    if task.flow == "transfer":
        return {"reason": CALLER_REQUEST}
    return {}
