"""Returning callers: how they liked the last call (slower, louder, the keypad, their
language), remembered by caller ID and applied from the first word of the next call.

Only :class:`CallPreferences` are kept, under an HMAC of the caller's number with a key
derived from the deployment's secret (``keys.caller_id_keys``), so the table holds no
phone number and nothing about any account: a caller ID is no proof of identity, and
nothing account-related is used before the caller verifies. "Forget my preferences" (or
star 9) deletes the row at once; the retention purge removes rows not used for the
retention period.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from callcenter.dialogue.accessibility import CallerLines
from callcenter.dialogue.preferences import CallPreferences
from callcenter.store.caller_prefs import (
    find_preferences,
    forget_preferences,
    save_preferences,
)
from callcenter.store.db import transaction

log = logging.getLogger(__name__)

# Twilio's stand-ins for a withheld number, and anything too short to be a person's line.
_ANONYMOUS = frozenset({"anonymous", "restricted", "unknown", "private", "+266696687"})
_MIN_DIGITS = 6


class CallerMemory(Protocol):
    async def recall(self, caller_number: str) -> CallPreferences | None: ...

    async def remember(self, caller_number: str, preferences: CallPreferences) -> None: ...

    async def forget(self, caller_number: str) -> None: ...


def normalise_number(number: str) -> str | None:
    """'+1 (503) 555-0100' -> '+15035550100'; None for a withheld or unusable number."""
    raw = number.strip().lower()
    if not raw or raw in _ANONYMOUS or raw.startswith(("client:", "sip:")):
        return None
    digits = re.sub(r"\D", "", raw)
    if len(digits) < _MIN_DIGITS or digits in _ANONYMOUS:
        return None
    return ("+" if raw.startswith("+") else "") + digits


def caller_keys(number: str, keys: list[bytes]) -> list[str]:
    """The caller ID's keyed hashes, current key first ([] for a withheld number)."""
    normalised = normalise_number(number)
    if normalised is None:
        return []
    return [hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest() for key in keys]


class StoreCallerMemory:
    """Preferences in Postgres (``caller_preferences``), off the event loop."""

    def __init__(self, session_factory: sessionmaker[Session], keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("the returning-caller memory needs at least one key")
        self._factory = session_factory
        self._keys = keys

    async def recall(self, caller_number: str) -> CallPreferences | None:
        hashed = caller_keys(caller_number, self._keys)
        if not hashed:
            return None

        def find() -> CallPreferences | None:
            with self._factory() as session:
                stored = find_preferences(session, hashed)
            return CallPreferences.from_dict(stored) if stored is not None else None

        return await asyncio.to_thread(find)

    async def remember(self, caller_number: str, preferences: CallPreferences) -> None:
        hashed = caller_keys(caller_number, self._keys)
        if not hashed:
            return

        def save() -> None:
            with transaction(self._factory) as session:
                if preferences.is_default:  # nothing worth keeping
                    forget_preferences(session, hashed)
                else:
                    save_preferences(
                        session, hashed[0], preferences.as_dict(), stale_keys=hashed[1:]
                    )

        await asyncio.to_thread(save)

    async def forget(self, caller_number: str) -> None:
        hashed = caller_keys(caller_number, self._keys)
        if not hashed:
            return

        def delete() -> None:
            with transaction(self._factory) as session:
                forget_preferences(session, hashed)

        await asyncio.to_thread(delete)


class ReturningCaller:
    """One call's side of the memory: recall at the start, forget on request, remember
    what changed at the end. A store that fails never stops the call."""

    def __init__(self, memory: CallerMemory | None, preferences: CallPreferences) -> None:
        self._memory = memory
        self._preferences = preferences
        self.number = ""
        self.recalled: dict[str, object] | None = None
        self._remembered = CallPreferences().as_dict()
        self._forgotten = False

    async def recall(self, caller_number: str) -> CallPreferences | None:
        """The caller's stored preferences, now in effect for this call (None: none)."""
        self.number = caller_number
        if self._memory is None or not caller_number:
            return None
        try:
            known = await self._memory.recall(caller_number)
        except Exception:  # the call goes on with the defaults
            log.exception("could not recall the caller")
            return None
        if known is not None:
            self._preferences.take(known)
            self.recalled = self._remembered = known.as_dict()
        return known

    async def forget(self) -> None:
        self._forgotten = True  # nothing of this call is kept either
        if self._memory is not None and self.number:
            await self._memory.forget(self.number)

    async def remember(self) -> None:
        """At the end of the call: keep what the caller changed, for their next call."""
        changed = self._preferences.as_dict() != self._remembered
        if self._memory is None or not self.number or self._forgotten or not changed:
            return
        try:
            await self._memory.remember(self.number, self._preferences)
        except Exception:
            log.exception("could not remember the caller")


def welcome_back(preferences: CallPreferences, lines: CallerLines) -> str:
    """What the agent says after the greeting to a caller whose preferences it applied."""
    said: list[str] = []
    if preferences.style.rate < 1.0:
        said.append(lines.get("welcome_back_slower"))
    if preferences.style.volume > 1.0:
        said.append(lines.get("welcome_back_louder"))
    if preferences.keypad:
        said += [lines.get("welcome_back_keypad"), lines.get("keypad_menu")]
    if not said:
        return ""  # more time or a language: applied without a word
    said.append(lines.get("welcome_back_forget"))
    return " ".join(part for part in said if part)
