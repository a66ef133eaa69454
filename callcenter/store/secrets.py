"""Hashing of caller secrets (PIN, date of birth) with argon2, peppered; API token digests.

A PIN has 10^4 values: an argon2 hash alone makes each guess slow, not the table safe.
With a pepper (an HMAC key kept outside the database, ``CALLCENTER_IDENTITY_PEPPER``) a
leaked table is useless without the key too. Peppered hashes say which pepper made them
(``$ccpep$<key id>$<argon2 hash>``), so peppers rotate (``..._PREVIOUS`` still verifies)
and rows hashed before a pepper was set keep working: they are re-hashed with the
current pepper on their next successful check (:func:`needs_rehash`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Tuned for interactive use: a verification must not stall the call (≈ tens of ms).
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


PEPPERED_PREFIX = "$ccpep$"


@dataclass(frozen=True)
class Pepper:
    """The current pepper (signs new hashes) and the previous ones (still verify)."""

    current: str = ""
    previous: tuple[str, ...] = ()

    @classmethod
    def of(cls, current: str, previous: str = "") -> Pepper:
        return cls(current, tuple(p.strip() for p in previous.split(",") if p.strip()))

    def by_key_id(self, key_id: str) -> str | None:
        for pepper in (self.current, *self.previous):
            if pepper and pepper_key_id(pepper) == key_id:
                return pepper
        return None


NO_PEPPER = Pepper()


def pepper_key_id(pepper: str) -> str:
    # Names the key without revealing it (a hash of a long random key).
    return hashlib.sha256(b"callcenter/pepper-id\0" + pepper.encode()).hexdigest()[:12]


def _peppered(pepper: str, normal: str) -> str:
    return hmac.new(pepper.encode(), normal.encode(), hashlib.sha256).hexdigest()


def hash_secret(value: str, pepper: Pepper = NO_PEPPER) -> str:
    normal = normalise_secret(value)
    if not pepper.current:
        return _hasher.hash(normal)
    inner = _hasher.hash(_peppered(pepper.current, normal))
    return f"{PEPPERED_PREFIX}{pepper_key_id(pepper.current)}${inner}"


def verify_secret(stored_hash: str, candidate: str, pepper: Pepper = NO_PEPPER) -> bool:
    normal = normalise_secret(candidate)
    if stored_hash.startswith(PEPPERED_PREFIX):
        key_id, _, inner = stored_hash.removeprefix(PEPPERED_PREFIX).partition("$")
        key = pepper.by_key_id(key_id)
        if key is None:  # made with a pepper this process does not have
            return False
        return _argon2_verify(inner, _peppered(key, normal))
    return _argon2_verify(stored_hash, normal)


def needs_rehash(stored_hash: str, pepper: Pepper) -> bool:
    """True when the hash is not made with the current pepper (migrate it on success)."""
    if not pepper.current:
        return False
    return not stored_hash.startswith(f"{PEPPERED_PREFIX}{pepper_key_id(pepper.current)}$")


def _argon2_verify(stored_hash: str, value: str) -> bool:
    try:
        return _hasher.verify(stored_hash, value)
    except (VerificationError, InvalidHashError):
        return False


def normalise_secret(value: str) -> str:
    # Spoken or keyed, "4 3 2 1" and "4321" are the same PIN.
    return "".join(value.split()).lower()


def new_api_token() -> str:
    return "cc_" + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    # API tokens are long random strings: a fast keyed digest is enough and allows lookup.
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
