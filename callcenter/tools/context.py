"""Per-call state the tool policy reads: what the caller said, who is verified, what waits.

One :class:`CallContext` per live call, owned by the call session. The session feeds it
every caller utterance (final ASR text) and every DTMF digit *as they happen*; the
policy then checks tool arguments against that record, never against text the model
wrote. Tool calls of one call must run one at a time (the session awaits each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from callcenter.text.dates import parse_dates
from callcenter.text.spoken_numbers import extract_digits, parse_digits

InputSource = Literal["speech", "dtmf"]


@dataclass(frozen=True)
class CallerInput:
    """One thing the caller said or keyed, in call order (``index`` counts from 1)."""

    index: int
    text: str
    source: InputSource
    digits: str
    # Only a number was said ("one zero", "zero one"): may continue a number across turns.
    number_only: bool
    confidence: float | None = None
    turn_seq: int | None = None


@dataclass(frozen=True)
class VerifiedIdentity:
    account_id: int
    account_number: str
    customer_name: str
    method: Literal["pin", "date_of_birth"]


@dataclass
class PendingAction:
    """A read-back waiting for the caller's yes (update_address, make_payment)."""

    tool: str
    arguments: dict[str, Any]
    read_back: str
    # The caller input count when the read-back was produced: the yes must come later.
    after_input: int


@dataclass
class CallContext:
    call_id: str
    caller_number: str = ""
    inputs: list[CallerInput] = field(default_factory=list)
    verified: VerifiedIdentity | None = None
    failed_verifications: int = 0
    pending: dict[str, PendingAction] = field(default_factory=dict)
    # Idempotency: confirmation key -> the result already given for it.
    completed: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Secrets the model passed this call, kept in memory only so the audit can
    # scrub them from free-text fields too (e.g. a PIN pasted into a callback topic).
    secrets_seen: set[str] = field(default_factory=set)
    # Values the dialogue's own parsers read from the caller's turns while it waited for
    # them ("for three to one" heard as a PIN is 4321): code, not the model, put them here.
    understood_digits: set[str] = field(default_factory=set)
    understood_dates: set[date] = field(default_factory=set)

    # --- what the session records -----------------------------------------------------

    def record_caller_utterance(
        self, text: str, *, confidence: float | None = None, turn_seq: int | None = None
    ) -> CallerInput:
        """A final transcript of caller speech (after barge-in handling)."""
        return self._add(text, "speech", confidence, turn_seq)

    def record_dtmf(self, digits: str, *, turn_seq: int | None = None) -> CallerInput:
        """Keys the caller pressed (one digit or a collected run; '#'/'*' allowed)."""
        return self._add(digits, "dtmf", None, turn_seq)

    def _add(
        self, text: str, source: InputSource, confidence: float | None, turn_seq: int | None
    ) -> CallerInput:
        if source == "dtmf":
            digits = "".join(ch for ch in text if ch.isdigit())
            number_only = True
        else:
            digits = extract_digits(text)
            number_only = bool(digits) and parse_digits(text) is not None
        item = CallerInput(
            index=len(self.inputs) + 1,
            text=text,
            source=source,
            digits=digits,
            number_only=number_only,
            confidence=confidence,
            turn_seq=turn_seq,
        )
        self.inputs.append(item)
        return item

    def record_understood(self, *, digits: str = "", when: date | None = None) -> None:
        """A value the dialogue parsed from the caller's own words for a slot it asked for."""
        if digits:
            self.understood_digits.add(digits)
        if when is not None:
            self.understood_dates.add(when)

    # --- what the policy asks -----------------------------------------------------------

    @property
    def input_count(self) -> int:
        return len(self.inputs)

    @property
    def latest_input(self) -> CallerInput | None:
        return self.inputs[-1] if self.inputs else None

    def digit_runs(self) -> list[str]:
        """Digit strings the caller gave. Keypresses and number-only utterances that
        follow each other join into one run ("one zero" + "zero one" = "1001"); any
        other speech ends a run, so digits from unrelated sentences never combine."""
        runs: list[str] = []
        current = ""
        for item in self.inputs:
            if item.number_only:
                current += item.digits
                continue
            if current:
                runs.append(current)
                current = ""
            if item.digits:
                runs.append(item.digits)
        if current:
            runs.append(current)
        return runs

    def caller_said_digits(self, digits: str) -> bool:
        return bool(digits) and (
            digits in self.understood_digits or any(digits in run for run in self.digit_runs())
        )

    def caller_said_date(self, value: date) -> bool:
        return value in self.dates_said()

    def dates_said(self) -> set[date]:
        found: set[date] = set(self.understood_dates)
        for run in self.digit_runs():
            found |= parse_dates(run)
        previous = ""
        for item in self.inputs:
            found |= parse_dates(item.text)
            # A date split over two turns ("March seventh" ... "1984").
            if previous:
                found |= parse_dates(previous + " " + item.text)
            previous = item.text
        return found
