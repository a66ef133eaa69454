"""Turn translations in the store: what needs translating, saving, reading back, cascade
deletes, and migration 0010 up and down (SQLite here; the Postgres round trip of every
migration is in test_migrations.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.store import migrate
from callcenter.store.calls import add_turn, delete_turn
from callcenter.store.db import make_engine, make_session_factory, transaction
from callcenter.store.models import Call, Speaker, TurnTranslation
from callcenter.store.translations import (
    needs_translation,
    save_translation,
    translations_of_call,
    turns_to_translate,
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture
def factory(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sqlite_url)
    yield make_session_factory(engine)
    engine.dispose()


def new_call(session: Session, language: str = "es") -> str:
    call = Call(call_sid="CA" + uuid.uuid4().hex)
    call.language = language
    session.add(call)
    session.flush()
    return call.id


def test_which_turns_need_translating(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        call_id = new_call(session, "es")
        turns = [
            ("agent", "Hello, how can I help?", "en", "speech"),  # already English
            ("caller", "Hablo español, por favor.", "es", "speech"),
            ("agent", "Claro. ¿En qué puedo ayudarle?", "es", "speech"),
            ("caller", "(keyed on the phone) 1001#", "es", "dtmf"),  # digits, no words
            ("caller", "   ", "es", "speech"),  # nothing said
            ("agent", "Einen Moment, bitte.", "de", "speech"),  # a German line
            # Stored before languages were recorded: the call's language.
            ("caller", "Quiero pagar una factura.", None, "speech"),
        ]
        for seq, (speaker, text, language, source) in enumerate(turns, start=1):
            add_turn(
                session,
                call_id=call_id,
                seq=seq,
                speaker=Speaker(speaker),
                text=text,
                source=source,
                language=language,
            )
        pending = turns_to_translate(session, call_id, "en")
        assert [(t.seq, t.language) for t in pending] == [
            (2, "es"),
            (3, "es"),
            (6, "de"),
            (7, "es"),
        ]
        assert pending[0].text == "Hablo español, por favor."
        # Into Spanish, the English and German turns are the ones to translate.
        assert [t.seq for t in turns_to_translate(session, call_id, "es")] == [1, 6]
        assert turns_to_translate(session, "no-such-call", "en") == []


def test_save_and_read_back_by_seq(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        call_id = new_call(session)
        for seq, text in enumerate(["Hola.", "Perdí mi tarjeta."], start=1):
            add_turn(
                session, call_id=call_id, seq=seq, speaker=Speaker.caller, text=text, language="es"
            )
    with transaction(factory) as session:
        first, second = turns_to_translate(session, call_id, "en")
        assert save_translation(session, first.turn_id, "en", "Hello.", model="qwen-1.5b")
        assert save_translation(session, second.turn_id, "en", "I lost my card.", model="qwen")
        # A second job (or a person's request racing the handoff's) does not overwrite.
        assert not save_translation(session, first.turn_id, "en", "Hi.", model="other")
        assert save_translation(session, first.turn_id, "de", "Hallo.", model="qwen")
    with factory() as session:
        assert translations_of_call(session, call_id, "en") == {1: "Hello.", 2: "I lost my card."}
        assert translations_of_call(session, call_id, "de") == {1: "Hallo."}
        assert not needs_translation(session, call_id, "en")
        assert needs_translation(session, call_id, "de")
        row = session.scalar(select(TurnTranslation).where(TurnTranslation.text == "Hello."))
        assert row is not None and row.made_by == "llm" and row.model == "qwen-1.5b"
        assert row.created_at is not None


def test_translations_go_with_their_turn_and_call(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        call_id = new_call(session)
        for seq in (1, 2):
            turn = add_turn(
                session, call_id=call_id, seq=seq, speaker=Speaker.caller, text="Sí.", language="es"
            )
            save_translation(session, turn.id, "en", "Yes.", model="m")
    with transaction(factory) as session:
        delete_turn(session, call_id=call_id, seq=1)  # a speculative turn taken back
    with factory() as session:
        assert translations_of_call(session, call_id, "en") == {2: "Yes."}
    with transaction(factory) as session:
        session.execute(delete(Call).where(Call.id == call_id))  # the retention purge
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(TurnTranslation)) == 0


def test_migration_0010_upgrades_and_downgrades_keeping_the_turns(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            call_id = new_call(session)
            turn = add_turn(
                session, call_id=call_id, seq=1, speaker=Speaker.caller, text="Hola.", language="es"
            )
            save_translation(session, turn.id, "en", "Hello.", model="m")
        engine.dispose()
        migrate.downgrade(sqlite_url, "0009")
        assert not inspect(engine).has_table("turn_translations")
        engine.dispose()
        migrate.upgrade(sqlite_url)
        inspector = inspect(engine)
        assert inspector.has_table("turn_translations")
        [unique] = inspector.get_unique_constraints("turn_translations")
        assert unique["column_names"] == ["turn_id", "language"]
        [foreign] = inspector.get_foreign_keys("turn_translations")
        assert foreign["referred_table"] == "turns"
        assert foreign["options"].get("ondelete") == "CASCADE"
        with factory() as session:  # the turn survived; its translation went with 0010
            assert translations_of_call(session, call_id, "en") == {}
            assert [t.seq for t in turns_to_translate(session, call_id, "en")] == [1]
    finally:
        engine.dispose()
