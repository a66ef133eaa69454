"""Scrub caller secrets from what is stored: tool arguments and results in the audit log.

Three nets, because the model puts secrets where it likes: (1) fields whose name says
secret (pin, date_of_birth, card_number, ...; see :func:`is_secret_key`) are replaced;
(2) any 13-19 digit run that looks like a card number keeps only its last four digits;
(3) the exact secrets seen in this call are scrubbed from every other string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
# A key is secret when one of its words is one of these ("pin", "pin_code", "userPin",
# "date_of_birth"); matching words, not substrings, keeps "shipping" readable.
SECRET_WORDS = frozenset(
    ["pin", "passcode", "password", "secret", "dob", "birth", "birthdate", "cvv", "cvc",
     "ssn", "pan", "cardnumber"]
)  # fmt: skip
_KEY_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def is_secret_key(key: str) -> bool:
    parts = [part.lower() for part in _KEY_WORD.findall(key)]
    if any(part in SECRET_WORDS for part in parts):
        return True
    return ("card" in parts and "number" in parts) or ("security" in parts and "code" in parts)


# A card number stands alone: a digit run inside a longer token (a hex API key, an
# order reference) is not a card, and masking it would mangle an exact secret.
_CARD = re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"[card ending {digits[-4:]}]"


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    # Exact secrets first: masking a card-like run inside a secret would leave the rest
    # of that secret unmatched and in the clear.
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, REDACTED)
    return _CARD.sub(_mask_card, text)


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A deep copy of ``value`` with secrets replaced (dicts, lists, strings)."""
    known = tuple(secrets)
    if isinstance(value, Mapping):
        return {
            str(key): (
                REDACTED
                if is_secret_key(str(key)) and value[key] not in (None, "")
                else redact(value[key], known)
            )
            for key in value
        }
    if isinstance(value, list | tuple):
        return [redact(item, known) for item in value]
    if isinstance(value, str):
        return redact_text(value, known)
    return value
