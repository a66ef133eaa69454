"""The vLLM client against the scripted OpenAI-compatible server, over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence

import httpx
import pytest

from callcenter.llm import make_chat_model
from callcenter.llm.base import ChatEvent, LLMUnavailable, StreamEnd, TextDelta, ToolCallRequest
from callcenter.llm.openai_compat import OpenAICompatChatModel
from callcenter.settings import load_settings
from callcenter.testing import Rule, ScriptedLLMServer, ScriptedToolCall

VERIFY_TOOL = {
    "type": "function",
    "function": {
        "name": "verify_identity",
        "description": "Check the caller's account number and PIN.",
        "parameters": {
            "type": "object",
            "properties": {"account_number": {"type": "string"}, "pin": {"type": "string"}},
            "required": ["account_number", "pin"],
        },
    },
}

RULES = [
    Rule(match="hours", reply="We are open from nine to five, Monday to Friday."),
    Rule(
        match="verify",
        role="user",
        reply="One moment.",
        tool_calls=[ScriptedToolCall("verify_identity", {"account_number": "1001", "pin": "4321"})],
    ),
    Rule(
        match="balance and.*payments",
        tool_calls=[
            ScriptedToolCall("get_balance", {"account_number": "1001"}),
            ScriptedToolCall("list_payments", {"account_number": "1001", "limit": 3}),
        ],
    ),
    Rule(match="broken", tool_calls=[ScriptedToolCall("pay", '{"amount": 12.5, "to": ')]),
    Rule(match='"verified": true', role="tool", reply="Thanks, you are verified."),
    Rule(match="story", reply=" ".join(f"word{i}" for i in range(200)), token_delay_s=0.02),
    Rule(match="server error", status=503),
    Rule(match="hang", stall_s=5.0, reply="too late"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(RULES) as running:
        yield running


@pytest.fixture
async def model(server: ScriptedLLMServer) -> AsyncIterator[OpenAICompatChatModel]:
    chat = OpenAICompatChatModel(base_url=server.base_url, model="scripted", timeout_s=1.0)
    yield chat
    await chat.close()


def user(text: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a bank agent."},
        {"role": "user", "content": text},
    ]


async def collect(
    model: OpenAICompatChatModel, messages: Sequence[dict[str, object]]
) -> list[ChatEvent]:
    return [event async for event in model.stream(messages, [VERIFY_TOOL], session_key="c1")]


async def test_text_streams_in_several_deltas(model: OpenAICompatChatModel) -> None:
    events = await collect(model, user("What are your hours?"))
    texts = [event.text for event in events if isinstance(event, TextDelta)]
    assert len(texts) > 3
    assert "".join(texts) == "We are open from nine to five, Monday to Friday."
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.finish_reason == "stop"
    assert end.completion_tokens and end.prompt_tokens


async def test_fragmented_tool_call_is_assembled(
    model: OpenAICompatChatModel, server: ScriptedLLMServer
) -> None:
    events = await collect(model, user("Please verify me, account 1001 PIN 4321"))
    calls = [event for event in events if isinstance(event, ToolCallRequest)]
    assert [(c.name, c.arguments) for c in calls] == [
        ("verify_identity", {"account_number": "1001", "pin": "4321"})
    ]
    assert calls[0].id.startswith("call_")
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "One moment."
    assert isinstance(events[-1], StreamEnd) and events[-1].finish_reason == "tool_calls"
    sent = server.requests[-1].body
    assert sent["tool_choice"] == "auto" and sent["tools"] == [VERIFY_TOOL]
    assert sent["stream"] is True


async def test_multiple_tool_calls_keep_their_order(model: OpenAICompatChatModel) -> None:
    events = await collect(model, user("my balance and my last payments"))
    calls = [event for event in events if isinstance(event, ToolCallRequest)]
    assert [(c.name, c.arguments) for c in calls] == [
        ("get_balance", {"account_number": "1001"}),
        ("list_payments", {"account_number": "1001", "limit": 3}),
    ]
    assert calls[0].id != calls[1].id


async def test_invalid_json_arguments_are_kept_raw(model: OpenAICompatChatModel) -> None:
    events = await collect(model, user("this one is broken"))
    (call,) = [event for event in events if isinstance(event, ToolCallRequest)]
    assert call.name == "pay"
    assert call.arguments == {}
    assert call.raw_arguments == '{"amount": 12.5, "to": '


async def test_tool_result_turn_and_history_are_sent_as_given(
    model: OpenAICompatChatModel, server: ScriptedLLMServer
) -> None:
    history = [
        *user("verify me"),
        {
            "role": "assistant",
            "content": "One moment.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "verify_identity", "arguments": '{"pin": "4321"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps({"verified": True})},
    ]
    events = await collect(model, history)
    assert (
        "".join(e.text for e in events if isinstance(e, TextDelta)) == "Thanks, you are verified."
    )
    assert server.requests[-1].messages == history


async def test_early_close_aborts_the_http_stream(
    model: OpenAICompatChatModel, server: ScriptedLLMServer
) -> None:
    stream = model.stream(user("tell me a story"), session_key="c1")
    seen = 0
    async for event in stream:
        if isinstance(event, TextDelta):
            seen += 1
            if seen == 3:
                break
    await stream.aclose()  # type: ignore[attr-defined]
    record = server.requests[-1]
    assert await asyncio.to_thread(record.finished.wait, 5.0)
    assert record.disconnected and not record.completed
    assert record.chunks_sent < 50  # of 200 words: the server stopped sending


async def test_http_error_is_llm_unavailable(model: OpenAICompatChatModel) -> None:
    with pytest.raises(LLMUnavailable, match="503"):
        await collect(model, user("server error please"))


async def test_stalled_server_times_out_as_llm_unavailable(model: OpenAICompatChatModel) -> None:
    with pytest.raises(LLMUnavailable, match="timed out"):
        await collect(model, user("hang"))


async def test_unreachable_server_is_llm_unavailable() -> None:
    chat = OpenAICompatChatModel(base_url="http://127.0.0.1:9/v1", model="m", max_retries=0)
    with pytest.raises(LLMUnavailable, match="could not be reached"):
        await collect(chat, user("hello"))
    await chat.close()


def test_models_and_non_streaming_completion(server: ScriptedLLMServer) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        models = client.get("/models").json()
        assert models["data"][0]["id"] == "scripted"
        reply = client.post(
            "/chat/completions", json={"model": "m", "messages": user("verify me")}
        ).json()
    message = reply["choices"][0]["message"]
    assert reply["choices"][0]["finish_reason"] == "tool_calls"
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {
        "account_number": "1001",
        "pin": "4321",
    }


def test_sse_wire_format_matches_openai(server: ScriptedLLMServer) -> None:
    body = {"model": "m", "stream": True, "messages": user("verify me")}
    with httpx.Client(base_url=server.base_url) as client:
        lines = client.post("/chat/completions", json=body).text.split("\n\n")
    payloads = [line.removeprefix("data: ") for line in lines if line]
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    fragments = [
        c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert len(fragments) > 3
    assert json.loads("".join(fragments))["pin"] == "4321"


def test_max_tokens_truncates_with_finish_reason_length(server: ScriptedLLMServer) -> None:
    body = {"model": "m", "max_tokens": 5, "messages": user("tell me a story")}
    with httpx.Client(base_url=server.base_url) as client:
        reply = client.post("/chat/completions", json=body).json()
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["choices"][0]["message"]["content"] == "word0 word1 word2 word3 word4"


def test_rule_with_times_gives_way_to_the_next_rule() -> None:
    rules = [Rule(match="hi", reply="first", times=1), Rule(match="hi", reply="again")]
    with ScriptedLLMServer(rules) as running, httpx.Client(base_url=running.base_url) as client:
        replies = [
            client.post("/chat/completions", json={"messages": user("hi")}).json() for _ in range(2)
        ]
    assert [r["choices"][0]["message"]["content"] for r in replies] == ["first", "again"]
    assert [r.rule_index for r in running.requests] == [0, 1]


async def test_factory_builds_the_http_client_when_a_base_url_is_set(
    server: ScriptedLLMServer,
) -> None:
    settings = load_settings(llm_base_url=server.base_url, llm_model="scripted")
    chat = make_chat_model(settings)
    assert isinstance(chat, OpenAICompatChatModel)
    events = [event async for event in chat.stream(user("what are your hours"))]
    assert "nine to five" in "".join(e.text for e in events if isinstance(e, TextDelta))
    await chat.close()
