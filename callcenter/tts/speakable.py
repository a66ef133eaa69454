"""Turn what the LLM writes into what a voice should say on the phone.

The model writes for a screen: markdown, emoji, "$2,417.35", "2024-03-05", account
numbers. TTS front ends read these badly ("dollar sign two comma…", "two thousand
twenty-four minus…"), so they are rewritten into words the voice says well. Plain
numbers such as "2,417" are left to the voice, which reads them as quantities.

Identifiers are read digit by digit: explicitly when marked with ``<digits>…</digits>``
(or SSML ``<say-as interpret-as="digits">…</say-as>``), and by heuristic for runs of
five or more digits (and three or four after "account", "card", "ending in" …), since
on a call-center line long digit runs are account, card, phone or reference numbers.
"""

from __future__ import annotations

import re
import unicodedata


def _words(spaced: str) -> tuple[str, ...]:
    return tuple(spaced.split())


DIGIT_WORDS = _words("zero one two three four five six seven eight nine")
MONTHS = _words(
    "January February March April May June July August September October November December"
)
_ORDINALS = _words(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth"
    " thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
)

_MARKED_DIGITS = re.compile(
    r"<digits>(.*?)</digits>|<say-as\s+interpret-as=[\"']digits[\"']\s*>(.*?)</say-as>",
    re.IGNORECASE | re.DOTALL,
)
_MONEY = re.compile(
    r"(-)?\$\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?!\d)"
    r"(?:\s*(thousand|million|billion)\b)?",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_US_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
# Digit groups joined by dashes/spaces ("555-123-4567", "4111 1111 1111 1111") or a
# plain run of 5+ digits. Numbers with thousands commas or decimals are quantities.
_LONG_DIGITS = re.compile(r"(?<![\d$])(?<!\d[,.])\d+(?:[- ]\d+)*(?!\d|[,.]\d)")
_ID_KEYWORD = re.compile(
    r"(?:account|card|ending in|ends in|last (?:four|4)|pin|code|zip|number|no\.|#)"
    r"\s*(?:number|is|of)?\s*:?\s*$",
    re.IGNORECASE,
)

_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_CODE = re.compile(r"`+([^`]*)`+")
_MD_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3})(\S(?:.*?\S)?)\1")
_MD_LINE_PREFIX = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+|\d+[.)]\s+)", re.MULTILINE)
_URL = re.compile(r"https?://\S+")
_SPACES = re.compile(r"[ \t]+")


def speakable(text: str) -> str:
    """The text rewritten for speech; safe to apply to every clause."""
    text = _strip_markdown(text)
    text = _MARKED_DIGITS.sub(lambda m: digits_to_words(m.group(1) or m.group(2) or ""), text)
    text = _MONEY.sub(_money_words, text)
    text = _ISO_DATE.sub(lambda m: _date_words(m.group(1), m.group(2), m.group(3)), text)
    text = _US_DATE.sub(lambda m: _date_words(m.group(3), m.group(1), m.group(2)), text)
    text = _LONG_DIGITS.sub(_identifier_words, text)
    text = text.replace("&", " and ").replace("%", " percent")
    text = _strip_symbols(text)
    text = re.sub(r"\s+([.,!?;:])", r"\1", text)  # a dropped emoji left "word !"
    return _SPACES.sub(" ", text).strip()


def digits_to_words(digits: str) -> str:
    """ "4417" -> "four four one seven"; groups ("555-1234") are separated by a comma."""
    groups = [g for g in re.split(r"[^0-9]+", digits) if g]
    return ", ".join(" ".join(DIGIT_WORDS[int(d)] for d in group) for group in groups)


def ordinal(day: int) -> str:
    if 1 <= day <= 20:
        return _ORDINALS[day - 1]
    if day == 30:
        return "thirtieth"
    tens = "twenty" if day < 30 else "thirty"
    return f"{tens}-{_ORDINALS[day % 10 - 1]}"


def _money_words(match: re.Match[str]) -> str:
    negative, whole, cents, scale = match.groups()
    sign = "minus " if negative else ""
    if scale:  # "$1.2 million" -> "1.2 million dollars"
        amount = whole + (f".{cents}" if cents else "")
        return f"{sign}{amount} {scale.lower()} dollars"
    dollars = int(whole.replace(",", ""))
    cent_value = int(cents.ljust(2, "0")) if cents else 0
    parts = []
    if dollars or not cent_value:
        parts.append(f"{whole} {'dollar' if dollars == 1 else 'dollars'}")
    if cent_value:
        parts.append(f"{cent_value} {'cent' if cent_value == 1 else 'cents'}")
    return sign + " and ".join(parts)


def _date_words(year: str, month: str, day: str) -> str:
    m, d = int(month), int(day)
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return f"{year}-{month}-{day}"  # not a date; leave it for the digit reader
    return f"{MONTHS[m - 1]} {ordinal(d)}, {year}"


def _identifier_words(match: re.Match[str]) -> str:
    token = match.group(0)
    digit_count = sum(c.isdigit() for c in token)
    before = match.string[: match.start()]
    if digit_count >= 5 or (digit_count >= 3 and _ID_KEYWORD.search(before)):
        return digits_to_words(token)
    return token


def _strip_markdown(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _MD_CODE.sub(r"\1", text)
    text = _MD_EMPHASIS.sub(r"\2", text)
    text = _MD_LINE_PREFIX.sub("", text)
    # Line breaks become sentence pauses, not run-on words.
    return re.sub(r"\s*\n+\s*", ". ", text.strip()).replace("..", ".")


def _strip_symbols(text: str) -> str:
    """Drop emoji, pictographs and leftover markup characters a voice would spell out."""
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in {"So", "Sk", "Cs", "Co", "Cn"} or ch in "*_#`~|<>^\\{}[]\u200d\ufe0f":
            kept.append(" ")
        else:
            kept.append(ch)
    return "".join(kept)
