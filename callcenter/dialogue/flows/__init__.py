"""Task flows: typed slots, turn understanding, the per-call engine, knowledge-base answers.

:func:`make_flow_replier` builds the one object a call session uses (see ``README.md``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from callcenter.dialogue.flows.knowledge import KnowledgeBase
from callcenter.dialogue.flows.replier import FlowReplier
from callcenter.dialogue.flows.templates import FlowLines
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
) -> FlowReplier:
    """One call's flow replier, from the prompt versions the call started with."""
    return FlowReplier(
        lines=FlowLines(prompts),
        knowledge=KnowledgeBase.from_prompts(prompts),
        chat=chat,
        ctx=ctx,
        execute_tool=execute_tool,
        record_event=record_event,
        phrasing=settings.flow_phrasing,
        intent_model=settings.flow_intent_model,
    )


def flow_replier(scope: CallScope) -> FlowReplier:
    """The session's replier factory (``SessionServices.make_replier``) for task flows."""

    async def execute(request: ToolCall) -> ToolOutcome:
        return await scope.tools.execute(scope.tools_ctx, request, turn_seq=scope.conversation.seq)

    return make_flow_replier(
        settings=scope.settings,
        prompts=scope.prompts,
        chat=scope.chat,
        ctx=scope.tools_ctx,
        execute_tool=execute,
        record_event=scope.call_log.event,
    )


__all__ = ["FlowReplier", "flow_replier", "make_flow_replier"]
