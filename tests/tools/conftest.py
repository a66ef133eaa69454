from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from callcenter.tools import CallContext, ToolExecutor
from tests.tools.helpers import make_executor, seed_and_open_call


@pytest.fixture
def ctx(db_factory: sessionmaker[Session]) -> CallContext:
    """A live call on a store seeded with the demo customers (rolled back after the test)."""
    return seed_and_open_call(db_factory)


@pytest.fixture
def executor(db_factory: sessionmaker[Session]) -> ToolExecutor:
    return make_executor(db_factory)
