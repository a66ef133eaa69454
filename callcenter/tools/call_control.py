"""Tools about the call itself: callbacks, transfer to a human, hanging up."""

from __future__ import annotations

from typing import Any

from callcenter.store.models import Call, Callback
from callcenter.text.spoken_numbers import extract_digits
from callcenter.tools import policy
from callcenter.tools.base import ToolResult, ToolRun
from callcenter.tools.redaction import redact_text

MODEL_TRANSFER = "model_transfer"

CALLBACK_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "when": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100,
            "description": "When the caller wants the call back, in their words.",
        },
        "topic": {"type": "string", "maxLength": 500, "description": "What it is about."},
        "phone": {
            "type": "string",
            "maxLength": 32,
            "description": "Only if the caller gave a different number to call back on.",
        },
    },
    "required": ["when", "topic"],
    "additionalProperties": False,
}
TRANSFER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 300, "description": "Why, in a few words."}
    },
    "required": ["reason"],
    "additionalProperties": False,
}
END_CALL_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {},
    "additionalProperties": False,
}


def schedule_callback(run: ToolRun) -> ToolResult:
    ctx = run.ctx
    given = str(run.arguments.get("phone") or "")
    if given:
        digits = extract_digits(given)
        # The model may add a country code the caller did not say: compare the local part.
        if not (ctx.caller_said_digits(digits) or ctx.caller_said_digits(digits[-10:])):
            return ToolResult.invalid(
                "phone_not_from_caller", "Which number should we call you back on?"
            )
        phone = "+" + digits if given.strip().startswith("+") else digits
    else:
        phone = ctx.caller_number or _call_from_number(run)
    if not phone:
        return ToolResult.invalid("no_phone", "Which number should we call you back on?")
    when = " ".join(str(run.arguments["when"]).split())
    row = Callback(
        call_id=ctx.call_id,
        account_id=ctx.verified.account_id if ctx.verified else None,
        phone=phone,
        requested_for=when,
        # A secret the caller said must not land in the callback queue either.
        topic=redact_text(str(run.arguments.get("topic") or ""), ctx.secrets_seen),
    )
    run.session.add(row)
    run.session.flush()
    return ToolResult.ok(
        f"I've scheduled a call back {when}, to the number ending {phone[-4:]}.",
        callback_id=row.id,
        when=when,
    )


def _call_from_number(run: ToolRun) -> str:
    call = run.session.get(Call, run.ctx.call_id)
    return call.from_number if call is not None else ""


def transfer_to_human(run: ToolRun) -> ToolResult:
    result = ToolResult.ok(
        "I'll connect you with a colleague now. Please stay on the line.",
        reason=str(run.arguments.get("reason", "")),
    )
    return ToolResult(result.status, result.data, action="transfer", reason=MODEL_TRANSFER)


def end_call(run: ToolRun) -> ToolResult:
    latest = run.ctx.latest_input
    # The small model hangs up on "Hello?": only end once the caller is wrapping up.
    if latest is None or not policy.is_closing(latest):
        return ToolResult.refused(
            "caller_not_done", "Is there anything else I can help you with today?"
        )
    result = ToolResult.ok("Thank you for calling. Goodbye!")
    return ToolResult(result.status, result.data, action="end_call", reason="caller_done")
