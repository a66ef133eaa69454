"""A call to the flows without audio: caller turns in, the agent's lines out, real tools."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from callcenter.dialogue.flows import FlowReplier, make_flow_replier
from callcenter.dialogue.prompts import PromptSet, default_prompt_set
from callcenter.dialogue.reply import ReplyResult, Speak
from callcenter.llm.base import ChatModel
from callcenter.tools import CallContext, ToolExecutor, ToolOutcome
from callcenter.tools.base import ToolCall
from tests.tools.helpers import make_executor, seed_and_open_call, tool_settings


class NoModel:
    """A ChatModel that must not be asked: these flows run on parsers and rules alone."""

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the model was asked to write a reply")

    async def complete_json(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("the model was asked for an intent")

    async def warm(self, *args: Any, **kwargs: Any) -> None: ...

    def forget(self, session_key: str) -> None: ...

    async def close(self) -> None: ...


@dataclass
class Reply:
    lines: list[Speak]
    result: ReplyResult

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)


@dataclass
class FlowCall:
    replier: FlowReplier
    ctx: CallContext
    executor: ToolExecutor
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def say(
        self,
        text: str,
        *,
        keyed: bool = False,
        before_effects: Callable[[], Awaitable[None]] | None = None,
    ) -> Reply:
        return asyncio.run(self.turn(text, keyed=keyed, before_effects=before_effects))

    async def turn(
        self,
        text: str,
        *,
        keyed: bool = False,
        before_effects: Callable[[], Awaitable[None]] | None = None,
    ) -> Reply:
        if keyed:
            self.ctx.record_dtmf(text)
            text = f"(keyed on the phone) {text}"
        else:
            self.ctx.record_caller_utterance(text)
        self.history.append({"role": "user", "content": text})
        lines: list[Speak] = []

        async def speak(item: Speak) -> None:
            lines.append(item)

        async def go_ahead() -> None:
            return None

        result = ReplyResult()
        await self.replier.run(
            self.history,
            speak,
            session_key="test-call",
            result=result,
            before_effects=before_effects or go_ahead,
        )
        self.history.append({"role": "assistant", "content": " ".join(i.text for i in lines)})
        return Reply(lines, result)


def open_flow_call(
    factory: sessionmaker[Session],
    *,
    chat: ChatModel | None = None,
    prompts: PromptSet | None = None,
    **settings: Any,
) -> FlowCall:
    ctx = seed_and_open_call(factory)
    executor = make_executor(factory)
    events: list[tuple[str, dict[str, Any]]] = []

    async def execute(request: ToolCall) -> ToolOutcome:
        return await executor.aexecute(ctx, request)

    replier = make_flow_replier(
        settings=tool_settings(**settings),
        prompts=prompts or default_prompt_set(),
        chat=chat or NoModel(),  # type: ignore[arg-type]
        ctx=ctx,
        execute_tool=execute,
        record_event=lambda kind, payload: events.append((kind, payload)),
    )
    return FlowCall(replier, ctx, executor, events)
