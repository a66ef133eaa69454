"""The embedded engine: llama-cpp-python in process (Qwen2.5-Coder-0.5B-Instruct GGUF).

We render the prompt ourselves with the model's own chat template (Qwen's Hermes tool
format) and feed tokens to ``Llama.generate``: the same history always gives the same
tokens, so llama.cpp reuses the KV cache of the common prefix and a later turn only
evaluates what is new. Tool calls are parsed from the streamed text by
:class:`~callcenter.llm.hermes.HermesStreamParser`.

One llama context serves every call. All work on it runs in ONE worker thread, which
is the lock that serialises access; the event loop never blocks. Each call's KV cells
are saved and restored around turns of other calls (:mod:`callcenter.llm.llama_sessions`).
Closing the stream sets a flag the worker checks after every token and between prompt
chunks, so generation stops within one token.
"""

from __future__ import annotations

import asyncio
import codecs
import concurrent.futures
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callcenter.llm.base import (
    ChatEvent,
    LLMUnavailable,
    Message,
    StreamEnd,
    ToolSchema,
    parse_json_reply,
)
from callcenter.llm.chat_template import ChatTemplate
from callcenter.llm.hermes import HermesStreamParser
from callcenter.llm.llama_sessions import SessionStates
from callcenter.threads import lower_engine_thread_priority

if TYPE_CHECKING:
    from callcenter.settings import Settings

# Prompt tokens evaluated per llama_decode call: small enough that a barge-in during a
# long first prompt is noticed within ~0.3 s on 2 CPU cores.
PROMPT_CHUNK = 128


log = logging.getLogger(__name__)


@dataclass
class GenerationStats:
    """What the last generation did (for tests, logs and ``callcenter bench``)."""

    session_key: str | None = None
    prompt_tokens: int = 0
    reused_tokens: int = 0  # prompt tokens found in the KV cache
    completion_tokens: int = 0
    finish_reason: str = ""
    cancelled: bool = False
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Done:
    stats: GenerationStats


@dataclass
class _Failed:
    error: BaseException


def _common_prefix(cached: Sequence[int], tokens: Sequence[int]) -> int:
    count = 0
    for a, b in zip(cached, tokens, strict=False):
        if a != b:
            break
        count += 1
    return count


def _user_turn_starts(messages: Sequence[Message]) -> list[int]:
    return [index for index, message in enumerate(messages) if message.get("role") == "user"]


