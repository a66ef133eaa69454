"""Logging: every line said while handling a call carries that call's id.

The Media Stream endpoint sets :data:`current_call_id` when a stream starts; asyncio
copies context variables into the tasks created after that, so the session, the
engines' callers and the store writes of that call all log with its id without passing
it around. ``CALLCENTER_LOG_JSON=true`` writes one JSON object per line (for Loki,
Elasticsearch, Cloud Logging); otherwise lines are plain text with ``call=<id>``.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from typing import Any

current_call_id: ContextVar[str | None] = ContextVar("current_call_id", default=None)

# LogRecord's own attributes: anything else on a record came from ``extra=`` and is kept.
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "call_id"}


class CallIdFilter(logging.Filter):
    """Puts the current call's id on every record (an explicit ``extra`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "call_id", None) is None:
            record.call_id = current_call_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "call_id": getattr(record, "call_id", None),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        call_id = getattr(record, "call_id", None)
        return f"{line} call={call_id}" if call_id else line


def configure_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Root handler for the process (replaces any earlier one)."""
    handler = logging.StreamHandler()
    handler.addFilter(CallIdFilter())
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
