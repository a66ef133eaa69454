"""Policy in code: what a tool call may do, whatever the model or the caller's words say.

The model is a 0.5B parameter guesser (it called verify_identity on "Hello?" with
invented data), so every rule that protects an account lives here, decided from the
call's record of caller input (:class:`CallContext`) and the store — never from
instructions in text. Nothing here interprets a caller's sentence as a command except
two closed vocabularies: yes (confirm a read-back) and goodbye (end the call).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from callcenter.store.models import ToolStatus
from callcenter.text.words import words
from callcenter.text.yes_no import is_yes_phrase
from callcenter.tools.base import ToolResult, ToolSpec
from callcenter.tools.context import CallContext, CallerInput, PendingAction

# Keys the model uses when it tries to name an account; account tools take none.
ACCOUNT_KEYS = ("account_number", "account", "account_id", "accountNumber")

NOT_VERIFIED_SAY = (
    "I can help with that once I've verified your identity. Could you tell me your "
    "account number, and then your PIN or your date of birth?"
)

# Every word of a confirmation must come from here: "yes, but make it 500" is not a yes.
_AFFIRMATIVE_WORDS = frozenset(
    [
        "yes", "yeah", "yep", "yup", "ya", "yea", "sure", "correct", "right", "confirm",
        "confirmed", "ok", "okay", "absolutely", "affirmative", "definitely", "exactly",
        "please", "go", "ahead", "do", "it", "that", "that's", "thats", "is", "sounds",
        "good", "great", "perfect", "fine", "thank", "thanks", "you", "uh", "um", "oh",
        "all", "proceed", "i", "we", "alright", "true",
    ]
)  # fmt: skip
_AFFIRMATIVE_CORE = frozenset(
    [
        "yes", "yeah", "yep", "yup", "ya", "yea", "sure", "correct", "right", "confirm",
        "confirmed", "ok", "okay", "absolutely", "affirmative", "definitely", "exactly",
        "go", "proceed", "alright", "perfect", "fine", "true",
    ]
)  # fmt: skip
_CLOSING = re.compile(
    r"\b(bye|goodbye|good bye|that'?s all|that is all|that'?s it|nothing else|no thanks|"
    r"no thank you|i'?m done|i am done|hang up|i'?m all set|i am all set|have a good)\b"
)


def is_affirmative(item: CallerInput) -> bool:
    """A clear, unconditional yes: DTMF 1, or speech made only of yes-words."""
    if item.source == "dtmf":
        return item.text.strip().rstrip("#") == "1"
    if item.text.strip().endswith("?"):  # "is that right?" asks, it does not confirm
        return False
    tokens = words(item.text)
    return is_yes_phrase(item.text) or (
        bool(tokens)
        and len(tokens) <= 10
        and all(token in _AFFIRMATIVE_WORDS for token in tokens)
        and any(token in _AFFIRMATIVE_CORE for token in tokens)
    )


_NEGATIVE_WORDS = frozenset(
    ["no", "nope", "nah", "not", "don't", "dont", "cancel", "stop", "wait", "wrong", "never"]
)


def is_negative(item: CallerInput) -> bool:
    """The caller turned a read-back down (or keyed 2)."""
    if item.source == "dtmf":
        return item.text.strip().rstrip("#") == "2"
    return any(token in _NEGATIVE_WORDS for token in words(item.text))


def is_closing(item: CallerInput) -> bool:
    """The caller is wrapping up ("that's all, bye"): the model may end the call."""
    return item.source == "speech" and bool(_CLOSING.search(" ".join(words(item.text))))


# --- verification and account scope ------------------------------------------------------


def check_scope(
    spec: ToolSpec, ctx: CallContext, arguments: dict[str, Any]
) -> tuple[ToolResult | None, dict[str, Any]]:
    """Verification gate and account scoping, before anything else looks at arguments.

    Returns (refusal or None, arguments with any account key naming the verified
    account removed). An account tool never takes an account from the model: it acts on
    the account verified in this call, and naming any other account is refused.
    """
    if not spec.requires_verification:
        return None, arguments
    if ctx.verified is None:
        return ToolResult.refused("identity_not_verified", NOT_VERIFIED_SAY), arguments
    cleaned = dict(arguments)
    for key in ACCOUNT_KEYS:
        if key not in cleaned:
            continue
        named = "".join(ch for ch in str(cleaned.pop(key)) if ch.isdigit())
        if named and named != ctx.verified.account_number:
            return (
                ToolResult.refused(
                    "other_account",
                    "I can only help with the account we verified on this call. For "
                    "another account, I can transfer you to a colleague.",
                ),
                arguments,
            )
    return None, cleaned


# --- confirmation of changes --------------------------------------------------------------


def confirmation_key(ctx: CallContext, tool: str, arguments: dict[str, Any], yes: int) -> str:
    canonical = json.dumps(arguments, sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return f"{tool}:{yes}:{digest}"


def start_read_back(
    ctx: CallContext, tool: str, arguments: dict[str, Any], read_back: str
) -> ToolResult:
    """Store the pending change and ask the caller to confirm it."""
    ctx.pending[tool] = PendingAction(tool, arguments, read_back, after_input=ctx.input_count)
    say = f"{read_back} Shall I go ahead? Please say yes, or press 1."
    return ToolResult(
        status=ToolStatus.ok,
        data={
            "ok": True,
            "status": "needs_confirmation",
            "read_back": read_back,
            "next": f"After the caller says yes, call {tool} again with the same "
            "arguments and confirm=true.",
            "say": say,
        },
        speak=say,
    )


def confirmed_by_caller(ctx: CallContext, tool: str, arguments: dict[str, Any]) -> str | None:
    """The confirmation key when the caller's latest input is a yes to this very read-back.

    The change runs only if (1) a read-back of exactly these arguments is pending,
    (2) the caller spoke or keyed something after it, and (3) their latest input is an
    unconditional yes. The key names that yes, so a retried call cannot run it twice.
    """
    pending = ctx.pending.get(tool)
    latest = ctx.latest_input
    if pending is None or pending.arguments != arguments or latest is None:
        return None
    if latest.index <= pending.after_input or not is_affirmative(latest):
        return None
    return confirmation_key(ctx, tool, arguments, latest.index)


def done_earlier_in_call(ctx: CallContext, tool: str, arguments: dict[str, Any]) -> bool:
    """The same change already ran on this call (for a different yes)."""
    suffix = ":" + confirmation_key(ctx, tool, arguments, 0).rsplit(":", 1)[1]
    return any(key.startswith(tool + ":") and key.endswith(suffix) for key in ctx.completed)


def previous_result(
    ctx: CallContext, tool: str, arguments: dict[str, Any]
) -> dict[str, Any] | None:
    """The result already given for this yes (the model repeated a confirmed call)."""
    latest = ctx.latest_input
    if latest is None:
        return None
    return ctx.completed.get(confirmation_key(ctx, tool, arguments, latest.index))
