"""The built-in tools with their default descriptions (admins may override them)."""

from __future__ import annotations

from types import MappingProxyType

from callcenter.tools import account, call_control, changes, identity
from callcenter.tools.base import ToolSpec

_SPECS = (
    ToolSpec(
        name="verify_identity",
        description=identity.DESCRIPTION,
        parameters=identity.PARAMETERS,
        handler=identity.verify_identity,
        extra={"public_arguments": ("account_number",)},
    ),
    ToolSpec(
        name="get_balance",
        description="Get the balance of the caller's verified account.",
        parameters=account.NO_ARGUMENTS,
        handler=account.get_balance,
        requires_verification=True,
    ),
    ToolSpec(
        name="list_recent_transactions",
        description="List the latest transactions on the caller's verified account.",
        parameters=account.TRANSACTIONS_PARAMETERS,
        handler=account.list_recent_transactions,
        requires_verification=True,
    ),
    ToolSpec(
        name="update_address",
        description=(
            "Change the postal address of the verified account. First call without "
            "confirm to read the address back; call again with confirm=true only after "
            "the caller says yes."
        ),
        parameters=changes.ADDRESS_PARAMETERS,
        handler=changes.update_address,
        requires_verification=True,
    ),
    ToolSpec(
        name="make_payment",
        description=(
            "Pay a bill from the verified account. First call without confirm to read the "
            "payment back; call again with confirm=true only after the caller says yes."
        ),
        parameters=changes.PAYMENT_PARAMETERS,
        handler=changes.make_payment,
        requires_verification=True,
    ),
    ToolSpec(
        name="block_card",
        description="Block the verified account's card because it was lost or stolen.",
        parameters=account.BLOCK_CARD_PARAMETERS,
        handler=account.block_card,
        requires_verification=True,
    ),
    ToolSpec(
        name="schedule_callback",
        description="Schedule a call back to the caller at a time they choose.",
        parameters=call_control.CALLBACK_PARAMETERS,
        handler=call_control.schedule_callback,
    ),
    ToolSpec(
        name="transfer_to_human",
        description=(
            "Transfer the call to a human agent when the caller asks for one or you cannot help."
        ),
        parameters=call_control.TRANSFER_PARAMETERS,
        handler=call_control.transfer_to_human,
    ),
    ToolSpec(
        name="end_call",
        description="Hang up, only after the caller has said goodbye or that they're done.",
        parameters=call_control.END_CALL_PARAMETERS,
        handler=call_control.end_call,
    ),
)

BUILTIN_TOOLS = MappingProxyType({spec.name: spec for spec in _SPECS})
