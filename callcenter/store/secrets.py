"""Hashing of caller secrets (PIN, date of birth) and user passwords with argon2."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Tuned for interactive use: a verification must not stall the call (≈ tens of ms).
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_secret(value: str) -> str:
    return _hasher.hash(normalise_secret(value))


def verify_secret(stored_hash: str, candidate: str) -> bool:
    try:
        return _hasher.verify(stored_hash, normalise_secret(candidate))
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
