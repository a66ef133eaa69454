"""What a call leaves in the store: its turns and events, written without blocking it.

The stages talk to :class:`CallLog` (a port); :class:`StoreCallLog` writes through the
process's :class:`CallRecorder` (one writer thread, retries while the database is down),
so a slow database never stalls the call. Tests use an in-memory log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from callcenter.store import calls as call_store
from callcenter.store.models import Speaker
from callcenter.store.recorder import CallRecorder

log = logging.getLogger(__name__)


class CallLog(Protocol):
    def event(self, kind: str, payload: dict[str, Any]) -> None: ...

    async def caller_turn(
        self, seq: int, text: str, *, source: str, confidence: float | None
    ) -> None:
        """Returns once the turn is committed, or after a bounded wait (the call goes on)."""

    def drop_turn(self, seq: int) -> None:
        """Take back a caller turn recorded speculatively, with the events that read it
        (its ``mood`` reading): nothing of a withdrawn turn stays in the log."""

    def agent_turn_started(
        self, seq: int, text: str, *, latency_ms: int | None, played_ms: float = 0.0
    ) -> None:
        """Its first clause has gone out; ``played_ms`` of it: the turn began that long ago."""

    def agent_turn_finished(
        self, seq: int, *, text: str, heard_text: str, interrupted: bool
    ) -> None: ...


class StoreCallLog:
    """Writes a call's turns and events through the shared recorder."""

    def __init__(
        self,
        recorder: CallRecorder,
        call_id: str,
        position_ms: Callable[[], int],
        language: Callable[[], str] = lambda: "en",
    ):
        self._recorder = recorder
        self._call_id = call_id
        self._position_ms = position_ms  # the stream time "now"
        self._language = language  # the call's language "now" (stored on each turn)

    def event(self, kind: str, payload: dict[str, Any]) -> None:
        at_ms, call_id = self._position_ms(), self._call_id
        self._nowait(
            lambda s: call_store.add_event(
                s, call_id=call_id, kind=kind, payload=payload, at_ms=at_ms
            ),
            kind,
        )

    async def caller_turn(
        self, seq: int, text: str, *, source: str, confidence: float | None
    ) -> None:
        end_ms, call_id, language = self._position_ms(), self._call_id, self._language()
        write = self._recorder.submit(
            lambda s: call_store.add_turn(
                s,
                call_id=call_id,
                seq=seq,
                speaker=Speaker.caller,
                text=text,
                source=source,
                end_ms=end_ms,
                asr_confidence=confidence,
                language=language,
            ),
            "caller turn",
        )
        # Durability: the caller turn is committed before the LLM request answering it
        # (bounded wait: if the database is down the call goes on, the write waits).
        with contextlib.suppress(TimeoutError, Exception):
            await asyncio.wait_for(asyncio.shield(write), timeout=1.0)

    def drop_turn(self, seq: int) -> None:
        call_id = self._call_id
        self._nowait(
            lambda s: call_store.delete_turn(s, call_id=call_id, seq=seq),
            "speculative turn dropped",
        )

    def agent_turn_started(
        self, seq: int, text: str, *, latency_ms: int | None, played_ms: float = 0.0
    ) -> None:
        # Audio goes out in real time: the turn started when its first clause did.
        start_ms = max(0, self._position_ms() - round(played_ms))
        call_id, language = self._call_id, self._language()
        self._nowait(
            lambda s: call_store.add_turn(
                s,
                call_id=call_id,
                seq=seq,
                speaker=Speaker.agent,
                text=text,
                heard_text="",
                source="tts",
                start_ms=start_ms,
                latency_ms=latency_ms,
                language=language,
            ),
            "agent turn",
        )

    def agent_turn_finished(
        self, seq: int, *, text: str, heard_text: str, interrupted: bool
    ) -> None:
        end_ms, call_id = self._position_ms(), self._call_id
        self._nowait(
            lambda s: call_store.update_agent_turn(
                s,
                call_id=call_id,
                seq=seq,
                text=text,
                heard_text=heard_text,
                interrupted=interrupted,
                end_ms=end_ms,
            ),
            "agent turn end",
        )

    def _nowait(self, op: Any, label: str) -> None:
        try:
            self._recorder.submit(op, label)
        except Exception:
            log.exception("could not queue %s", label, extra={"call_id": self._call_id})
