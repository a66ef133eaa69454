"""Chat model client for vLLM or any OpenAI-compatible server, streamed, with tool calls.

Text deltas are forwarded the moment they arrive (TTS starts on the first clause).
Tool calls stream as index-keyed fragments (the id and name first, the arguments in
pieces) and are assembled here; they are emitted when the choice finishes, because
only then are the arguments complete. Closing the iterator early closes the HTTP
response, so the server stops generating (vLLM aborts a request whose client left).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import openai
from openai import AsyncOpenAI

from callcenter.llm.base import (
    ChatEvent,
    LLMUnavailable,
    Message,
    StreamEnd,
    TextDelta,
    ToolCallRequest,
    ToolCallStarting,
    ToolSchema,
    parse_json_reply,
)
from callcenter.llm.hermes import HermesStreamParser

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionChunk

    from callcenter.settings import Settings


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def complete(self) -> ToolCallRequest:
        raw = "".join(self.arguments)
        call_id = self.id or f"call_{uuid.uuid4().hex[:24]}"
        if not raw.strip():
            return ToolCallRequest(id=call_id, name=self.name, arguments={}, raw_arguments=raw)
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            # Keep the raw text: the tool layer refuses the call as invalid and the audit
            # log shows what the model produced.
            return ToolCallRequest(id=call_id, name=self.name, arguments={}, raw_arguments=raw)
        return ToolCallRequest(id=call_id, name=self.name, arguments=parsed, raw_arguments=raw)


class ToolCallAssembler:
    """Collects streamed ``delta.tool_calls`` fragments, keyed by their ``index``."""

    def __init__(self) -> None:
        self._calls: dict[int, _PartialCall] = {}

    @property
    def started(self) -> bool:
        return bool(self._calls)

    def add(self, fragments: Sequence[Any]) -> None:
        for fragment in fragments:
            index = fragment.index if fragment.index is not None else len(self._calls)
            call = self._calls.setdefault(index, _PartialCall())
            if fragment.id:
                call.id = fragment.id
            function = fragment.function
            if function is None:
                continue
            # Some servers repeat the name in every fragment; others split it.
            if function.name and call.name != function.name:
                call.name += function.name
            if function.arguments:
                call.arguments.append(function.arguments)

    def drain(self) -> list[ToolCallRequest]:
        calls = [self._calls[index].complete() for index in sorted(self._calls)]
        self._calls.clear()
        return calls


class OpenAICompatChatModel:
    """:class:`~callcenter.llm.base.ChatModel` over an OpenAI-compatible HTTP server."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "EMPTY",
        temperature: float = 0.2,
        max_tokens: int = 160,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 3.0,
        max_retries: int = 1,
        parse_tool_markup_in_text: bool = True,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        # The read timeout bounds the gap between two streamed chunks (a stalled
        # server), not the whole reply, so long answers are fine.
        self._client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "EMPTY",
            timeout=openai.Timeout(timeout_s, connect=connect_timeout_s),
            max_retries=max_retries,
        )
        # A server started without --tool-call-parser returns the model's raw
        # <tool_call> markup as content; parsing it keeps JSON out of the caller's ear.
        self._parse_markup = parse_tool_markup_in_text

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAICompatChatModel:
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
            timeout_s=settings.llm_timeout_s,
        )

    async def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        session_key: str | None = None,
    ) -> AsyncIterator[ChatEvent]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(message) for message in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if tools:
            request["tools"] = [dict(tool) for tool in tools]
            request["tool_choice"] = "auto"
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(**request)
        except openai.APIError as error:
            raise self._unavailable(error) from error
        try:
            async for event in self._events(response, started):
                yield event
        except (openai.APIError, httpx.HTTPError) as error:
            # openai >= 2 wraps transport errors met mid-stream in APIError; older
            # releases let httpx's own errors through.
            raise self._unavailable(error) from error
        finally:
            # Runs on early close too (barge-in): closing the response drops the
            # connection, which is how the server learns to stop generating.
            await response.close()

    async def _events(self, response: Any, started: float) -> AsyncIterator[ChatEvent]:
        assembler = ToolCallAssembler()
        parser = HermesStreamParser() if self._parse_markup else None
        finish_reason = "stop"
        usage: Any = None
        first_token_at: float | None = None
        chunk: ChatCompletionChunk
        async for chunk in response:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                delta = choice.delta
                if delta is not None and delta.content:
                    if first_token_at is None:
                        first_token_at = time.perf_counter()
                    if parser is None:
                        yield TextDelta(delta.content)
                    else:
                        for event in parser.feed(delta.content):
                            yield event
                if delta is not None and delta.tool_calls:
                    if first_token_at is None:
                        first_token_at = time.perf_counter()
                    if not assembler.started:
                        yield ToolCallStarting()
                    assembler.add(delta.tool_calls)
                if choice.finish_reason:
                    finish_reason = choice.finish_reason
                    for call in assembler.drain():
                        yield call
        if parser is not None:
            for event in parser.finish():
                yield event
            if parser.tool_calls_seen:
                finish_reason = "tool_calls"
        for call in assembler.drain():  # a server that never sent finish_reason
            yield call
        timings = {"total_s": time.perf_counter() - started}
        if first_token_at is not None:
            timings["ttft_s"] = first_token_at - started
        yield StreamEnd(
            finish_reason=finish_reason,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            timings=timings,
        )

    def _unavailable(self, error: Exception) -> LLMUnavailable:
        if isinstance(error, openai.APITimeoutError | httpx.TimeoutException):
            reason = "timed out"
        elif isinstance(error, openai.APIConnectionError | httpx.TransportError):
            reason = "could not be reached"
        elif isinstance(error, openai.APIStatusError):
            reason = f"answered HTTP {error.status_code}: {error.message}"
        else:
            reason = f"failed: {error}"
        return LLMUnavailable(f"LLM server {self.base_url} (model {self.model!r}) {reason}")

    async def complete_json(
        self,
        messages: Sequence[Message],
        schema: Mapping[str, Any],
        *,
        session_key: str | None = None,
        max_tokens: int = 64,
    ) -> dict[str, Any]:
        """vLLM structured output: ``response_format`` json_schema (guided decoding)."""
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(message) for message in messages],
            "temperature": 0.0,
            "max_tokens": max_tokens,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": dict(schema), "strict": True},
            },
        }
        try:
            response = await self._client.chat.completions.create(**request)
        except (openai.APIError, httpx.HTTPError) as error:
            raise self._unavailable(error) from error
        content = response.choices[0].message.content if response.choices else None
        return parse_json_reply(content or "", schema, where=self.base_url)

    async def warm(
        self, messages: Sequence[Message], tools: Sequence[ToolSchema] = (), *, session_key: str
    ) -> None:
        """Nothing to do: vLLM's automatic prefix caching warms itself on the first turn."""

    def forget(self, session_key: str) -> None:
        """The server keeps no per-call state that we own."""

    async def close(self) -> None:
        await self._client.close()
