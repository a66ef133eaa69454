"""Account operations through tool calling, with the policy enforced in code.

The call session uses::

    tools = ToolService(session_factory, settings)  # once per process (SessionServices.tools)
    tools.schemas()                                 # for ChatModel.stream(..., tools=...)
    ctx = CallContext(call_id=call.id, caller_number=call.from_number)
    ctx.record_caller_utterance(text, confidence=0.9, turn_seq=3)  # every final transcript
    ctx.record_dtmf("4")                            # every key press
    outcome = await tools.execute(ctx, tool_call_request, turn_seq=4)
    history.append(outcome.message())               # role "tool"
    outcome.action  # "continue" | "transfer" | "end_call"; outcome.reason says why
"""

from callcenter.tools.base import ToolOutcome, ToolResult, ToolRun, ToolSpec
from callcenter.tools.builtin import BUILTIN_TOOLS
from callcenter.tools.context import CallContext, CallerInput, VerifiedIdentity
from callcenter.tools.executor import ToolExecutor
from callcenter.tools.registry import ToolSet, load_toolset
from callcenter.tools.service import ToolService

__all__ = [
    "BUILTIN_TOOLS",
    "CallContext",
    "CallerInput",
    "ToolExecutor",
    "ToolOutcome",
    "ToolResult",
    "ToolRun",
    "ToolService",
    "ToolSet",
    "ToolSpec",
    "VerifiedIdentity",
    "load_toolset",
]
