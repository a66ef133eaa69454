"""The embedded engine with the REAL Qwen2.5-Coder-0.5B model (greedy, so deterministic)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from callcenter.llm import make_chat_model
from callcenter.llm.base import ChatEvent, LLMUnavailable, StreamEnd, TextDelta, ToolCallRequest
from callcenter.llm.llama_cpp import LlamaCppChatModel
from callcenter.llm.model_files import embedded_model_path
from callcenter.settings import load_settings

pytestmark = pytest.mark.models

SYSTEM = {"role": "system", "content": "You are a helpful assistant. Answer in one short sentence."}
BANK = {
    "role": "system",
    "content": "You are the phone agent of Acme Bank. Keep answers short.",
}
VERIFY = {
    "type": "function",
    "function": {
        "name": "verify_identity",
        "description": "Verify the caller with their account number and 4-digit PIN.",
        "parameters": {
            "type": "object",
            "properties": {
                "account_number": {"type": "string", "description": "The account number"},
                "pin": {"type": "string", "description": "The 4-digit PIN"},
            },
            "required": ["account_number", "pin"],
        },
    },
}
BALANCE = {
    "type": "function",
    "function": {
        "name": "get_balance",
        "description": "Balance of the verified caller's account.",
        "parameters": {"type": "object", "properties": {}},
    },
}


@pytest.fixture(scope="session")
def engine() -> Iterator[LlamaCppChatModel]:
    model = LlamaCppChatModel(
        embedded_model_path(load_settings().cache_dir), temperature=0.0, max_tokens=48
    )
    yield model
    asyncio.run(model.close())


async def collect(
    engine: LlamaCppChatModel,
    messages: Sequence[dict[str, Any]],
    tools: Sequence[dict[str, Any]] = (),
    key: str | None = None,
) -> list[ChatEvent]:
    return [event async for event in engine.stream(messages, tools, session_key=key)]


def text_of(events: Sequence[ChatEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def user(text: str, system: dict[str, str] = SYSTEM) -> list[dict[str, Any]]:
    return [system, {"role": "user", "content": text}]


async def test_streams_text_for_a_simple_question(engine: LlamaCppChatModel) -> None:
    events = await collect(engine, user("What is the capital of France?"))
    assert sum(isinstance(event, TextDelta) for event in events) > 2  # streamed, not in one go
    assert "Paris" in text_of(events)
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.finish_reason == "stop"
    assert end.completion_tokens and end.prompt_tokens


async def test_returns_a_tool_call_with_the_spoken_numbers(engine: LlamaCppChatModel) -> None:
    messages = user("My account number is 1001 and my PIN is 4321, please verify me.", system=BANK)
    events = await collect(engine, messages, [VERIFY, BALANCE], key="verify")
    calls = [event for event in events if isinstance(event, ToolCallRequest)]
    assert [call.name for call in calls] == ["verify_identity"]
    arguments = {key: str(value) for key, value in calls[0].arguments.items()}
    assert arguments == {"account_number": "1001", "pin": "4321"}
    assert "tool_call" not in text_of(events) and "{" not in text_of(events)
    assert isinstance(events[-1], StreamEnd) and events[-1].finish_reason == "tool_calls"


async def test_early_close_stops_generation(engine: LlamaCppChatModel) -> None:
    stream = engine.stream(user("Count from one to fifty in words, separated by commas."))
    deltas = 0
    async for event in stream:
        if isinstance(event, TextDelta):
            deltas += 1
            if deltas == 3:
                break
    await stream.aclose()  # type: ignore[attr-defined]
    stats = engine.last_stats
    assert stats.cancelled
    # Tokens already queued when we stopped reading, plus at most the one in flight.
    assert stats.completion_tokens < 12 < engine.max_tokens
    # The context is free again at once.
    assert "Paris" in text_of(await collect(engine, user("What is the capital of France?")))


async def test_restored_session_state_answers_like_a_fresh_prompt(
    engine: LlamaCppChatModel,
) -> None:
    conversation_a = [*user("Name a fruit that is yellow.")]
    first = text_of(await collect(engine, conversation_a, key="a"))
    conversation_a.append({"role": "assistant", "content": first})
    conversation_a.append({"role": "user", "content": "And one that is red?"})
    # Another call takes the context in between.
    await collect(engine, user("What is two plus two?"), key="b")
    restores = engine.sessions.restores
    restored = await collect(engine, conversation_a, key="a")
    assert engine.sessions.restores == restores + 1
    assert engine.last_stats.reused_tokens > len(engine.prompt_tokens(conversation_a[:2], ()))

    engine.reset()
    fresh = await collect(engine, conversation_a, key="a-fresh")
    assert engine.last_stats.reused_tokens == 0
    assert text_of(restored) == text_of(fresh)
    assert text_of(fresh)


async def test_warm_caches_the_system_prompt_and_tools(engine: LlamaCppChatModel) -> None:
    engine.reset()
    await engine.warm([BANK], [VERIFY, BALANCE], session_key="warm-call")
    prefix = engine.render([BANK], [VERIFY, BALANCE], add_generation_prompt=False)
    warmed = len(engine.llama.tokenize(prefix.encode(), add_bos=False, special=True))
    await collect(engine, user("Hello?", system=BANK), [VERIFY, BALANCE], key="warm-call")
    assert engine.last_stats.reused_tokens >= warmed


def test_long_history_is_trimmed_by_whole_turns(engine: LlamaCppChatModel) -> None:
    messages: list[dict[str, Any]] = [BANK]
    for turn in range(60):
        messages += [
            {"role": "user", "content": f"Question {turn}: " + "please tell me more. " * 12},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": f"c{turn}",
                        "type": "function",
                        "function": {"name": "get_balance", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": f"c{turn}", "content": '{"balance": 12.5}'},
            {"role": "assistant", "content": f"Answer {turn}."},
        ]
    messages.append({"role": "user", "content": "Last question."})
    tokens = engine.prompt_tokens(messages, [VERIFY, BALANCE])
    assert len(tokens) <= engine.n_ctx - engine.max_tokens
    prompt = engine.llama.detokenize(tokens, special=True).decode()
    assert prompt.startswith("<|im_start|>system\nYou are the phone agent of Acme Bank.")
    assert prompt.endswith("Last question.<|im_end|>\n<|im_start|>assistant\n")
    assert "Question 0:" not in prompt and "Question 59:" in prompt
    # Every tool result kept still follows its call (a turn is dropped whole).
    history = prompt.split("</tools>", 1)[1].split("<|im_end|>", 1)[1]
    assert history.count("<tool_response>") == history.count("<tool_call>") > 0


async def test_concurrent_calls_share_the_model_one_at_a_time(engine: LlamaCppChatModel) -> None:
    questions = ["What is the capital of France?", "What is the capital of Italy?"]
    alone = [
        text_of(await collect(engine, user(q), key=f"alone-{i}")) for i, q in enumerate(questions)
    ]
    together = await asyncio.gather(
        *(collect(engine, user(q), key=f"together-{i}") for i, q in enumerate(questions))
    )
    assert [text_of(events) for events in together] == alone
    assert "Paris" in alone[0] and "Rome" in alone[1]


async def test_prompt_that_cannot_fit_is_llm_unavailable(engine: LlamaCppChatModel) -> None:
    huge = {"role": "system", "content": "Be nice. " * 5000}
    with pytest.raises(LLMUnavailable, match="does not fit"):
        await collect(engine, user("Hi", system=huge))


async def test_factory_builds_the_embedded_engine_without_a_base_url() -> None:
    chat = make_chat_model(load_settings(llm_base_url=""))
    assert isinstance(chat, LlamaCppChatModel)
    await chat.close()


def test_schema_constrained_reply_is_always_a_valid_intent(engine: LlamaCppChatModel) -> None:
    from callcenter.dialogue.flows.understanding import INTENT_SCHEMA, INTENTS, by_model

    # A turn no keyword rule places; whatever the 0.5B model thinks, the grammar only lets
    # it write {"intent": <one of the enum>}.
    for text in ("Could you sort out my money thing", "Hmm, I'm not sure", "Pizza?"):
        data = asyncio.run(
            engine.complete_json(
                [{"role": "user", "content": text}], INTENT_SCHEMA, session_key="t", max_tokens=16
            )
        )
        assert set(data) == {"intent"} and data["intent"] in INTENTS, data
    reading = asyncio.run(by_model(engine, "I would like to know how much I have", session_key="t"))
    assert reading.source == "model" and reading.intent in INTENTS
