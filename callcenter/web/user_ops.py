"""User administration and API tokens, each change written to the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from callcenter.store import audit
from callcenter.store import users as user_store
from callcenter.store.models import User
from callcenter.web.errors import Invalid, NotFound


def get(session: Session, user_id: int) -> User:
    user = user_store.get_user(session, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def create(session: Session, actor: User | None, username: str, password: str, role: str) -> User:
    try:
        user = user_store.create_user(
            session, username=username.strip(), password=password, role=role
        )
    except user_store.UserError as error:
        raise Invalid(str(error)) from None
    audit.record(
        session,
        actor=actor,
        action="user.create",
        target_type="user",
        target_id=user.id,
        details={"username": user.username, "role": user.role.value},
    )
    return user


def set_active(session: Session, actor: User, user_id: int, active: bool) -> User:
    user = get(session, user_id)
    if not active and user.id == actor.id:
        raise Invalid("you cannot deactivate yourself")
    try:
        user_store.set_active(session, user, active)
    except user_store.UserError as error:
        raise Invalid(str(error)) from None
    audit.record(
        session,
        actor=actor,
        action="user.activate" if active else "user.deactivate",
        target_type="user",
        target_id=user.id,
        details={"username": user.username},
    )
    return user


def end_sessions(session: Session, actor: User, user_id: int, *, action: str) -> User:
    """End every console session of the user (logout, or an admin's revoke)."""
    user = get(session, user_id)
    user_store.end_sessions(session, user)
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="user",
        target_id=user.id,
        details={"username": user.username},
    )
    return user


def revoke_access(session: Session, actor: User, user_id: int) -> User:
    """An admin's "sign out everywhere": every session and the API token stop working."""
    user = get(session, user_id)
    user_store.end_sessions(session, user)
    had_token = user_store.revoke_api_token(session, user)
    audit.record(
        session,
        actor=actor,
        action="user.revoke_access",
        target_type="user",
        target_id=user.id,
        details={"username": user.username, "had_token": had_token},
    )
    return user


def change_password(session: Session, actor: User, current: str, new: str) -> User:
    """The signed-in user's own password; ends all their sessions."""
    user = get(session, actor.id)
    try:
        user_store.change_password(session, user, current, new)
    except user_store.UserError as error:
        raise Invalid(str(error)) from None
    audit.record(
        session,
        actor=actor,
        action="user.password_change",
        target_type="user",
        target_id=user.id,
        details={"username": user.username},
    )
    session.expunge(user)
    return user


def issue_token(session: Session, actor: User, user_id: int) -> str:
    """A new API token for the user (shown once; replaces any previous token)."""
    user = get(session, user_id)
    if not user.active:
        raise Invalid("an inactive user cannot get a token")
    token = user_store.issue_api_token(session, user)
    audit.record(
        session,
        actor=actor,
        action="token.create",
        target_type="user",
        target_id=user.id,
        details={"username": user.username},
    )
    return token


def revoke_token(session: Session, actor: User, user_id: int) -> bool:
    user = get(session, user_id)
    had = user_store.revoke_api_token(session, user)
    audit.record(
        session,
        actor=actor,
        action="token.revoke",
        target_type="user",
        target_id=user.id,
        details={"username": user.username, "had_token": had},
    )
    return had


def user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role.value,
        "active": user.active,
        "has_api_token": user.api_token_hash is not None,
        "created_at": user.created_at.isoformat(),
    }
