"""The task flows, as data: what each collects, whether it needs a verified caller, how it
is confirmed, and which tool runs it. The engine (:mod:`.engine`) walks these; the lines
said come from the ``flow_lines`` prompt (``prompts/flow_lines.txt``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from callcenter.dialogue.flows.slots import SlotType

# How a change is confirmed: "template" = read back with a flow line and wait for yes;
# "tool" = the tool's own two-step read-back (update_address, make_payment), so the
# tool's policy checks the caller's yes too; None = no confirmation.
Confirm = Literal["template", "tool"] | None


@dataclass(frozen=True)
class SlotDef:
    name: str
    type: SlotType
    ask: str  # flow line that asks for it
    ask_again: str = ""  # flow line after a miss (default: "reask" + ask)
    max_attempts: int = 3  # misses before the caller is handed to a person


@dataclass(frozen=True)
class FlowDef:
    name: str
    slots: tuple[SlotDef, ...] = ()
    tool: str | None = None
    needs_verification: bool = False
    confirm: Confirm = None
    confirm_line: str = ""


DIGITS = SlotType("digits")
ACCOUNT_NUMBER = SlotType("digits", min_len=4, max_len=12)
SECRET = SlotType("secret")
POSTAL_CODE = SlotType("digits", min_len=5, max_len=5)
CARD_REASON = SlotType(
    "choice",
    choices={
        "stolen": ("stolen", "stole", "steal", "theft", "thief", "robbed", "fraud", "used",
                   "unauthorized", "unauthorised", "without"),
        "lost": ("lost", "lose", "losing", "missing", "misplaced", "find", "dropped", "left"),
    },
)  # fmt: skip
PLACE = SlotType("text", min_len=2, max_len=100, whole_words=3)
STREET = SlotType("address", min_len=3, max_len=200)
PAYEE = SlotType("text", min_len=2, max_len=100)
MONEY = SlotType("money")
WHEN = SlotType("text", min_len=3, max_len=100)

FLOWS: Mapping[str, FlowDef] = MappingProxyType(
    {
        flow.name: flow
        for flow in (
            FlowDef(
                "verify",
                slots=(
                    SlotDef(
                        "account_number",
                        ACCOUNT_NUMBER,
                        "ask_account_number",
                        "ask_account_number_again",
                    ),
                    SlotDef("secret", SECRET, "ask_secret", "ask_secret_again"),
                ),
                tool="verify_identity",
            ),
            FlowDef("balance", tool="get_balance", needs_verification=True),
            FlowDef("transactions", tool="list_recent_transactions", needs_verification=True),
            FlowDef(
                "block_card",
                slots=(SlotDef("reason", CARD_REASON, "ask_card_reason"),),
                tool="block_card",
                needs_verification=True,
                confirm="template",
                confirm_line="confirm_block_card",
            ),
            FlowDef(
                "change_address",
                slots=(
                    SlotDef("address_line1", STREET, "ask_street"),
                    SlotDef("city", PLACE, "ask_city"),
                    SlotDef("region", PLACE, "ask_region"),
                    SlotDef("postal_code", POSTAL_CODE, "ask_postal_code"),
                ),
                tool="update_address",
                needs_verification=True,
                confirm="tool",
                confirm_line="confirm_address",
            ),
            FlowDef(
                "payment",
                slots=(
                    SlotDef("payee", PAYEE, "ask_payee"),
                    SlotDef("amount", MONEY, "ask_amount"),
                ),
                tool="make_payment",
                needs_verification=True,
                confirm="tool",
                confirm_line="confirm_payment",
            ),
            FlowDef(
                "callback",
                slots=(SlotDef("when", WHEN, "ask_callback_when"),),
                tool="schedule_callback",
                confirm="template",
                confirm_line="confirm_callback",
            ),
            FlowDef("transfer", tool="transfer_to_human"),
        )
    }
)
TASKS = tuple(FLOWS)  # the intents that start a flow
