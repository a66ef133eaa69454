"""What one caller turn means: an intent (a task, a question, yes/no, goodbye), read by
exact parsers and keyword rules first, and by the language model only when they find
nothing, under schema-constrained decoding so even a 0.5B model returns a valid intent.

Every reading says where it came from (``source``) and how sure it is, and is logged on
the turn.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from callcenter.llm.base import ChatModel, Message
from callcenter.text.digits import keyed_digits
from callcenter.text.requests import asks_for_human
from callcenter.text.yes_no import yes_or_no

log = logging.getLogger(__name__)

INTENTS = (
    "balance", "transactions", "block_card", "change_address", "payment", "callback",
    "transfer", "verify", "goodbye", "question", "other",
)  # fmt: skip


@dataclass(frozen=True)
class Understanding:
    intent: str | None  # one of INTENTS, or None (no intent: maybe a slot answer)
    source: str  # "keypad", "rules", "model", "none"
    confidence: float
    answer: str | None = None  # "yes" / "no" to a question the agent asked

    def as_payload(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "source": self.source,
            "confidence": round(self.confidence, 2),
            "answer": self.answer,
        }


_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (intent, re.compile(pattern))
    for intent, pattern in (
        ("block_card", r"\b(lost|lose|stolen|stole|steal|missing|misplaced|block|freeze|cancel"
                       r"|lock)\b.{0,30}\bcards?\b|\bcards?\b.{0,30}\b(lost|stolen|missing|gone"
                       r"|block|blocked|stole|taken|freeze|lock|locked)\b"
                       r"|\b(somebody|someone|some one) (used|took|has)\b"
                       r"|\bwithout (asking|permission|my permission)\b|\bfraud|\bunauthori[sz]ed"
                       r"|\bstolen\b|\blost (my )?(wallet|purse)\b|\b(can'?t|cannot|can not|could"
                       r"n'?t) find\b.{0,25}\bcards?\b"),
        ("balance", r"\bbalance\b|\bhow much (money )?(do i have|is (in|on|left)|have i got)\b"
                    r"|\bmoney (do i have|left|in my account)\b|\bhow much money\b|\bfunds\b"
                    r"|\bwhat'?s in my (checking |savings |bank )?account\b"
                    r"|\bhow much (money )?i'?(ve| have) got\b"),
        ("transactions", r"\btransactions?\b|\brecent (payments|charges|activity|purchases)\b"
                         r"|\b(last|latest|recent) (few )?(payments?|charges?|purchases?|"
                         r"activity|deposits?)\b|\bstatement\b|\bwhat (did|have) i (spend|spent|"
                         r"buy|bought)\b|\b(account )?(activity|history)\b|\bwithdrawals\b"
                         r"|\b(my|any) (recent |last |new )?charges\b"
                         r"|\bcharges (went|go|came|have gone) through\b"
                         r"|\bdid my (pay ?check|pay|salary|wages|deposit|refund) "
                         r"(come in|arrive|go through|clear|land)\b"),
        ("change_address", r"\baddress\b|\bi(?: have|'ve)? moved\b|\bi'?m moving\b|\bmoving "
                           r"house\b|\brelocat|\bnew (home|place|house|apartment|flat)\b"
                           r"|\bwhere you (send|mail|post) my\b"),
        ("callback", r"\bcall ?(me )?back\b|\bcallback\b|\b(ring|phone) me back\b|\bcall me "
                     r"(later|tomorrow|tonight|this|next|on|at|in)\b"),
        ("payment", r"\bpay\b|\bpayment\b|\bpaying\b|\bbill\b|\bsend (money|\d)"
                    r"|\btransfer (money|funds|\d|\w+ dollars)"),
        ("verify", r"\bverify\b|\bidentity\b|\blog ?in\b|\baccount (number )?is\b|\bmy pin\b"),
    )
)  # fmt: skip
_GOODBYE = re.compile(
    r"\b(bye|goodbye|good bye|that'?s all|that is all|that'?s it|nothing else|no thanks|"
    r"no thank you|i'?m (all )?done|i am (all )?done|hang up|i'?m all set|i am all set|"
    r"have a (good|nice)|that'?s everything|nothing more)\b"
)
_QUESTION = re.compile(
    r"^(what|when|where|how|why|which|who|do you|does|can you|can i|could you|are you|is "
    r"there|is it|are there|tell me|i want to know|i'd like to know|i was wondering)\b"
)

# A question word followed by what makes it a question ("when are you open", "how much is
# it"). Bare "when the ..." is not enough while the agent waits for a number: small ASR
# models write a garbled "twenty five dollars" as "When the time not done".
_CLEAR_QUESTION = re.compile(
    r"^(?:(?:what|when|where|how|why|which|who)'?s?\s+(?:is|are|do|does|did|can|could|will|"
    r"would|should|time|much|many|long|about|kind|sort|if|happens|fees?|hours?|days?)\b|"
    r"do you|does|can you|can i|could you|could i|are you|is there|is it|are there|tell me|"
    r"i want to know|i'd like to know|i was wondering)"
)


def is_clear_question(text: str) -> bool:
    """Whether the turn is a question beyond doubt: asked ("?") or clearly worded."""
    return text.strip().endswith("?") or _CLEAR_QUESTION.search(normalise(text)) is not None


def normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower().replace("’", "'")))


def by_rules(text: str) -> Understanding:
    """Exact parsers and keyword rules: cheap, deterministic, and right when they match."""
    keyed = keyed_digits(text)
    if keyed is not None:
        answer = "yes" if keyed == "1" else "no" if keyed == "2" else None
        return Understanding(None, "keypad", 1.0, answer=answer)
    said = normalise(text)
    if asks_for_human(text):
        return Understanding("transfer", "rules", 0.95)
    answer = yes_or_no(text)
    if _GOODBYE.search(said):
        return Understanding("goodbye", "rules", 0.9, answer=answer)
    for intent, pattern in _RULES:
        if pattern.search(said):
            return Understanding(intent, "rules", 0.85, answer=answer)
    if _QUESTION.search(said) or text.strip().endswith("?"):
        return Understanding("question", "rules", 0.6, answer=answer)
    return Understanding(None, "rules" if answer else "none", 0.9 if answer else 0.0, answer)


INTENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"intent": {"type": "string", "enum": list(INTENTS)}},
    "required": ["intent"],
    "additionalProperties": False,
}
_CLASSIFY = (
    "Classify what a bank's phone caller wants. Answer with JSON only, one intent of: "
    "balance (account balance), transactions (recent transactions), block_card (lost or "
    "stolen card, fraud), change_address, payment (pay a bill), callback (be called back "
    "later), transfer (talk to a person), verify (identity), goodbye (done, ending), "
    "question (a general question about the bank: hours, fees, branches, what you can "
    "do), other (anything else)."
)


async def by_model(chat: ChatModel, text: str, *, session_key: str) -> Understanding:
    """The model's reading of a turn the rules could not place; never raises."""
    messages: Sequence[Message] = [
        {"role": "system", "content": _CLASSIFY},
        {"role": "user", "content": text},
    ]
    try:
        data = await chat.complete_json(
            messages, INTENT_SCHEMA, session_key=f"{session_key}:intent", max_tokens=16
        )
    except Exception as error:  # the model failing is one more "not understood"
        log.warning("intent model failed: %r", error)
        return Understanding(None, "model_error", 0.0)
    intent = data.get("intent") if isinstance(data, dict) else None
    if intent not in INTENTS:
        return Understanding(None, "model_invalid", 0.0)
    return Understanding(str(intent), "model", 0.7)
