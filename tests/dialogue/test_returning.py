"""Returning callers over the real store (Postgres on loopback): preferences by a keyed
hash of the caller ID, applied at the next call, forgotten on request and by retention."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from callcenter.dialogue.preferences import CallPreferences
from callcenter.dialogue.returning import StoreCallerMemory, caller_keys, normalise_number
from callcenter.keys import caller_id_keys
from callcenter.settings import load_settings
from callcenter.store.models import CallerPreference
from callcenter.tasks.retention import purge_expired
from callcenter.tts.style import VoiceStyle
from tests.dialogue.test_timeline import answer_hours
from tests.dialogue.timeline import Speech, place_call, run

NUMBER = "+1 (503) 555-0142"
KEYS = caller_id_keys(load_settings(secret_key="k" * 40))


@pytest.fixture
def pooled_factory(pg_engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions on the pool, one connection each, as in a served process: a whole call
    saves and forgets from several threads at once, which one shared test connection (its
    savepoints) cannot take."""
    factory = sessionmaker(bind=pg_engine, expire_on_commit=False)
    yield factory
    with factory() as session:
        session.execute(delete(CallerPreference))
        session.commit()


def stored(factory: sessionmaker[Session]) -> list[CallerPreference]:
    with factory() as session:
        return list(session.scalars(select(CallerPreference)))


def test_the_caller_id_is_hashed_with_the_deployments_key() -> None:
    assert normalise_number("+1 (503) 555-0142") == normalise_number("+15035550142")
    assert normalise_number("anonymous") is None and normalise_number("") is None
    assert normalise_number("client:alice") is None
    hashed = caller_keys(NUMBER, KEYS)
    assert hashed == caller_keys("+15035550142", KEYS)
    assert "5035550142" not in hashed[0] and len(hashed[0]) == 64
    other = caller_id_keys(load_settings(secret_key="z" * 40))
    assert caller_keys(NUMBER, other) != hashed  # another deployment cannot match them


def test_preferences_are_remembered_and_forgotten(db_factory: sessionmaker[Session]) -> None:
    memory = StoreCallerMemory(db_factory, KEYS)
    prefs = CallPreferences(style=VoiceStyle().slower(), keypad=True, language="es")
    asyncio.run(memory.remember(NUMBER, prefs))
    rows = stored(db_factory)
    assert len(rows) == 1 and "5550142" not in rows[0].caller_key + str(rows[0].preferences)
    recalled = asyncio.run(memory.recall("+15035550142"))
    assert recalled is not None and recalled.as_dict() == prefs.as_dict()
    assert asyncio.run(memory.recall("+15035550199")) is None
    asyncio.run(memory.forget(NUMBER))
    assert stored(db_factory) == []
    # Back to the defaults: nothing worth keeping, the row goes.
    asyncio.run(memory.remember(NUMBER, prefs))
    asyncio.run(memory.remember(NUMBER, CallPreferences()))
    assert stored(db_factory) == []


def test_a_rotated_secret_still_finds_the_caller(db_factory: sessionmaker[Session]) -> None:
    old = caller_id_keys(load_settings(secret_key="o" * 40))
    asyncio.run(StoreCallerMemory(db_factory, old).remember(NUMBER, CallPreferences(keypad=True)))
    rotated = caller_id_keys(load_settings(secret_key="n" * 40, secret_key_previous="o" * 40))
    memory = StoreCallerMemory(db_factory, rotated)
    recalled = asyncio.run(memory.recall(NUMBER))
    assert recalled is not None and recalled.keypad
    asyncio.run(memory.remember(NUMBER, recalled))
    assert [row.caller_key for row in stored(db_factory)] == caller_keys(NUMBER, rotated)[:1]


def test_retention_purges_callers_not_heard_from(db_factory: sessionmaker[Session]) -> None:
    memory = StoreCallerMemory(db_factory, KEYS)
    asyncio.run(memory.remember(NUMBER, CallPreferences(keypad=True)))
    asyncio.run(memory.remember("+15035550999", CallPreferences(keypad=True)))
    with db_factory.begin() as session:
        session.execute(
            update(CallerPreference)
            .where(CallerPreference.caller_key == caller_keys(NUMBER, KEYS)[0])
            .values(updated_at=datetime.now(UTC) - timedelta(days=120))
        )
    report = purge_expired(db_factory, 90)
    assert report.caller_preferences == 1
    assert asyncio.run(memory.recall(NUMBER)) is None
    assert asyncio.run(memory.recall("+15035550999")) is not None


def test_a_returning_caller_hears_the_agent_as_they_asked_last_time(
    pooled_factory: sessionmaker[Session],
) -> None:
    db_factory = pooled_factory
    memory = StoreCallerMemory(db_factory, KEYS)
    # First call: the caller asks for slower speech; it is remembered when the call ends.
    first = run(
        place_call(
            [Speech(3000, 3800, "Could you speak more slowly?")],
            answer_hours,
            until_ms=9000,
            caller_memory=memory,
            caller_number=NUMBER,
        )
    )
    assert first.session.voice.style == VoiceStyle().slower()
    assert len(stored(db_factory)) == 1
    # Next call: slower from the greeting on, and the agent says so.
    second = run(
        place_call(
            [Speech(9000, 9800, "Forget my preferences.")],
            answer_hours,
            until_ms=14000,
            caller_memory=memory,
            caller_number="+15035550142",
        )
    )
    lines = [t.get("text", "") for t in second.log.agent_turns.values()]
    assert any("Last time you asked me to speak slowly" in line for line in lines), lines
    assert ("returning_caller", {"preferences": first.session.preferences.as_dict()}) in (
        second.log.events
    )
    assert second.session.voice.style == VoiceStyle().slower()
    # ... and asked to be forgotten: nothing is left, and nothing is saved at the end.
    assert any("forgotten your preferences" in line for line in lines), lines
    assert stored(db_factory) == []
    third = run(
        place_call([], answer_hours, until_ms=3000, caller_memory=memory, caller_number=NUMBER)
    )
    assert third.session.voice.style == VoiceStyle()
