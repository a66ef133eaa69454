"""What a scenario is: the caller's steps, in order, and the end state a good call leaves.

Steps are written one per line, as admins type them in the console or a file::

    say: I'd like to check my balance, please.
    say: one zero zero one
    press: 4321#

The expected end state is a small JSON object (every key optional); the judge
(:func:`callcenter.scenarios.judge.judge`) also checks policy on every scenario: no account
fact before verification, no number from nowhere, no change nobody asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

StepKind = Literal["say", "press"]
KEYS = re.compile(r"^[0-9*#]+$")
CARD_STATUSES = ("active", "blocked_lost", "blocked_stolen")
MAX_STEPS = 40
MAX_TEXT = 300
# Keys an expectation may have, with what each means (shown in the console's help).
EXPECTATION_KEYS = {
    "account": "the caller's account number (whose card and address are checked)",
    "verified": "the account number the call must verify",
    "unverified": "true: no account may be verified",
    "card_status": "the caller's card at the end: active, blocked_lost, blocked_stolen",
    "address": "[a word of the street, the city, the postal code] of the new address",
    "payment": '[amount like "25.00", a word of the payee]',
    "callback": "true: a callback must be scheduled",
    "handoff": "true: the call must be handed to a person",
    "tools": "tool names that must have run successfully",
    "said": "groups of phrases: the agent must say one phrase of each group",
}


class SpecError(ValueError):
    """A scenario an admin wrote that cannot be run; the message says what to fix."""


@dataclass(frozen=True)
class Step:
    kind: StepKind
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text}

    def line(self) -> str:
        return f"{self.kind}: {self.text}"


@dataclass(frozen=True)
class Expectation:
    account: str = "1001"
    verified: str | None = None
    unverified: bool = False
    card_status: str | None = None
    address: tuple[str, str, str] | None = None
    payment: tuple[str, str] | None = None
    callback: bool = False
    handoff: bool = False
    tools: tuple[str, ...] = ()
    said: tuple[tuple[str, ...], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Only what differs from the defaults: what the admin actually asked for."""
        out: dict[str, Any] = {"account": self.account}
        for key, value in (
            ("verified", self.verified),
            ("unverified", self.unverified),
            ("card_status", self.card_status),
            ("address", list(self.address) if self.address else None),
            ("payment", list(self.payment) if self.payment else None),
            ("callback", self.callback),
            ("handoff", self.handoff),
            ("tools", list(self.tools)),
            ("said", [list(group) for group in self.said]),
        ):
            if value:
                out[key] = value
        return out

    def goal(self) -> JudgedScenario:
        """The shape the judge reads (a benchmark goal has the same)."""
        return JudgedScenario(CallerAccount(self.account), self)


@dataclass(frozen=True)
class CallerAccount:
    account: str


@dataclass(frozen=True)
class JudgedScenario:
    persona: CallerAccount
    expected: Expectation


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    steps: tuple[Step, ...]
    expected: Expectation = field(default_factory=Expectation)


# --- parsing what admins write -------------------------------------------------------------


def parse_steps(text: str) -> tuple[Step, ...]:
    """``say: ...`` / ``press: 1001#`` lines (blank lines and ``#`` comments skipped)."""
    steps: list[Step] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("# "):
            continue
        kind, sep, rest = line.partition(":")
        kind, rest = kind.strip().lower(), rest.strip()
        if not sep or kind not in ("say", "press"):
            raise SpecError(f"steps line {number}: start with 'say:' or 'press:' ({line[:40]!r})")
        steps.append(_step(kind, rest, f"steps line {number}"))
    return _checked(steps)


def steps_from_json(items: Any) -> tuple[Step, ...]:
    if not isinstance(items, list):
        raise SpecError("steps: a list of {kind: say|press, text}")
    steps = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict) or item.get("kind") not in ("say", "press"):
            raise SpecError(f"steps[{index}]: an object with kind 'say' or 'press'")
        steps.append(_step(str(item["kind"]), str(item.get("text", "")).strip(), f"steps[{index}]"))
    return _checked(steps)


def _step(kind: str, text: str, where: str) -> Step:
    if not text:
        raise SpecError(f"{where}: nothing to {kind}")
    if len(text) > MAX_TEXT:
        raise SpecError(f"{where}: at most {MAX_TEXT} characters")
    if kind == "press" and not KEYS.match(text.replace(" ", "")):
        raise SpecError(f"{where}: press takes keypad keys only (0-9, * and #), got {text!r}")
    return Step(
        "press" if kind == "press" else "say", text.replace(" ", "") if kind == "press" else text
    )


def _checked(steps: list[Step]) -> tuple[Step, ...]:
    if not steps:
        raise SpecError("steps: a scenario needs at least one step")
    if len(steps) > MAX_STEPS:
        raise SpecError(f"steps: at most {MAX_STEPS}")
    return tuple(steps)


def expectation_from_json(data: Any) -> Expectation:
    if not isinstance(data, dict):
        raise SpecError("expected: a JSON object")
    unknown = sorted(set(data) - set(EXPECTATION_KEYS))
    if unknown:
        raise SpecError(f"expected: unknown key(s) {unknown}; known: {sorted(EXPECTATION_KEYS)}")
    account = _digits(data.get("account", "1001"), "account")
    verified = data.get("verified")
    card = data.get("card_status")
    if card is not None and card not in CARD_STATUSES:
        raise SpecError(f"expected.card_status: one of {', '.join(CARD_STATUSES)}")
    return Expectation(
        account=account or "1001",
        verified=_digits(verified, "verified") if verified else None,
        unverified=_flag(data, "unverified"),
        card_status=card,
        address=_words(data.get("address"), 3, "address"),  # type: ignore[arg-type]
        payment=_words(data.get("payment"), 2, "payment"),  # type: ignore[arg-type]
        callback=_flag(data, "callback"),
        handoff=_flag(data, "handoff"),
        tools=tuple(_strings(data.get("tools", []), "tools")),
        said=tuple(
            tuple(phrase.lower() for phrase in _strings(group, "said"))
            for group in _list(data.get("said", []), "said")
        ),
    )


def _digits(value: Any, key: str) -> str:
    text = str(value).strip()
    if not text.isdigit():
        raise SpecError(f"expected.{key}: an account number (digits)")
    return text


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise SpecError(f"expected.{key}: true or false")
    return value


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise SpecError(f"expected.{key}: a list")
    return value


def _strings(value: Any, key: str) -> list[str]:
    items = [value] if isinstance(value, str) else _list(value, key)
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise SpecError(f"expected.{key}: text values")
    return [item.strip() for item in items]


def _words(value: Any, count: int, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = _strings(value, key)
    if len(items) != count:
        raise SpecError(f"expected.{key}: {count} values")
    return tuple(item.lower() for item in items)


def spec_from_json(name: str, steps: Any, expected: Any) -> ScenarioSpec:
    name = str(name).strip()
    if not name or len(name) > 100:
        raise SpecError("name: 1 to 100 characters")
    return ScenarioSpec(name, steps_from_json(steps), expectation_from_json(expected))
