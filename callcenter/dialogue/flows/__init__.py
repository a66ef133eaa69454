"""Task flows: typed slots, turn understanding, the per-call engine, knowledge-base answers.

:func:`make_flow_replier` builds the one object a call session uses (see ``README.md``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from callcenter.dialogue.flows.keypad import KeypadLines
from callcenter.dialogue.flows.knowledge import KnowledgeBase
from callcenter.dialogue.flows.languages import FlowLanguages
from callcenter.dialogue.flows.replier import FlowReplier
from callcenter.dialogue.language import CallLanguage, prompts_in
from callcenter.dialogue.prompts import PromptSet
from callcenter.dialogue.replying import CallScope
from callcenter.llm.base import ChatModel
from callcenter.settings import Settings
from callcenter.tools.base import ToolCall, ToolOutcome
from callcenter.tools.context import CallContext


def make_flow_replier(
    *,
    settings: Settings,
    prompts: PromptSet,
    chat: ChatModel,
    ctx: CallContext,
    execute_tool: Callable[[ToolCall], Awaitable[ToolOutcome]],
    record_event: Callable[[str, dict[str, Any]], None],
    keypad: Callable[[], bool] = lambda: False,
    language: CallLanguage | None = None,
) -> FlowReplier:
    """One call's flow replier, from the prompt versions the call started with."""
    # Without translations (names "<prompt>.<language>") the set is the default language's.
    default = prompts_in(prompts, "en")
    multilingual = language is not None and language.multilingual
    # The default language's lines say keypad variants in keypad mode (and softer lines
    # to a frustrated caller, see flow_replier); other languages' lines do not yet.
    lines = KeypadLines(default, keypad)
    return FlowReplier(
        lines=lines,
        knowledge=KnowledgeBase.from_prompts(default),
        chat=chat,
        ctx=ctx,
        execute_tool=execute_tool,
        record_event=record_event,
        phrasing=settings.flow_phrasing,
        intent_model=settings.flow_intent_model,
        languages=(
            FlowLanguages(prompts, language, english=lines) if multilingual and language else None
        ),
    )


def flow_replier(scope: CallScope) -> FlowReplier:
    """The session's replier factory (``SessionServices.make_replier``) for task flows."""

    async def execute(request: ToolCall) -> ToolOutcome:
        return await scope.tools.execute(scope.tools_ctx, request, turn_seq=scope.conversation.seq)

    replier = make_flow_replier(
        settings=scope.settings,
        prompts=scope.prompts,
        chat=scope.chat,
        ctx=scope.tools_ctx,
        execute_tool=execute,
        record_event=scope.call_log.event,
        keypad=lambda: scope.preferences.keypad,
        language=scope.language,
    )
    soften_at = scope.settings.mood_soften_at
    if soften_at > 0:
        replier.lines.soft_when(lambda: scope.frustration() >= soften_at)
    return replier


__all__ = ["FlowReplier", "flow_replier", "make_flow_replier"]
