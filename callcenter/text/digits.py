"""Digit strings from what a caller said or keyed, when the agent is waiting for digits.

Speech recognisers write a spoken "four three two one" as words, digits, or homophones
("for three to one", "won oh oh won"). When the dialogue is *expecting* digits those
homophones count, but only inside a run of other digits: a lone "for" in "I called for
my bill" stays a word. One utterance may hold several runs ("my account number is one
zero zero one and my PIN is four three two one"), so :func:`digit_runs` returns each.
"""

from __future__ import annotations

import re

from callcenter.text.spoken_numbers import (
    DIGIT_WORDS,
    REPEATS,
    TEENS,
    TENS,
    spell_digits,
    tokenize,
)

# Lone-digit homophones that small ASR models write (accepted next to other digits).
HOMOPHONES: dict[str, str] = {
    "won": "1", "wan": "1", "to": "2", "too": "2", "tu": "2", "for": "4", "fore": "4",
    "ate": "8", "ait": "8", "sex": "6", "tree": "3", "free": "3", "fife": "5", "niner": "9",
    "nein": "9", "sero": "0", "zed": "0",
}  # fmt: skip
# Words that may sit inside a run of digits without ending it.
_INSIDE = frozenset(["uh", "um", "er", "erm", "ah", "hmm", "and"])
_KEYED = re.compile(r"^\s*\(keyed on the phone\)\s*([0-9*#]+)\s*$", re.IGNORECASE)
_SCALES = {"hundred": 2, "thousand": 3}


def keyed_keys(text: str) -> str | None:
    """The keys of a keypad turn as pressed, star and pound included, else None."""
    match = _KEYED.match(text)
    return match.group(1) if match is not None else None


def keyed_digits(text: str) -> str | None:
    """The digits of a keypad turn ("(keyed on the phone) 1001#" -> "1001"), else None."""
    match = _KEYED.match(text)
    if match is None:
        return None
    return "".join(ch for ch in match.group(1) if ch.isdigit())


def _token_digits(tokens: list[str], i: int) -> tuple[str, int] | None:
    """The digits the token at ``i`` says (and how many tokens that took), if any."""
    token = tokens[i]
    if token.isdigit():
        return token, 1
    if token in DIGIT_WORDS:
        value = str(DIGIT_WORDS[token])
        if i + 1 < len(tokens) and tokens[i + 1] in _SCALES:
            return value + "0" * _SCALES[tokens[i + 1]], 2
        return value, 1
    if token in TEENS:
        return str(TEENS[token]), 1
    if token in TENS:
        tens = TENS[token]
        if (
            i + 1 < len(tokens)
            and tokens[i + 1] in DIGIT_WORDS
            and tokens[i + 1] not in ("o", "oh")
        ):
            unit = DIGIT_WORDS[tokens[i + 1]]
            if unit > 0:
                return str(tens + unit), 2
        return str(tens), 1
    return None


def _is_digitish(tokens: list[str], i: int) -> bool:
    return 0 <= i < len(tokens) and (_token_digits(tokens, i) is not None or tokens[i] in REPEATS)


def digit_runs(text: str) -> list[str]:
    """Every run of digits the caller said, in order; homophones count next to digits."""
    keyed = keyed_digits(text)
    if keyed is not None:
        return [keyed] if keyed else []
    tokens = tokenize(text)
    runs: list[str] = []
    current = ""
    repeat = 1
    i = 0
    while i < len(tokens):
        token = tokens[i]
        said = _token_digits(tokens, i)
        if (
            said is None
            and token in HOMOPHONES
            and (_is_digitish(tokens, i - 1) or _is_digitish(tokens, i + 1) or current)
        ):
            said = HOMOPHONES[token], 1
        if said is not None:
            value, used = said
            current += value[0] * (repeat - 1) + value
            repeat = 1
            i += used
            continue
        if token in REPEATS and (i + 1 < len(tokens)):
            repeat = REPEATS[token]
            i += 1
            continue
        if token in _INSIDE and current:
            i += 1
            continue
        if current:
            runs.append(current)
            current = ""
        repeat = 1
        i += 1
    if current:
        runs.append(current)
    return runs


def expected_digits(text: str, min_len: int, max_len: int) -> str | None:
    """The one run of ``min_len``..``max_len`` digits in the turn, else None.

    Runs that are too short are joined when together they fit ("one zero" "zero one"
    written as "10 01"); more than one fitting run is ambiguous and returns the first.
    """
    runs = digit_runs(text)
    fitting = [run for run in runs if min_len <= len(run) <= max_len]
    if fitting:
        return fitting[0]
    joined = "".join(runs)
    if runs and min_len <= len(joined) <= max_len:
        return joined
    return None


def read_back(digits: str, group: int = 0) -> str:
    """Digits spoken in groups for a read-back ("1001" -> "one zero, zero one")."""
    if not digits:
        return ""
    size = group or (3 if len(digits) in (6, 9) else 4 if len(digits) > 4 else 2)
    if len(digits) <= 3:
        return spell_digits(digits)
    groups = [digits[i : i + size] for i in range(0, len(digits), size)]
    return ", ".join(spell_digits(part) for part in groups)
