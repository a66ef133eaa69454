"""One agent reply: stream the LLM, cut its text into clauses, run its tool calls.

Clauses go to a queue that the voice consumes while the model is still generating, so the
first clause is spoken early. Tool calls run through the tool executor (validation,
policy, audit); side effects therefore happen only here, once per confirmed caller turn.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from callcenter.dialogue.guard import GROUNDED_SAFE_LINE, ungrounded
from callcenter.llm.base import (
    ChatModel,
    Message,
    TextDelta,
    ToolCallRequest,
    ToolCallStarting,
    ToolSchema,
)
from callcenter.tools.base import Action, ToolCall, ToolOutcome
from callcenter.tts.clauses import ClauseChunker

ExecuteTool = Callable[[ToolCall], Awaitable[ToolOutcome]]


@dataclass(frozen=True)
class Speak:
    text: str
    # Fixed lines come from the phrase cache; model text is synthesised as it streams.
    cached: bool = False
    # Written by the model (checked by the unverified-caller guard); tool lines are not.
    from_model: bool = False


@dataclass
class ReplyResult:
    # Assistant tool-call messages and tool results, in order, for the call's history.
    tool_messages: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[ToolOutcome] = field(default_factory=list)
    action: Action = "continue"
    reason: str | None = None
    first_token_s: float | None = None
    spoke: bool = False  # something was queued for the caller in this reply


ItemSink = Callable[[Speak], Awaitable[None]]
# What the caller may hear as fact besides the call itself: the knowledge-base articles.
Grounding = Callable[[], Sequence[str]]
# The number guard withheld a model clause (the reply went on with the safe line).
OnGuarded = Callable[[], None]
# Messages whose numbers are grounded: what the admin wrote (the system prompt), what the
# caller said and what the tools returned. The model's own earlier lines are not.
_GROUNDING_ROLES = ("system", "user", "tool")


def grounding_texts(messages: Sequence[Message], extra: Sequence[str] = ()) -> list[str]:
    """The texts a model line's numbers must come from (see ``guard.ungrounded``)."""
    texts = [str(m.get("content") or "") for m in messages if m.get("role") in _GROUNDING_ROLES]
    return [*texts, *extra]


class NumberGuard:
    """One reply's check on model clauses: a clause stating a number that no source states
    is replaced by the safe line, and the rest of the model's text is dropped (the claim
    it was making is not finished for it)."""

    def __init__(
        self,
        speak: ItemSink,
        sources: list[str],
        on_guarded: OnGuarded,
        leaves_to_voice: Callable[[str], bool] = lambda _clause: False,
    ) -> None:
        self._speak = speak
        self.sources = sources
        self._on_guarded = on_guarded
        self._leaves_to_voice = leaves_to_voice
        self.tripped = False

    async def __call__(self, item: Speak) -> None:
        if not item.from_model:
            await self._speak(item)
            return
        if self.tripped:
            return
        if ungrounded(item.text, self.sources) and not self._leaves_to_voice(item.text):
            self.tripped = True
            self._on_guarded()
            await self._speak(Speak(GROUNDED_SAFE_LINE, cached=True))
            return
        await self._speak(item)


class ReplyRunner:
    """The default replier: the LLM answers, with tool calls for account operations."""

    def __init__(
        self,
        chat: ChatModel,
        tools: Sequence[ToolSchema],
        execute_tool: ExecuteTool,
        *,
        filler: str = "",
        asr_hint: Callable[[], str | None] = lambda: None,
        grounding: Grounding = lambda: (),
        on_guarded: OnGuarded = lambda: None,
        leaves_to_voice: Callable[[str], bool] = lambda _clause: False,
    ) -> None:
        self._filler = filler
        self._grounding = grounding
        self._on_guarded = on_guarded
        # Clauses the voice's unverified-caller guard withholds with its own line (which
        # asks for verification): the number guard leaves those to it.
        self._leaves_to_voice = leaves_to_voice
        self._chat = chat
        self._tools = tools
        self._execute_tool = execute_tool
        self._asr_hint = asr_hint

    def asr_hint(self) -> str | None:
        return self._asr_hint()

    def answers(self, text: str) -> bool:
        return False  # the model has no pending question the words could answer

    def reprompt(self) -> str | None:
        return None  # the model has no pending question: the generic re-prompt fits

    def pending_question(self) -> str | None:
        return None

    async def run(
        self,
        messages: Sequence[Message],
        speak: ItemSink,
        *,
        session_key: str,
        result: ReplyResult,
        before_effects: Callable[[], Awaitable[None]],
    ) -> None:
        """Run to the end of the reply. ``result`` is filled as tools run, so a caller that
        cancels the reply (barge-in) still knows which tools already executed."""
        working: list[Message] = list(messages)
        started = asyncio.get_running_loop().time()
        # Every number the model says must come from a source (enforced, not asked for).
        guard = NumberGuard(
            speak,
            grounding_texts(messages, self._grounding()),
            self._on_guarded,
            self._leaves_to_voice,
        )
        calls = await self._stream_round(working, guard, session_key, result, started)
        if not calls:
            return
        await before_effects()  # e.g. wait until a speculative turn is confirmed
        request_message = _assistant_tool_calls(calls)
        working.append(request_message)
        result.tool_messages.append(request_message)
        for call in calls:
            # A tool that started must finish and be recorded even if the caller
            # interrupts: its side effect (a payment) happens either way.
            await asyncio.shield(self._run_tool(call, working, result))
        # Speak what code decided (read-backs, refusals, balances) verbatim: a small
        # model paraphrasing numbers is how wrong amounts reach callers.
        for outcome in result.outcomes[-len(calls) :]:
            line = outcome.speak or outcome.say
            if line:
                await speak(Speak(line))

    async def _run_tool(
        self, call: ToolCallRequest, working: list[Message], result: ReplyResult
    ) -> None:
        outcome = await self._execute_tool(
            ToolCall(call.id, call.name, call.arguments, call.raw_arguments)
        )
        result.outcomes.append(outcome)
        tool_message = outcome.message()
        working.append(tool_message)
        result.tool_messages.append(tool_message)
        if outcome.action != "continue" and result.action == "continue":
            result.action, result.reason = outcome.action, outcome.reason

    async def _stream_round(
        self,
        working: Sequence[Message],
        speak: ItemSink,
        session_key: str,
        result: ReplyResult,
        started: float,
    ) -> list[ToolCallRequest]:
        chunker = ClauseChunker()
        calls: list[ToolCallRequest] = []
        loop = asyncio.get_running_loop()
        stream = self._chat.stream(working, self._tools, session_key=session_key)
        async with aclosing(stream) as events:  # type: ignore[type-var]
            async for event in events:
                if result.first_token_s is None:
                    result.first_token_s = loop.time() - started
                if isinstance(event, TextDelta):
                    for clause in chunker.feed(event.text):
                        await speak(Speak(clause, from_model=True))
                        result.spoke = True
                elif isinstance(event, ToolCallStarting):
                    if not result.spoke and self._filler:
                        # Dead air while a tool call is written and run feels broken.
                        await speak(Speak(self._filler, cached=True))
                        result.spoke = True
                elif isinstance(event, ToolCallRequest):
                    calls.append(event)
        rest = chunker.flush()
        if rest.strip():
            await speak(Speak(rest, from_model=True))
            result.spoke = True
        return calls


def _assistant_tool_calls(calls: Sequence[ToolCallRequest]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in calls
        ],
    }
