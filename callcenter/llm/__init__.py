"""The language-model stage: stream a reply (text and tool calls) for a conversation.

Use :func:`make_chat_model` to get the configured engine: the OpenAI-compatible client
when ``llm_base_url`` is set (vLLM in production), else the embedded llama.cpp model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.llm.base import (
    ChatEvent,
    ChatModel,
    LLMUnavailable,
    Message,
    StreamEnd,
    TextDelta,
    ToolCallRequest,
    ToolSchema,
)

if TYPE_CHECKING:
    from callcenter.settings import Settings

__all__ = [
    "ChatEvent",
    "ChatModel",
    "LLMUnavailable",
    "Message",
    "StreamEnd",
    "TextDelta",
    "ToolCallRequest",
    "ToolSchema",
    "make_chat_model",
]


def make_chat_model(settings: Settings) -> ChatModel:
    """Build the configured engine. The embedded one loads its model (blocking, ~1 s;
    assembling the GGUF from its packages the first time takes longer): call it from a
    thread in async code (``await asyncio.to_thread(make_chat_model, settings)``).
    """
    if settings.llm_base_url:
        from callcenter.llm.openai_compat import OpenAICompatChatModel

        return OpenAICompatChatModel.from_settings(settings)
    from callcenter.llm.llama_cpp import LlamaCppChatModel

    return LlamaCppChatModel.from_settings(settings)
