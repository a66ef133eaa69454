"""Structured logs: every line said while handling a call carries the call's id."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from callcenter.logs import CallIdFilter, JsonFormatter, TextFormatter, current_call_id


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CallIdFilter())
    logger = logging.getLogger("callcenter.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def test_json_lines_carry_the_call_id_of_the_task_and_its_children(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonFormatter())

    async def call(call_id: str) -> None:
        current_call_id.set(call_id)
        logger.info("stream started")

        async def child() -> None:  # a task the call starts later (reply, TTS, ...)
            logger.warning("tool %s failed", "get_balance", extra={"turn_seq": 3})

        await asyncio.create_task(child())

    async def main() -> None:
        await asyncio.gather(call("41"), call("42"))
        logger.info("not in a call")

    asyncio.run(main())
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    by_call: dict[str | None, list[str]] = {}
    for entry in lines:
        by_call.setdefault(entry["call_id"], []).append(entry["message"])
        assert {"ts", "level", "logger", "message"} <= set(entry)
    assert by_call["41"] == ["stream started", "tool get_balance failed"]
    assert by_call["42"] == ["stream started", "tool get_balance failed"]
    assert by_call[None] == ["not in a call"]
    tool_line = next(e for e in lines if e["call_id"] == "41" and e["level"] == "WARNING")
    assert tool_line["turn_seq"] == 3  # extra= fields are kept


def test_text_lines_name_the_call_and_an_explicit_id_wins(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(TextFormatter())

    async def main() -> None:
        current_call_id.set("7")
        logger.info("hello")
        logger.info("about another call", extra={"call_id": "8"})

    asyncio.run(main())
    first, second = stream.getvalue().splitlines()
    assert first.endswith("hello call=7")
    assert second.endswith("about another call call=8")


def test_an_exception_is_logged_as_one_json_line(
    captured: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonFormatter())
    try:
        raise ValueError("bad frame\nsecond line")
    except ValueError:
        logger.exception("handler failed")
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert "ValueError: bad frame" in entry["exception"]
