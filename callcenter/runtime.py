"""Process-wide state shared by requests and calls: settings, database, engines."""

from __future__ import annotations

import logging
import os
import socket
import uuid

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callcenter.settings import Settings
from callcenter.store.db import make_engine, make_session_factory

log = logging.getLogger(__name__)


class Runtime:
    """Owns long-lived resources; created once per process by the app factory."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.sqlalchemy_url)
        self.session_factory: sessionmaker[Session] = make_session_factory(self.engine)
        # Identifies this process in calls.server_id (crash recovery marks orphans).
        self.server_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.accepting_calls = True
        self.live_calls = 0

    async def start(self) -> None:
        log.info("runtime started", extra={"server_id": self.server_id})

    async def stop(self) -> None:
        self.accepting_calls = False
        self.engine.dispose()
