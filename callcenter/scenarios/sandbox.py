"""A database transaction that is always rolled back: scenarios act on real tables
(demo accounts reset as seeded, real tool policy and audit rows) and leave nothing behind.

Everything a scenario writes, tool calls included, goes through one connection whose
outer transaction is rolled back at the end; the tools' own commits become savepoints.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker


@contextmanager
def sandbox(engine: Engine) -> Iterator[sessionmaker[Session]]:
    with engine.connect() as connection:
        outer = connection.begin()
        if connection.dialect.name == "sqlite":
            # pysqlite begins a transaction only before a write, and a SAVEPOINT outside
            # one would start (and its release commit) a real transaction: begin it here.
            connection.exec_driver_sql("BEGIN")
        try:
            yield sessionmaker(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
        finally:
            outer.rollback()
