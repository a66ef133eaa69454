"""Fixtures shared by the whole suite: a real PostgreSQL database migrated to head."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callcenter.store import migrate
from callcenter.store.db import make_engine
from tests.support.postgres import temporary_database

# Calls are recorded by default; tests that run calls without their own state directory
# must not leave recordings in the working tree. Servers the tests start inherit this.
os.environ.setdefault(
    "CALLCENTER_RECORDINGS_DIR", tempfile.mkdtemp(prefix="callcenter-test-recordings-")
)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh database for this test run, migrated to head by Alembic (migrations under test)."""
    with temporary_database() as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(pg_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test, even if the code commits."""
    connection = pg_engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def db_factory(pg_engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory bound to one outer transaction that is rolled back after the test.

    For code under test that opens and commits its own sessions.
    """
    connection = pg_engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield factory
    finally:
        outer.rollback()
        connection.close()
