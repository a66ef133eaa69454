"""Console users: argon2 password hashes, roles, activation and one API token each."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.store.models import Role, User
from callcenter.store.password_policy import WeakPassword
from callcenter.store.password_policy import check_password as check_password_policy
from callcenter.store.secrets import hash_api_token, new_api_token

# Not store.secrets.hash_secret: that one normalises spoken PINs (drops spaces,
# lower-cases), which would silently weaken passwords.
_hasher = PasswordHasher()
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
# Verified against when the username does not exist, so a miss costs as much as a hit
# and response times do not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str, candidate: str) -> bool:
    try:
        return _hasher.verify(stored_hash, candidate)
    except (VerificationError, InvalidHashError):
        return False


def validate_new_user(username: str, password: str, role: str) -> Role:
    if not USERNAME.match(username):
        raise UserError(
            "username: 2-64 characters: letters, digits and . _ @ -, "
            "starting with a letter or digit"
        )
    try:
        check_password_policy(password, username)
    except WeakPassword as error:
        raise UserError(str(error)) from None
    try:
        return Role(role)
    except ValueError:
        raise UserError("role: must be admin or agent") from None


def create_user(session: Session, *, username: str, password: str, role: str) -> User:
    checked_role = validate_new_user(username, password, role)
    if get_by_username(session, username) is not None:
        raise UserError(f"username: {username!r} is taken")
    user = User(
        username=username, password_hash=hash_password(password), role=checked_role, active=True
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_by_username(session: Session, username: str) -> User | None:
    # Case-insensitive: "Alice" and "alice" must not be two accounts.
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    user = get_by_username(session, username)
    if user is None:
        check_password(_DUMMY_HASH, password)
        return None
    if not check_password(user.password_hash, password) or not user.active:
        return None
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def count_active_admins(session: Session) -> int:
    query = select(func.count()).where(User.role == Role.admin, User.active.is_(True))
    return int(session.scalar(query) or 0)


def end_sessions(session: Session, user: User) -> None:
    """Every session cookie of the user stops working on its next request."""
    user.session_version = (user.session_version or 0) + 1
    session.flush()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Needs the current password; ends every session of the user (the caller starts a
    fresh one for the browser that asked)."""
    if not check_password(user.password_hash, current):
        raise UserError("current password: wrong")
    if new == current:
        raise UserError("password: the new password must differ from the current one")
    try:
        check_password_policy(new, user.username)
    except WeakPassword as error:
        raise UserError(str(error)) from None
    user.password_hash = hash_password(new)
    end_sessions(session, user)


def set_active(session: Session, user: User, active: bool) -> None:
    if not active and user.role == Role.admin and user.active and count_active_admins(session) <= 1:
        raise UserError("the last active admin cannot be deactivated")
    user.active = active
    if not active:
        # A deactivated user's token and sessions must stay dead if they are reactivated.
        user.api_token_hash = None
        user.session_version = (user.session_version or 0) + 1
    session.flush()


def issue_api_token(session: Session, user: User) -> str:
    """A new token for ``user`` (replacing any previous one). Only its hash is stored."""
    token = new_api_token()
    user.api_token_hash = hash_api_token(token)
    session.flush()
    return token


def revoke_api_token(session: Session, user: User) -> bool:
    had = user.api_token_hash is not None
    user.api_token_hash = None
    session.flush()
    return had


def user_by_token(session: Session, token: str) -> User | None:
    if not token:
        return None
    user = session.scalar(select(User).where(User.api_token_hash == hash_api_token(token)))
    return user if user is not None and user.active else None
