"""What a console password must be: long enough, and not one everybody tries first.

Length alone lets ``12345678`` and ``password1`` through. The list is the 30,000 most
common leaked passwords that ship with zxcvbn (MIT); a password is refused when it, or
it with its trailing digits and symbols dropped, is on the list, or when it is built
from the username. Checked when a password is set, never at login (an old password
must not lock its owner out).
"""

from __future__ import annotations

import re
from functools import lru_cache

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # argon2 hashes any length; this bounds the work per login
_TRAILING = re.compile(r"[\d\W_]+$")


class WeakPassword(ValueError):
    """The message says what the policy wants."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    # ~1 MB of lists: loaded on first use, not at import.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def check_password(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"password: at most {MAX_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    if len(set(lowered)) < 4:
        raise WeakPassword("password: too few different characters")
    stem = _TRAILING.sub("", lowered)
    common = common_passwords()
    if lowered in common or (len(stem) >= 4 and stem in common):
        raise WeakPassword("password: this is one of the most common passwords; choose another")
    name = username.strip().lower()
    if name and len(name) >= 3 and (name in lowered or lowered in name):
        raise WeakPassword("password: must not contain the username")
