"""Process-wide state shared by requests and calls: settings, database, engines."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import TYPE_CHECKING

import anyio
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callcenter.metrics import Metrics
from callcenter.settings import Settings
from callcenter.store.db import make_engine, make_session_factory
from callcenter.telephony.handlers import RecordingHandlerFactory
from callcenter.telephony.ports import HandlerFactory

if TYPE_CHECKING:
    from callcenter.telephony.rest import CallControl

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
        self.metrics = Metrics()
        # Builds the per-call MediaStreamHandler when a Media Stream starts. The call
        # session replaces this; the default only records what arrives.
        self.handler_factory: HandlerFactory = RecordingHandlerFactory()
        self._call_control: CallControl | None = None

    @property
    def call_control(self) -> CallControl:
        """Twilio REST call control (hang up, transfer, place calls), made on first use."""
        if self._call_control is None:
            from callcenter.telephony.rest import CallControl  # twilio.rest is slow to import

            self._call_control = CallControl(self.settings)
        return self._call_control

    @call_control.setter
    def call_control(self, control: CallControl) -> None:
        self._call_control = control

    @property
    def call_control_if_created(self) -> CallControl | None:
        return self._call_control

    async def start(self) -> None:
        await anyio.to_thread.run_sync(self._seed_prompts)
        log.info("runtime started", extra={"server_id": self.server_id})

    def _seed_prompts(self) -> None:
        """Publish the shipped prompts as version 1 where the store has none yet."""
        from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

        from callcenter.store.db import transaction
        from callcenter.store.prompts import seed_default_prompts

        try:
            with transaction(self.session_factory) as session:
                added = seed_default_prompts(session)
        except IntegrityError:
            return  # another worker seeded them at the same moment
        except (OperationalError, ProgrammingError) as error:
            # Not migrated yet, or the database is down: serve anyway (calls fall back
            # to the shipped prompts); `callcenter db upgrade` then a restart seeds them.
            log.warning("could not seed default prompts: %s", str(error).splitlines()[0])
            return
        if added:
            log.info("seeded %d default prompt(s)", added)

    async def stop(self) -> None:
        self.accepting_calls = False
        self.engine.dispose()
