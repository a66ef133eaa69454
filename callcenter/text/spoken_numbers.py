"""Spoken numbers -> digit strings, for account numbers, PINs and amounts said on the phone.

Callers read identifiers digit by digit ("four three two one", "oh" for zero, "double
five"), sometimes in pairs ("twenty three") and ASR writes them either as words or as
digits ("4, 3, 2, 1", "1-0-0-1"). The dialogue wants "4321" in every case.

Two entry points:

- :func:`parse_digits` is strict: the whole utterance must be a number (fillers such as
  "uh", "it's", "my number is" are allowed). Homophones ("for", "to", "won", "ate") count
  here because the dialogue asked for digits. Returns ``None`` when anything else was said.
- :func:`extract_digits` is lenient: it pulls every number out of free speech and ignores
  the rest (homophones are ignored: "I called for my bill" has no 4 in it).
"""

from __future__ import annotations

import re

DIGIT_WORDS: dict[str, int] = {
    "zero": 0, "oh": 0, "o": 0, "nought": 0, "naught": 0, "nil": 0, "null": 0,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
# What tiny ASR models write for a lone digit word; accepted only in strict parsing.
HOMOPHONES: dict[str, int] = {
    "won": 1, "to": 2, "too": 2, "tu": 2, "for": 4, "fore": 4, "ate": 8, "sex": 6,
}  # fmt: skip
TEENS: dict[str, int] = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
REPEATS: dict[str, int] = {"double": 2, "triple": 3, "treble": 3}
SCALES: dict[str, int] = {"hundred": 2, "thousand": 3}  # number of zeros
# Words that may surround a number without making the utterance "not a number".
FILLERS = frozenset(
    [
        "uh",
        "um",
        "er",
        "erm",
        "ah",
        "hmm",
        "and",
        "it",
        "it's",
        "its",
        "is",
        "was",
        "my",
        "the",
        "a",
        "number",
        "account",
        "pin",
        "code",
        "that's",
        "thats",
        "ok",
        "okay",
        "yes",
        "yeah",
        "so",
    ]
)

# Split on anything that is not a letter, digit or apostrophe; hyphens and commas
# between digits ("1-0-0-1", "4, 3") therefore separate them.
_TOKEN = re.compile(r"[a-z']+|[0-9]+")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("’", "'"))


def parse_digits(text: str) -> str | None:
    """The digit string of an utterance that is only a number, else ``None``."""
    return _parse(tokenize(text), strict=True)


def extract_digits(text: str) -> str:
    """Every digit said in free speech, in order ("" when none)."""
    return _parse(tokenize(text), strict=False) or ""


def _parse(tokens: list[str], *, strict: bool) -> str | None:
    out: list[str] = []
    pending_repeat = 1
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.isdigit():
            out.append(token[0] * (pending_repeat - 1) + token)
            pending_repeat = 1
            i += 1
            continue
        if token in REPEATS:
            pending_repeat = REPEATS[token]
            i += 1
            continue
        value = _digit_value(token, strict=strict)
        if value is not None:
            out.append(str(value) * pending_repeat)
            pending_repeat = 1
            i += 1
            i = _absorb_scale(tokens, i, out)
            continue
        if token in TEENS or token in TENS:
            consumed, number = _two_digit(tokens, i)
            out.append(number)
            i += consumed
            i = _absorb_scale(tokens, i, out)
            continue
        if strict and token not in FILLERS:
            return None
        i += 1
    return "".join(out) if out else None


def _digit_value(token: str, *, strict: bool) -> int | None:
    if token in DIGIT_WORDS:
        return DIGIT_WORDS[token]
    if strict and token in HOMOPHONES:
        return HOMOPHONES[token]
    return None


def _two_digit(tokens: list[str], i: int) -> tuple[int, str]:
    """'twenty three' -> (2, '23'), 'twenty' -> (1, '20'), 'fifteen' -> (1, '15')."""
    token = tokens[i]
    if token in TEENS:
        return 1, str(TEENS[token])
    tens = TENS[token]
    if i + 1 < len(tokens):
        unit = DIGIT_WORDS.get(tokens[i + 1])
        if unit is not None and unit > 0 and tokens[i + 1] not in {"o", "oh"}:
            return 2, str(tens + unit)
    return 1, str(tens)


def _absorb_scale(tokens: list[str], i: int, out: list[str]) -> int:
    """'three hundred (and) five' -> '305'; 'four thousand' -> '4000'."""
    if i >= len(tokens) or tokens[i] not in SCALES:
        return i
    zeros = SCALES[tokens[i]]
    i += 1
    j = i + 1 if i < len(tokens) and tokens[i] == "and" else i
    rest = _small_number(tokens, j)
    if rest is None:
        out[-1] += "0" * zeros
        return i
    consumed, value = rest
    out[-1] += str(value).zfill(zeros)
    return j + consumed


def _small_number(tokens: list[str], i: int) -> tuple[int, int] | None:
    """A number below 100 spelled as words at ``tokens[i]``: (tokens consumed, value)."""
    if i >= len(tokens):
        return None
    token = tokens[i]
    if token in TEENS or token in TENS:
        consumed, text = _two_digit(tokens, i)
        return consumed, int(text)
    if token in DIGIT_WORDS and token not in {"o", "oh"}:
        return 1, DIGIT_WORDS[token]
    return None


def spell_digits(digits: str) -> str:
    """'4321' -> 'four three two one' (what the agent reads back for confirmation)."""
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    return " ".join(names[int(ch)] for ch in digits if ch.isdigit())
