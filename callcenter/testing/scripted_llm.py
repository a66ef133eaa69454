"""A real OpenAI-compatible chat server that answers from a script: our vLLM test double.

It speaks the wire protocol vLLM speaks (``POST /v1/chat/completions`` streamed as SSE
``chat.completion.chunk`` events ending in ``data: [DONE]``, or one JSON completion;
``GET /v1/models``), splits text into word-sized chunks and tool-call arguments into
several fragments as real servers do, and records every request so a test can assert
what history the agent sent (e.g. that it never holds text the caller did not hear)
and whether the agent hung up on a stream early (barge-in).

In tests::

    with ScriptedLLMServer([Rule(match="hours", reply="We open at nine.")]) as server:
        model = OpenAICompatChatModel(base_url=server.base_url, model="scripted")
        ...
        assert server.requests[-1].messages[-1]["content"] == "what are your hours"

From a shell: ``python -m callcenter.testing.scripted_llm --script script.json --port 8001``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from callcenter.testing.llm_script import Rule, Script, ScriptedToolCall, load_script

_PIECE_RE = re.compile(r"\s*\S+|\s+")
# Argument fragments of uneven sizes, so clients must really concatenate them.
_FRAGMENT_SIZES = (1, 7, 4, 11, 3, 9)


@dataclass(eq=False)
class RecordedRequest:
    """One request as the server saw it, and how its answer went."""

    path: str
    body: dict[str, Any]
    received_at: float
    rule_index: int | None = None  # which rule answered; None = fallback
    chunks_sent: int = 0
    completed: bool = False  # the whole answer was sent
    disconnected: bool = False  # the client went away mid-stream
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools", []))


def split_text(text: str) -> list[str]:
    """Word-sized pieces with their leading space, like BPE tokens."""
    return _PIECE_RE.findall(text)


def split_fragments(text: str) -> list[str]:
    pieces, start, turn = [], 0, 0
    while start < len(text):
        size = _FRAGMENT_SIZES[turn % len(_FRAGMENT_SIZES)]
        pieces.append(text[start : start + size])
        start, turn = start + size, turn + 1
    return pieces


def _call_id(call: ScriptedToolCall) -> str:
    return call.id or f"call_{uuid.uuid4().hex[:24]}"


def _token_limit(body: dict[str, Any]) -> int | None:
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    return int(limit) if isinstance(limit, int) and limit > 0 else None


@dataclass
class _Answer:
    pieces: list[str]
    tool_calls: Sequence[ScriptedToolCall]
    finish_reason: str

    @classmethod
    def for_rule(cls, rule: Rule, limit: int | None) -> _Answer:
        pieces = split_text(rule.reply)
        tool_calls = rule.tool_calls
        finish = rule.finish_reason or ("tool_calls" if tool_calls else "stop")
        if limit is not None and len(pieces) > limit:
            pieces, tool_calls, finish = pieces[:limit], (), "length"
        return cls(pieces, tool_calls, finish)


class ScriptedLLMApp:
    """The Starlette app; :class:`ScriptedLLMServer` runs it on loopback."""

    def __init__(self, script: Script, *, model: str = "scripted") -> None:
        self.script = script
        self.model = model
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
            ]
        )

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    async def models(self, request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": self.model, "object": "model", "created": 0, "owned_by": "callcenter"}
                ],
            }
        )

    async def chat_completions(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "request body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "'messages' must be a list of messages")
        record = RecordedRequest(path=request.url.path, body=body, received_at=time.time())
        with self._lock:
            self._requests.append(record)
        record.rule_index, rule = self.script.choose(body["messages"])
        if rule.status != 200:
            record.completed = True
            record.finished.set()
            return _error(rule.status, f"scripted failure (rule {record.rule_index})")
        problem = _response_format_problem(body.get("response_format"), rule)
        if problem is not None:
            record.completed = True
            record.finished.set()
            return _error(400, problem)
        answer = _Answer.for_rule(rule, _token_limit(body))
        delay = rule.token_delay_s if rule.token_delay_s is not None else self.script.token_delay_s
        model = str(body.get("model") or self.model)
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = _stream_chunks(answer, model, body["messages"], usage)
            return StreamingResponse(
                self._paced(record, chunks, rule.stall_s, delay),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        if rule.stall_s:
            await asyncio.sleep(rule.stall_s)
        record.completed = True
        record.finished.set()
        return JSONResponse(_completion(answer, model, body["messages"]))

    async def _paced(
        self, record: RecordedRequest, chunks: list[str], stall_s: float, delay_s: float
    ) -> AsyncIterator[str]:
        try:
            if stall_s:
                await asyncio.sleep(stall_s)
            for index, chunk in enumerate(chunks):
                if index and delay_s:
                    await asyncio.sleep(delay_s)
                yield chunk
                record.chunks_sent += 1
            record.completed = True
        finally:
            # Cancelled (the client disconnected) before the last chunk went out.
            record.disconnected = not record.completed
            record.finished.set()


def _response_format_problem(response_format: Any, rule: Rule) -> str | None:
    """Structured output as vLLM serves it: ``{"type": "json_object"}`` or
    ``{"type": "json_schema", "json_schema": {"name", "schema"}}``. A real server decodes
    under the schema, so the scripted reply must satisfy it; a script whose reply does
    not is a broken test, answered 400 with the reason."""
    if response_format is None:
        return None
    if not isinstance(response_format, dict):
        return "response_format must be an object"
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind not in ("json_object", "json_schema"):
        return f"response_format.type must be text, json_object or json_schema, got {kind!r}"
    schema: Any = {"type": "object"}
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            return "response_format.json_schema.schema must be a JSON schema object"
        schema = spec["schema"]
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            return f"response_format.json_schema.schema is not a valid schema: {error.message}"
    try:
        reply = json.loads(rule.reply)
    except ValueError:
        return f"scripted reply {rule.reply[:60]!r} is not JSON but {kind} was requested"
    errors = list(Draft202012Validator(schema).iter_errors(reply))
    if errors:
        return f"scripted reply does not satisfy the requested schema: {errors[0].message}"
    return None


def _error(status: int, message: str) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": None}},
        status_code=status,
    )


def _usage(messages: list[Any], completion_tokens: int) -> dict[str, int]:
    prompt = sum(len(split_text(json.dumps(message))) for message in messages)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }


def _completion_tokens(answer: _Answer) -> int:
    return len(answer.pieces) + sum(
        len(split_fragments(call.arguments_text)) + 1 for call in answer.tool_calls
    )


def _stream_chunks(
    answer: _Answer, model: str, messages: list[Any], include_usage: bool
) -> list[str]:
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in answer.pieces]
    for index, call in enumerate(answer.tool_calls):
        head = {
            "index": index,
            "id": _call_id(call),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        events.append(chunk({"tool_calls": [head]}))
        events += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
            for fragment in split_fragments(call.arguments_text)
        ]
    events.append(chunk({}, answer.finish_reason))
    if include_usage:
        # OpenAI and vLLM send usage in a last chunk with no choices.
        last = chunk({})
        last["choices"] = []
        last["usage"] = _usage(messages, _completion_tokens(answer))
        events.append(last)
    return [f"data: {json.dumps(event)}\n\n" for event in events] + ["data: [DONE]\n\n"]


def _completion(answer: _Answer, model: str, messages: list[Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(answer.pieces) or None}
    if answer.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(call),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_text},
            }
            for call in answer.tool_calls
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": answer.finish_reason,
            }
        ],
        "usage": _usage(messages, _completion_tokens(answer)),
    }


class ScriptedLLMServer:
    """Runs :class:`ScriptedLLMApp` with uvicorn on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        rules: Sequence[Rule] | Script,
        *,
        fallback: Rule | None = None,
        token_delay_s: float = 0.0,
        model: str = "scripted",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        script = (
            rules
            if isinstance(rules, Script)
            else Script(rules, fallback=fallback, token_delay_s=token_delay_s)
        )
        self.handler = ScriptedLLMApp(script, model=model)
        self.model = model
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as ``base_url``."""
        return self.url + "/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.handler.requests

    def clear(self) -> None:
        self.handler.clear()

    def start(self) -> ScriptedLLMServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.handler.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="scripted-llm", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"scripted LLM server did not start on {self.url}")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--script", type=Path, required=True, help="rules as JSON")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--model", default="scripted")
    args = parser.parse_args(argv)
    handler = ScriptedLLMApp(load_script(args.script), model=args.model)
    print(f"scripted LLM at http://{args.host}:{args.port}/v1", flush=True)
    uvicorn.run(handler.app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
