"""Task flows in another language: the flow lines of that language, with every value in
them (account numbers, amounts, dates, the card-loss reason) said as a native speaker
says it, and tool results said from that language's lines rather than the tools' English.

The flows themselves stay one set of rules: a turn in Spanish or German is glossed into
the English words the parsers and keyword rules read (:mod:`callcenter.text.gloss`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from callcenter.dialogue.flows.knowledge import KnowledgeBase
from callcenter.dialogue.flows.templates import PROMPT_NAME, FlowLines, parse_lines
from callcenter.dialogue.language import CallLanguage, prompts_in
from callcenter.dialogue.prompts import PromptSet
from callcenter.store.prompts import default_prompt_bodies
from callcenter.text.gloss import gloss
from callcenter.text.spoken_forms import read_back_in, say_amount_in, say_date_in
from callcenter.text.spoken_numbers import extract_digits
from callcenter.tools.base import ToolOutcome


class LocalizedFlowLines(FlowLines):
    """Flow lines of one language ("flow_lines.<language>", the shipped translation for
    keys an edited version lacks, English for keys never translated)."""

    def __init__(self, prompts: PromptSet, language: str) -> None:
        super().__init__(prompts)
        self.language = language
        shipped = parse_lines(default_prompt_bodies().get(f"{PROMPT_NAME}.{language}", ""))
        edited = parse_lines(prompts.bodies.get(PROMPT_NAME, ""))
        english = parse_lines(default_prompt_bodies().get(PROMPT_NAME, ""))
        # An edited body that is still the English one (no translation published) must
        # not hide the shipped translation.
        own = {k: v for k, v in edited.items() if english.get(k) != v}
        self._lines = {**self._lines, **shipped, **own}

    def render_parts(self, key: str, **values: object) -> list[tuple[str, bool]]:
        return super().render_parts(key, **self.native(values))

    def render(self, key: str, **values: object) -> str:
        return super().render(key, **self.native(values))

    def native(self, values: dict[str, object]) -> dict[str, object]:
        """The values as this language says them."""
        out = dict(values)
        language = self.language
        if "account_number" in values:
            out["account_spoken"] = read_back_in(str(values["account_number"]), language)
        if "digits" in values:
            out["digits"] = read_back_in(extract_digits(str(values["digits"])), language)
        if "amount" in values:
            amount = _decimal(values["amount"])
            if amount is not None:
                out["amount"] = say_amount_in(amount, language)
        if "reason" in values and self.has(f"reason_{values['reason']}"):
            out["reason"] = self._lines[f"reason_{values['reason']}"]
        for name, value in values.items():
            if isinstance(value, date):
                out[name] = say_date_in(value, language)
        return out

    def result(self, outcome: ToolOutcome) -> str | None:
        """The tool's result in this language, or None where no line fits (then the
        tool's own words are said)."""
        data = outcome.result
        name = outcome.name
        if outcome.status.value == "error":
            key = "result_error"
        elif data.get("status") == "needs_confirmation":
            return None  # the flow reads the change back with its own confirm line
        elif outcome.status.value != "ok":
            key = f"result_{name}_{data.get('error')}"
            key = key if self.has(key) else "result_failed"
        elif data.get("already_blocked") or data.get("already_done"):
            key = f"result_{name}_already"
        elif name == "list_recent_transactions" and not data.get("transactions"):
            key = f"result_{name}_none"
        else:
            key = f"result_{name}"
        if not self.has(key):
            return None
        return self.render(key, **self._result_values(data))

    def _result_values(self, data: dict[str, Any]) -> dict[str, object]:
        language = self.language
        values: dict[str, object] = {
            k: v for k, v in data.items() if isinstance(v, str | int | float)
        }
        for key in ("balance", "paid", "new_balance"):
            amount = _decimal(data.get(key))
            if amount is not None:
                values[key] = say_amount_in(amount, language)
        if "new_balance" in values:
            values["balance"] = values["new_balance"]
        if data.get("card_last4"):
            values["card_last4"] = read_back_in(str(data["card_last4"]), language, 4)
        items = data.get("transactions")
        if isinstance(items, list):
            spoken = []
            for item in items:
                amount = _decimal(item.get("amount"))
                said = say_amount_in(amount, language) if amount is not None else ""
                spoken.append(f"{item.get('description', '')}, {said}")
            values["transactions"] = "; ".join(spoken)
        return values


def localized(outcome: ToolOutcome, lines: FlowLines) -> ToolOutcome:
    """The outcome with what it says in the lines' language (unchanged in English)."""
    if not isinstance(lines, LocalizedFlowLines):
        return outcome
    said = lines.result(outcome)
    if said is None:
        return outcome
    return replace(outcome, speak=said, result={**outcome.result, "say": said})


class FlowLanguages:
    """What a call's flows use in its current language: lines, knowledge base, and the
    gloss of the caller's words for the parsers. One per call; built lazily per language."""

    def __init__(
        self, prompts: PromptSet, language: CallLanguage, *, english: FlowLines | None = None
    ) -> None:
        """``english``: the default language's lines the call already uses (with their
        keypad and softer variants), kept when the caller comes back to English."""
        self.prompts = prompts
        self.language = language
        self._built: dict[str, tuple[FlowLines, KnowledgeBase]] = {}
        if english is not None:
            self._built["en"] = (english, KnowledgeBase.from_prompts(prompts_in(prompts, "en")))

    @property
    def current(self) -> str:
        return self.language.current

    def _in(self, language: str) -> tuple[FlowLines, KnowledgeBase]:
        if language not in self._built:
            view = prompts_in(self.prompts, language)
            lines = FlowLines(view) if language == "en" else LocalizedFlowLines(view, language)
            self._built[language] = (lines, KnowledgeBase.from_prompts(view))
        return self._built[language]

    def lines(self) -> FlowLines:
        return self._in(self.current)[0]

    def knowledge(self) -> KnowledgeBase:
        return self._in(self.current)[1]

    def read(self, text: str) -> str:
        """The caller's words as the (English) parsers and rules read them."""
        return gloss(text, self.current)


_AMOUNT = re.compile(r"-?\$?\s?([\d,]+(?:\.\d+)?)")


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if value is None:
        return None
    match = _AMOUNT.search(str(value))
    if match is None:
        return None
    try:
        amount = Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:
        return None
    return -amount if str(value).strip().startswith("-") else amount
