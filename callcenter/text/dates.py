"""Calendar dates from a caller's turn (date of birth), and how the agent says them.

Callers say dates in many shapes: "March 7th 1984", "3/7/1984", "1984-03-07", "the
seventh of March nineteen eighty four", or 03071984 on the keypad.
"""

from __future__ import annotations

import re
from datetime import date

from callcenter.text.digits import keyed_digits
from callcenter.text.spoken_numbers import extract_digits, tokenize

MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "october": 10,
    "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
    "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
    "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
    "thirtieth": 30,
}  # fmt: skip
CARDINALS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
DECADES = {"twenty": 20, "thirty": 30}
# Tokens that may sit inside a spoken year ("nineteen eighty four", "two thousand and five").
_YEAR_WORDS = frozenset(
    [
        *CARDINALS, "zero", "oh", "o", "and", "hundred", "thousand",
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ]
)  # fmt: skip
_SKIP = frozenset(["the", "of", "th", "st", "nd", "rd", ",", "on", "born", "in"])

_ISO = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_SLASHED = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\b")
_EIGHT_DIGITS = re.compile(r"(?<!\d)(\d{8})(?!\d)")


def parse_dates(text: str) -> set[date]:
    """Every calendar date the text states, in any of the supported spoken/written forms."""
    found: set[date] = set()
    for year, month, day in _ISO.findall(text):
        _add(found, int(year), int(month), int(day))
    for first, second, year in _SLASHED.findall(text):
        # North American order (month first) unless the first number cannot be a month.
        month, day = (int(first), int(second))
        if month > 12:
            month, day = day, month
        _add(found, _full_year(int(year), len(year)), month, day)
    for run in _EIGHT_DIGITS.findall(re.sub(r"[\s,-]", "", text)):
        # Keyed on the phone pad: MMDDYYYY or YYYYMMDD.
        _add(found, int(run[4:]), int(run[:2]), int(run[2:4]))
        _add(found, int(run[:4]), int(run[4:6]), int(run[6:]))
    found |= _worded_dates(tokenize(text.replace("-", " ")))
    return found


def _worded_dates(tokens: list[str]) -> set[date]:
    found: set[date] = set()
    for i, token in enumerate(tokens):
        month = MONTHS.get(token)
        if month is None or (token == "may" and not _near_number(tokens, i)):
            continue
        # "March 7th 1984" / "March the seventh, 1984"
        day, after = _day_at(tokens, _skip(tokens, i + 1))
        if day is not None:
            year = _year_at(tokens, _skip(tokens, after))
            if year is not None:
                _add(found, year, month, day)
        # "7th of March 1984" / "the seventh of March nineteen eighty four"
        day_before = _day_before(tokens, i)
        year = _year_at(tokens, _skip(tokens, i + 1))
        if day_before is not None and year is not None:
            _add(found, year, month, day_before)
    return found


def _near_number(tokens: list[str], i: int) -> bool:
    # "may" is also a verb; treat it as the month only next to a day.
    nxt = _skip(tokens, i + 1)
    return (nxt < len(tokens) and _day_at(tokens, nxt)[0] is not None) or (
        _day_before(tokens, i) is not None
    )


def _skip(tokens: list[str], i: int) -> int:
    while i < len(tokens) and tokens[i] in _SKIP:
        i += 1
    return i


def _day_at(tokens: list[str], i: int) -> tuple[int | None, int]:
    """A day of the month at tokens[i]: (day, index after it) or (None, i)."""
    if i >= len(tokens):
        return None, i
    token = tokens[i]
    if token.isdigit() and len(token) <= 2:
        return int(token), i + 1
    if token in ORDINALS:
        return ORDINALS[token], i + 1
    if token in DECADES and i + 1 < len(tokens):
        unit = ORDINALS.get(tokens[i + 1], CARDINALS.get(tokens[i + 1]))
        if unit is not None and unit < 10:
            return DECADES[token] + unit, i + 2
    if token in CARDINALS:
        return CARDINALS[token], i + 1
    return None, i


def _day_before(tokens: list[str], month_index: int) -> int | None:
    j = month_index - 1
    while j >= 0 and tokens[j] in {"of", "the", "th", "st", "nd", "rd"}:
        j -= 1
    if j < 0:
        return None
    # A compound ordinal ("twenty first") spans two tokens.
    if j >= 1:
        day, end = _day_at(tokens, j - 1)
        if day is not None and end == j + 1:
            return day
    day, _ = _day_at(tokens, j)
    return day


def _year_at(tokens: list[str], i: int) -> int | None:
    if i >= len(tokens):
        return None
    if tokens[i].isdigit():
        token = tokens[i]
        split = _split_year(tokens, i)
        if split is not None:
            return split
        return _full_year(int(token), len(token)) if len(token) in (2, 4) else None
    end = i
    while end < len(tokens) and tokens[end] in _YEAR_WORDS and end - i < 6:
        end += 1
    spoken = extract_digits(" ".join(tokens[i:end]))
    if len(spoken) == 4:
        return int(spoken)
    return None


def _split_year(tokens: list[str], i: int) -> int | None:
    """A year said in two halves and written so by ASR: "19 90", "19, 90", "19th 90",
    "19 ninety" (read as the year 2019 it would be a wrong date, not a missing one)."""
    if tokens[i] not in ("19", "20"):
        return None
    j = i + 1
    while j < len(tokens) and tokens[j] in (",", "th"):
        j += 1
    if j >= len(tokens):
        return None
    if tokens[j].isdigit():
        rest = tokens[j] if len(tokens[j]) == 2 else ""
    else:
        end = j
        while end < len(tokens) and tokens[end] in _YEAR_WORDS and end - j < 3:
            end += 1
        rest = extract_digits(" ".join(tokens[j:end])) if end > j else ""
    return int(tokens[i] + rest) if len(rest) == 2 else None


def _full_year(year: int, width: int) -> int:
    if width == 4:
        return year
    # Two-digit years are birth years here: never in the future.
    this_year = date.today().year % 100
    return 2000 + year if year <= this_year else 1900 + year


def _add(found: set[date], year: int, month: int, day: int) -> None:
    if not 1900 <= year <= 2100:
        return
    try:
        found.add(date(year, month, day))
    except ValueError:
        return


def parse_one_date(value: str) -> date | None:
    """The single date in a tool argument, or None when it states none or several."""
    dates = parse_dates(value)
    return next(iter(dates)) if len(dates) == 1 else None


MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def parse_date(text: str) -> date | None:
    """The one date a turn states ("March 7th 1984", "03/07/1984", keyed 03071984)."""
    keyed = keyed_digits(text)
    found = parse_dates(keyed if keyed is not None else text)
    if len(found) == 1:
        return next(iter(found))
    if len(found) > 1 and keyed is not None and len(keyed) == 8:
        # Keyed MMDDYYYY and YYYYMMDD can both parse: month first is what we ask for.
        try:
            return date(int(keyed[4:]), int(keyed[:2]), int(keyed[2:4]))
        except ValueError:
            return min(found)
    return None


def say_date(value: date) -> str:
    """'March 7, 1984'."""
    return f"{MONTH_NAMES[value.month - 1]} {value.day}, {value.year}"
