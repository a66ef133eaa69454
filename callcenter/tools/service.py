"""The process-wide tool service a call session talks to (``SessionServices.tools``).

It holds the current :class:`ToolSet` (built-ins plus published admin definitions),
reloads it at most every ``refresh_s`` so admin edits go live without a restart, and
runs tool calls off the event loop through the one :class:`ToolExecutor` path.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from callcenter.settings import Settings
from callcenter.tools.base import ToolCall, ToolOutcome
from callcenter.tools.context import CallContext
from callcenter.tools.executor import ToolExecutor
from callcenter.tools.registry import ToolFactory, ToolSet, load_toolset

log = logging.getLogger(__name__)


class ToolService:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        *,
        factories: Mapping[str, ToolFactory] | None = None,
        refresh_s: float = 60.0,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.factories = factories
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._executor = ToolExecutor(session_factory, load_toolset(), settings)

    @property
    def toolset(self) -> ToolSet:
        """The current tools. Never touches the database (it is read on the event loop);
        :meth:`refresh` reloads admin changes off the loop."""
        return self._executor.toolset

    def schemas(self) -> list[dict[str, Any]]:
        """OpenAI-format schemas for the model (stable between refreshes, which keeps
        the LLM server's prompt-prefix cache warm)."""
        return self.toolset.schemas()

    async def refresh(self, max_age_s: float | None = None) -> None:
        """Reload published tool definitions if they are older than ``max_age_s``
        (default ``refresh_s``; 0 = always, as a new call does)."""
        await asyncio.to_thread(self._refresh, max_age_s)

    def snapshot(self) -> CallTools:
        """The tools as they are now, for one call: a live call keeps the tool versions
        it started with even if an admin publishes new ones meanwhile."""
        return CallTools(self._executor)

    async def execute(
        self, ctx: CallContext, request: ToolCall, *, turn_seq: int | None = None
    ) -> ToolOutcome:
        await self.refresh()
        return await self._executor.aexecute(ctx, request, turn_seq=turn_seq)

    def _refresh(self, max_age_s: float | None = None) -> None:
        max_age = self.refresh_s if max_age_s is None else max_age_s
        if max_age > 0 and time.monotonic() - self._loaded_at < max_age:
            return
        with self._lock:
            if max_age > 0 and time.monotonic() - self._loaded_at < max_age:
                return
            try:
                with self.session_factory() as session:
                    toolset = load_toolset(session, factories=self.factories)
            except Exception:
                # Database down: keep the tools we have (defaults at worst); retry later.
                log.warning(
                    "could not load tool definitions; keeping the current set", exc_info=True
                )
                toolset = self._executor.toolset
            self._executor = ToolExecutor(self.session_factory, toolset, self.settings)
            self._loaded_at = time.monotonic()


class CallTools:
    """One call's fixed tool set (see :meth:`ToolService.snapshot`)."""

    def __init__(self, executor: ToolExecutor) -> None:
        self._executor = executor

    def schemas(self) -> list[dict[str, Any]]:
        return self._executor.toolset.schemas()

    async def refresh(self, max_age_s: float | None = None) -> None:
        """A call's tools never change."""

    async def execute(
        self, ctx: CallContext, request: ToolCall, *, turn_seq: int | None = None
    ) -> ToolOutcome:
        return await self._executor.aexecute(ctx, request, turn_seq=turn_seq)