class LlamaCppChatModel:
    """:class:`~callcenter.llm.base.ChatModel` running a GGUF model in this process."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int = 4096,
        n_threads: int = 0,
        temperature: float = 0.2,
        max_tokens: int = 160,
        max_saved_sessions: int = 8,
        seed: int = 1234,
        n_threads_batch: int = 0,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as error:
            raise LLMUnavailable(
                "the embedded LLM needs llama-cpp-python: pip install 'callcenter[embedded]' "
                "(or set CALLCENTER_LLM_BASE_URL to use a vLLM / OpenAI-compatible server)"
            ) from error
        threads = n_threads or os.cpu_count() or 1
        self.llama: Any = Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_batch=512,
            n_threads=threads,
            # Prompt evaluation is matrix-matrix work that uses every core well (and a
            # long system prompt + tools is most of the first turn's cost); generation,
            # token by token, gets the thread plan's share (see callcenter/threads.py).
            n_threads_batch=n_threads_batch or os.cpu_count() or 1,
            seed=seed,
            verbose=False,
        )
        template = self.llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise LLMUnavailable(f"{model_path} has no chat template in its metadata")
        self.template = ChatTemplate(template)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.n_ctx = n_ctx
        self.sessions = SessionStates(self.llama, max_saved=max_saved_sessions)
        self.last_stats = GenerationStats()
        self._stop_tokens = self._find_stop_tokens()
        # The single worker thread is the lock around the llama context.
        self._worker = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="llama", initializer=lower_engine_thread_priority
        )
        self._closed = False
        self._grammars: dict[str, Any] = {}  # JSON schema -> compiled grammar

    @classmethod
    def from_settings(cls, settings: Settings) -> LlamaCppChatModel:
        from callcenter.llm.model_files import embedded_model_path
        from callcenter.threads import thread_plan

        return cls(
            embedded_model_path(settings.cache_dir),
            n_ctx=settings.llm_context,
            n_threads=thread_plan(settings).llm,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
        )

    def _find_stop_tokens(self) -> frozenset[int]:
        stops = {self.llama.token_eos()}
        for marker in (b"<|im_end|>", b"<|endoftext|>"):
            ids = self.llama.tokenize(marker, add_bos=False, special=True)
            if len(ids) == 1:
                stops.add(ids[0])
        return frozenset(stops)

    # --- prompt -----------------------------------------------------------------------

    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        add_generation_prompt: bool = True,
    ) -> str:
        return self.template.render(messages, tools, add_generation_prompt=add_generation_prompt)

    def _tokens(self, text: str) -> list[int]:
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def prompt_tokens(self, messages: Sequence[Message], tools: Sequence[ToolSchema]) -> list[int]:
        """The prompt, dropping the oldest whole turns if it would not leave room to answer."""
        budget = self.n_ctx - self.max_tokens
        messages = list(messages)
        while True:
            tokens = self._tokens(self.render(messages, tools))
            if len(tokens) <= budget:
                return tokens
            starts = _user_turn_starts(messages)
            if len(starts) < 2:
                raise LLMUnavailable(
                    f"prompt of {len(tokens)} tokens does not fit the {self.n_ctx}-token "
                    "context (system prompt and tools too long?)"
                )
            # Drop everything from the first user turn up to the second: a turn's tool
            # calls and results go with it, so no orphan tool result remains.
            del messages[starts[0] : starts[1]]

    # --- the worker (runs in the single llama thread) ---------------------------------

    def _evaluate(self, tokens: list[int], cancel: threading.Event) -> int:
        """Bring the context to hold ``tokens``, reusing the cached prefix; returns it."""
        llama = self.llama
        reused = _common_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens)
        if reused == len(tokens) == llama.n_tokens:
            return reused
        # Drop the cells past the shared prefix now, so a state saved from here holds
        # exactly ``tokens`` (eval would drop them too, but only when it runs).
        llama._ctx.kv_cache_seq_rm(-1, reused, -1)
        llama.n_tokens = reused
        self.sessions.mark_changed()
        for start in range(reused, len(tokens), PROMPT_CHUNK):
            if cancel.is_set():
                break
            llama.eval(tokens[start : start + PROMPT_CHUNK])
        return reused

    def _generate(
        self,
        tokens: list[int],
        session_key: str | None,
        cancel: threading.Event,
        emit: Callable[[object], None],
    ) -> None:
        started = time.perf_counter()
        stats = GenerationStats(session_key=session_key, prompt_tokens=len(tokens))
        stats.timings.update(self.sessions.activate(session_key))
        # Evaluate all but the last prompt token in cancellable chunks; generate() then
        # finds them cached and decodes only the last one before sampling.
        stats.reused_tokens = self._evaluate(tokens[:-1], cancel)
        stats.timings["prompt_eval_s"] = time.perf_counter() - started
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        finish = "cancelled" if cancel.is_set() else "length"
        generator = self.llama.generate(
            tokens, temp=self.temperature, top_k=40, top_p=0.9, min_p=0.05, repeat_penalty=1.0
        )
        try:
            while not cancel.is_set():
                token = next(generator, None)
                if token is None:
                    break
                if "ttft_s" not in stats.timings:
                    stats.timings["ttft_s"] = time.perf_counter() - started
                if token in self._stop_tokens:
                    finish = "stop"
                    break
                stats.completion_tokens += 1
                text = decoder.decode(self.llama.detokenize([token]))
                if text:
                    emit(text)
                if stats.completion_tokens >= self.max_tokens:
                    finish = "length"
                    break
            else:
                finish = "cancelled"
        finally:
            generator.close()
            self.sessions.mark_changed()
        tail = decoder.decode(b"", final=True)
        if tail:
            emit(tail)
        total = time.perf_counter() - started
        stats.timings["total_s"] = total
        decode_s = total - stats.timings.get("ttft_s", total)
        if stats.completion_tokens > 1 and decode_s > 0:
            stats.timings["tokens_per_s"] = (stats.completion_tokens - 1) / decode_s
        stats.finish_reason = finish
        stats.cancelled = finish == "cancelled"
        self.last_stats = stats
        log.debug(
            "llm job %s: %d prompt tokens (%d reused), %d generated, %s, %s",
            session_key,
            stats.prompt_tokens,
            stats.reused_tokens,
            stats.completion_tokens,
            finish,
            {k: round(v, 3) for k, v in stats.timings.items()},
        )
        emit(_Done(stats))

    def _job(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        session_key: str | None,
        cancel: threading.Event,
        emit: Callable[[object], None],
    ) -> None:
        try:
            if cancel.is_set():
                return
            self._generate(self.prompt_tokens(messages, tools), session_key, cancel, emit)
        except BaseException as error:  # handed to the consumer, raised there
            emit(_Failed(error))

    def _warm_job(
        self, messages: Sequence[Message], tools: Sequence[ToolSchema], session_key: str
    ) -> int:
        started = time.perf_counter()
        tokens = self._tokens(self.render(messages, tools, add_generation_prompt=False))
        self.sessions.activate(session_key)
        reused = self._evaluate(tokens, threading.Event())
        log.debug(
            "llm warm %s: %d tokens (%d reused) in %.3f s",
            session_key,
            len(tokens),
            reused,
            time.perf_counter() - started,
        )
        return len(tokens)

    # --- the ChatModel API ------------------------------------------------------------

    async def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        session_key: str | None = None,
    ) -> AsyncIterator[ChatEvent]:
        if self._closed:
            raise LLMUnavailable("the embedded LLM was closed")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        cancel = threading.Event()

        def emit(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the consumer's loop is gone; stop generating
                cancel.set()

        future = self._worker.submit(
            self._job, list(messages), list(tools), session_key, cancel, emit
        )
        parser = HermesStreamParser()
        try:
            while True:
                item = await queue.get()
                if isinstance(item, str):
                    for event in parser.feed(item):
                        yield event
                elif isinstance(item, _Done):
                    for event in parser.finish():
                        yield event
                    stats = item.stats
                    finish = "tool_calls" if parser.tool_calls_seen else stats.finish_reason
                    yield StreamEnd(
                        finish_reason=finish,
                        prompt_tokens=stats.prompt_tokens,
                        completion_tokens=stats.completion_tokens,
                        timings={**stats.timings, "reused_tokens": float(stats.reused_tokens)},
                    )
                    return
                elif isinstance(item, _Failed):
                    if isinstance(item.error, LLMUnavailable):
                        raise item.error
                    raise LLMUnavailable(f"the embedded LLM failed: {item.error!r}") from item.error
        finally:
            # Early close (barge-in) or done: stop the worker and wait the at most one
            # token it needs, so the next turn finds the context free. A job still queued
            # behind another call is simply dropped.
            cancel.set()
            if not future.cancel():
                await asyncio.wrap_future(future)

    def _json_job(
        self,
        messages: Sequence[Message],
        schema: Mapping[str, Any],
        session_key: str | None,
        max_tokens: int,
    ) -> str:
        from llama_cpp import LlamaGrammar

        grammar = self._grammars.get(json.dumps(schema, sort_keys=True))
        if grammar is None:
            grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
            self._grammars[json.dumps(schema, sort_keys=True)] = grammar
        tokens = self.prompt_tokens(messages, ())
        self.sessions.activate(session_key)
        self._evaluate(tokens[:-1], threading.Event())
        out: list[int] = []
        generator = self.llama.generate(tokens, temp=0.0, grammar=grammar, repeat_penalty=1.0)
        try:
            for token in generator:
                if token in self._stop_tokens or len(out) >= max_tokens:
                    break
                out.append(token)
        finally:
            generator.close()
            self.sessions.mark_changed()
        return self.llama.detokenize(out).decode("utf-8", errors="replace")

    async def complete_json(
        self,
        messages: Sequence[Message],
        schema: Mapping[str, Any],
        *,
        session_key: str | None = None,
        max_tokens: int = 64,
    ) -> dict[str, Any]:
        """A reply decoded under a GBNF grammar built from ``schema``: always valid JSON."""
        if self._closed:
            raise LLMUnavailable("the embedded LLM was closed")
        future = self._worker.submit(
            self._json_job, list(messages), dict(schema), session_key, max_tokens
        )
        try:
            text = await asyncio.wrap_future(future)
        except LLMUnavailable:
            raise
        except Exception as error:
            raise LLMUnavailable(f"the embedded LLM failed: {error!r}") from error
        return parse_json_reply(text, schema, where="the embedded LLM")

    async def warm(
        self, messages: Sequence[Message], tools: Sequence[ToolSchema] = (), *, session_key: str
    ) -> None:
        """Evaluate the prompt prefix (system prompt, tools, greeting) for this call."""
        if self._closed:
            return
        future = self._worker.submit(self._warm_job, list(messages), list(tools), session_key)
        await asyncio.wrap_future(future)

    def forget(self, session_key: str) -> None:
        if not self._closed:
            self._worker.submit(self.sessions.forget, session_key)

    def reset(self) -> None:
        """Drop every cached state (tests compare cached against fresh generation)."""
        self._worker.submit(self._reset_job).result()

    def _reset_job(self) -> None:
        self.sessions.clear()
        self.llama.reset()
        self.llama._ctx.kv_cache_seq_rm(-1, 0, -1)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._worker.shutdown, wait=True)
        self.llama.close()
