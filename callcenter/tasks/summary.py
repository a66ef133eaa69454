"""The summary a human gets when a call is handed over, and the handoff row.

The summary has one
structure (:class:`HandoffSummary`) built two ways: deterministically from the store
(turns and tool invocations) the moment the handoff is created, so a human always has
context, and later by the LLM (``callcenter.tasks.handoff``), which may only add
interpretation (intent, open items, sentiment, notes): identity and actions stay the
store's facts, because a small model invents facts.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from callcenter.llm.base import ChatModel, TextDelta
from callcenter.store.calls import list_events, list_tool_invocations, list_turns
from callcenter.store.dashboard import FRUSTRATED_AT
from callcenter.store.models import Account, Call, Handoff, Speaker, ToolStatus
from callcenter.text.languages import english_name
from callcenter.text.requests import HUMAN_WORDS
from callcenter.text.spoken_numbers import extract_digits

# --- the summary ----------------------------------------------------------------------------

Sentiment = Literal["positive", "neutral", "negative", "frustrated"]


class ActionTaken(BaseModel):
    tool: str
    status: str
    detail: str = ""


class HandoffSummary(BaseModel):
    reason: str
    verified: bool
    customer_name: str | None = None
    account_number: str | None = None
    intent: str
    actions: list[ActionTaken] = Field(default_factory=list)
    open_items: list[str] = Field(default_factory=list)
    sentiment: Sentiment = "neutral"
    notes: str = ""
    # The caller's smoothed frustration at handoff, in [0, 1] (voice and words,
    # dialogue/mood.py), from the call's escalation event; None when the call had none.
    frustration: float | None = None


class _LLMPart(BaseModel):
    """The part of the summary the model writes; everything else comes from the store."""

    intent: str = Field(min_length=1, max_length=300)
    open_items: list[str] = Field(default_factory=list, max_length=10)
    sentiment: Sentiment
    notes: str = Field(default="", max_length=800)


@dataclass(frozen=True)
class TranscriptLine:
    speaker: str  # "caller" | "agent"
    text: str


_NUMBER_WORD = (
    r"(?:\d+|zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|"
    r"fifty|sixty|seventy|eighty|ninety|hundred|thousand|double|triple)"
)
_NUMBER_RUN = re.compile(rf"\b{_NUMBER_WORD}(?:[\s,\-]+{_NUMBER_WORD})*\b", re.IGNORECASE)


def mask_numbers(text: str) -> str:
    """Numbers of four or more digits (PINs, birth years, account and card numbers)
    become "[number]", spoken or written, before text leaves the store for a summary."""

    def mask(match: re.Match[str]) -> str:
        return "[number]" if len(extract_digits(match.group(0))) >= 4 else match.group(0)

    return _NUMBER_RUN.sub(mask, text)


def transcript(
    session: Session, call_id: str, translated: Mapping[int, str] | None = None
) -> list[TranscriptLine]:
    """The call's lines as heard; ``translated``: {turn seq: text} used instead of the
    words said (a call in another language, summarised in the human agents')."""
    lines = []
    for turn in list_turns(session, call_id):
        said = turn.heard_text if turn.speaker == Speaker.agent and turn.heard_text else turn.text
        if translated and turn.seq in translated:
            said = translated[turn.seq]
        if turn.source == "dtmf":
            said = f"[pressed {said}]"
        if said.strip():
            lines.append(TranscriptLine(turn.speaker.value, mask_numbers(said.strip())))
    return lines


_TOOL_INTENTS = {
    "get_balance": "check the account balance",
    "list_recent_transactions": "review recent transactions",
    "update_address": "update the postal address",
    "make_payment": "make a payment",
    "block_card": "block a lost or stolen card",
    "schedule_callback": "arrange a call back",
}
_KEYWORD_INTENTS = (
    (re.compile(r"\bbalance\b"), "check the account balance"),
    (re.compile(r"\btransactions?\b|\bcharges?\b|\bstatement\b"), "review recent transactions"),
    (re.compile(r"\baddress\b|\bmoved\b"), "update the postal address"),
    (re.compile(r"\bpay(ment)?\b|\bbill\b"), "make a payment"),
    (re.compile(r"\blost\b|\bstolen\b|\bcard\b"), "block a lost or stolen card"),
    (re.compile(r"\bcall (me )?back\b|\bcallback\b"), "arrange a call back"),
    (re.compile(r"\bfraud\b|\bdispute\b"), "report fraud or dispute a charge"),
    (re.compile(r"\bloan\b|\bmortgage\b"), "ask about a loan"),
)
_FRUSTRATED = re.compile(
    r"frustrat|ridiculous|useless|angry|annoy|fed up|terrible|stupid|waste of time|"
    r"not listening|for the (third|last) time"
)
_NEGATIVE = re.compile(r"not happy|upset|disappointed|wrong|unacceptable|complain")
_POSITIVE = re.compile(r"thank|great|perfect|appreciate|wonderful")


def fallback_summary(session: Session, call_id: str, reason: str) -> HandoffSummary:
    """The deterministic summary: identity and actions from the store, intent and
    sentiment from keywords. Never contains secrets (tool rows are redacted, numbers
    in speech are masked)."""
    call = session.get(Call, call_id)
    account = (
        session.get(Account, call.verified_account_id)
        if call and call.verified_account_id
        else None
    )
    lines = transcript(session, call_id)
    caller_text = " ".join(line.text.lower() for line in lines if line.speaker == "caller")
    actions, intents, open_items = [], [], []
    pending: dict[str, str] = {}
    for row in list_tool_invocations(session, call_id):
        result: dict[str, Any] = row.result or {}
        if row.name in _TOOL_INTENTS and _TOOL_INTENTS[row.name] not in intents:
            intents.append(_TOOL_INTENTS[row.name])
        if result.get("status") == "needs_confirmation":
            pending[row.name] = str(result.get("read_back", ""))
            detail = f"read back, awaiting confirmation: {pending[row.name]}"
        elif row.status == ToolStatus.ok:
            pending.pop(row.name, None)
            detail = str(result.get("say", ""))
        else:
            detail = str(result.get("error", row.status.value))
        actions.append(ActionTaken(tool=row.name, status=row.status.value, detail=detail[:300]))
    for pattern, intent in _KEYWORD_INTENTS:
        if pattern.search(caller_text) and intent not in intents:
            intents.append(intent)
    if not intents:
        first = next((line.text for line in lines if line.speaker == "caller"), "")
        intents.append(f'unclear; the caller said: "{first[:160]}"' if first else "unclear")
    open_items += [f"{tool} not confirmed: {text}" for tool, text in pending.items()]
    if account is None:
        open_items.append("Caller identity not verified")
    open_items += [f"{a.tool} failed with a system error" for a in actions if a.status == "error"]
    frustration = frustration_at_handoff(session, call_id)
    sentiment = _sentiment(caller_text)
    if frustration is not None and frustration >= FRUSTRATED_AT:
        sentiment = "frustrated"  # heard in the voice, though perhaps not in the words
    return HandoffSummary(
        reason=reason,
        verified=account is not None,
        customer_name=account.customer.full_name if account else None,
        account_number=account.account_number if account else None,
        intent="; ".join(intents),
        actions=actions,
        open_items=open_items,
        sentiment=sentiment,
        frustration=frustration,
    )


def frustration_at_handoff(session: Session, call_id: str) -> float | None:
    """The smoothed mood level the latest escalation event carried (``mood.frustration``)."""
    for event in reversed(list_events(session, call_id, "escalation")):
        mood = (event.payload or {}).get("mood")
        if isinstance(mood, dict) and isinstance(mood.get("frustration"), int | float):
            return round(float(mood["frustration"]), 3)
    return None


def _sentiment(caller_text: str) -> Sentiment:
    if _FRUSTRATED.search(caller_text) or len(HUMAN_WORDS.findall(caller_text)) >= 2:
        return "frustrated"
    if _NEGATIVE.search(caller_text):
        return "negative"
    return "positive" if _POSITIVE.search(caller_text) else "neutral"


def create_handoff(session: Session, call_id: str, reason: str, destination: str) -> Handoff:
    """Write the handoff row with the deterministic summary (in the caller's transaction).

    Then enqueue the LLM summary after commit:
    ``enqueue_after_commit(session, summarise_handoff, handoff.id)``.
    """
    summary = fallback_summary(session, call_id, reason)
    handoff = Handoff(
        call_id=call_id,
        reason=reason[:200],
        summary=summary.model_dump(mode="json"),
        summary_source="fallback",
        destination=destination[:200],
    )
    session.add(handoff)
    session.flush()
    return handoff


# --- the LLM-written summary -------------------------------------------------------------

SUMMARY_PROMPT = (
    "You write handoff notes for a human call-center agent who is about to take over a "
    "phone call. Reply with ONLY a JSON object, no prose, with these keys: "
    '"intent" (one sentence: what the caller wants), "open_items" (list of short '
    'strings: what the human still has to do), "sentiment" (one of "positive", '
    '"neutral", "negative", "frustrated"), "notes" (at most two sentences of useful '
    "context). Use only what the facts and the transcript say. Never include PINs, "
    "dates of birth, card or account numbers."
)


class SummaryError(ValueError):
    """The model's answer was not a valid summary."""


async def llm_summary(
    model: ChatModel,
    lines: Sequence[TranscriptLine],
    facts: HandoffSummary,
    *,
    timeout_s: float = 30.0,
    language: str = "en",
) -> HandoffSummary:
    """Ask the model for the interpretive part; raise :class:`SummaryError` if invalid.

    ``language``: the human agents' language; the notes are written in it whatever
    language the call was held in."""
    known = facts.model_dump(include={"reason", "verified", "customer_name", "actions"})
    spoken = "\n".join(f"{line.speaker.title()}: {line.text}" for line in lines[-60:])
    messages = [
        {"role": "system", "content": SUMMARY_PROMPT + _written_in(language)},
        {
            "role": "user",
            "content": f"Facts from the system:\n{json.dumps(known)}\n\nTranscript:\n{spoken}",
        },
    ]

    async def collect() -> str:
        parts = [e.text async for e in model.stream(messages) if isinstance(e, TextDelta)]
        return "".join(parts)

    text = await asyncio.wait_for(collect(), timeout_s)
    part = parse_llm_part(text)
    return facts.model_copy(
        update={
            "intent": mask_numbers(part.intent),
            "open_items": [mask_numbers(item) for item in part.open_items],
            "sentiment": part.sentiment,
            "notes": mask_numbers(part.notes),
        }
    )


def _written_in(language: str) -> str:
    """The instruction for the human agents' language (the call may have been in another)."""
    name = english_name(language)
    return (
        f"\nThe caller may have spoken another language: write the intent, open items and "
        f"notes in {name}."
    )


def parse_llm_part(text: str) -> _LLMPart:
    # Small models wrap JSON in ``` fences or add a sentence around it.
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise SummaryError(f"no JSON object in the reply: {text[:120]!r}")
    try:
        return _LLMPart.model_validate(json.loads(text[start : end + 1]))
    except (ValueError, ValidationError) as error:
        raise SummaryError(f"invalid summary JSON: {str(error)[:300]}") from error


async def summarise_with_llm(
    model: ChatModel,
    lines: Sequence[TranscriptLine],
    facts: HandoffSummary,
    language: str = "en",
) -> tuple[HandoffSummary, str | None]:
    """(summary, None) from the model, or (``facts`` unchanged, why the model failed)."""
    try:
        return await llm_summary(model, lines, facts, language=language), None
    except Exception as error:  # a model outage must never lose the handoff context
        return facts, f"{type(error).__name__}: {str(error)[:300]}"
