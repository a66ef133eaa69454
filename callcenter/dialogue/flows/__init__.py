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
from callcenter.llm.base import ChatModel, ToolCallRequest
from callcenter.settings import Settings
from callcenter.tools.base import ToolOutcome
from callcenter.tools.context import CallContext


def make_flow_replier(
    *,
    settings: Settings,
    prompts: PromptSet,
    chat: ChatModel,
    ctx: CallContext,
    execute_tool: Callable[[ToolCallRequest], Awaitable[ToolOutcome]],
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


__all__ = ["FlowReplier", "make_flow_replier"]
