"""The Alembic migrations are the schema: they round-trip and match the models exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from callcenter.store import migrate
from callcenter.store.db import make_engine
from callcenter.store.models import Base
from tests.support.postgres import temporary_database

EXPECTED_TABLES = {
    "customers",
    "accounts",
    "transactions",
    "callbacks",
    "calls",
    "turns",
    "tool_invocations",
    "call_events",
    "handoffs",
    "prompt_versions",
    "tool_definitions",
    "users",
    "audit_log",
    "turn_translations",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _schema_diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))
    finally:
        engine.dispose()


def _round_trip(url: str) -> None:
    migrate.upgrade(url)
    assert _tables(url) >= EXPECTED_TABLES
    assert _schema_diff(url) == [], "models and migrations disagree"
    migrate.downgrade(url, "base")
    assert _tables(url) == set()
    migrate.upgrade(url)
    assert _tables(url) >= EXPECTED_TABLES


def test_postgres_upgrade_downgrade_upgrade() -> None:
    with temporary_database("callcenter_migrations") as url:
        _round_trip(url)


def test_sqlite_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'cc.db'}")


def test_constraints_follow_the_naming_convention(pg_engine: object) -> None:
    inspector = inspect(pg_engine)
    for table in EXPECTED_TABLES:
        pk = inspector.get_pk_constraint(table)
        assert pk["name"] == f"pk_{table}"
        for fk in inspector.get_foreign_keys(table):
            assert fk["name"].startswith(f"fk_{table}_"), fk["name"]
        for unique in inspector.get_unique_constraints(table):
            assert unique["name"].startswith(f"uq_{table}_"), unique["name"]


@pytest.mark.parametrize("table", sorted(EXPECTED_TABLES))
def test_migrated_test_database_has_table(pg_engine: object, table: str) -> None:
    assert inspect(pg_engine).has_table(table)
