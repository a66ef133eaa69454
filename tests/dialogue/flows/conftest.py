from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.dialogue.flows.harness import FlowCall, open_flow_call


@pytest.fixture
def call(db_factory: sessionmaker[Session]) -> FlowCall:
    return open_flow_call(db_factory, flow_intent_model=False)
