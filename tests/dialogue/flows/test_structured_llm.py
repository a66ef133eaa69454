"""The capable-model path over real HTTP: intents by vLLM structured output, knowledge-base
answers phrased by the model, every number checked against the article."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from callcenter.dialogue.flows.understanding import INTENT_SCHEMA, by_model
from callcenter.llm.base import LLMUnavailable
from callcenter.llm.openai_compat import OpenAICompatChatModel
from callcenter.testing import Rule, ScriptedLLMServer
from tests.dialogue.flows.harness import open_flow_call

RULES = [
    # Intent classification (the system prompt says "Classify").
    Rule(match=r"coffee machine", reply='{"intent": "other"}'),
    Rule(match=r"money situation", reply='{"intent": "balance"}'),
    Rule(match=r"off the schema", reply='{"intent": "pizza"}'),
    # Grounded phrasing: the article is in the system prompt, the question is the user's.
    Rule(match=r"wire transfer", reply="Sending a domestic wire costs 25 dollars."),
    Rule(match=r"overdraft", reply="An overdraft costs 45 dollars, charged every time."),
]


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(RULES) as running:
        yield running


def model(server: ScriptedLLMServer) -> OpenAICompatChatModel:
    return OpenAICompatChatModel(base_url=server.base_url, model="scripted")


def test_structured_output_request_carries_the_schema(server: ScriptedLLMServer) -> None:
    chat = model(server)
    reading = asyncio.run(by_model(chat, "what's my money situation", session_key="c1"))
    assert (reading.intent, reading.source) == ("balance", "model")
    body = server.requests[-1].body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == INTENT_SCHEMA
    assert body.get("stream") in (None, False)


def test_a_reply_outside_the_schema_is_refused_not_trusted(server: ScriptedLLMServer) -> None:
    chat = model(server)
    # The scripted server (like vLLM) cannot answer outside the schema: HTTP 400.
    with pytest.raises(LLMUnavailable, match="400"):
        asyncio.run(
            chat.complete_json([{"role": "user", "content": "off the schema"}], INTENT_SCHEMA)
        )
    reading = asyncio.run(by_model(chat, "off the schema", session_key="c1"))
    assert reading.intent is None and reading.source == "model_error"


async def test_unplaced_turn_goes_to_the_model_and_starts_the_flow(
    server: ScriptedLLMServer, db_factory: sessionmaker[Session]
) -> None:
    call = open_flow_call(db_factory, chat=model(server))
    reply = await call.turn("What's my money situation looking like")
    # The model's guess is checked with the caller before anything is done with it.
    assert "you'd like help with your balance. Is that right?" in reply.text
    decision = call.events[-1][1]
    assert decision["source"] == "model" and decision["intent"] == "balance"
    reply = await call.turn("yes")
    assert "account number" in reply.text


async def test_model_phrases_knowledge_answers_and_the_guard_checks_numbers(
    server: ScriptedLLMServer, db_factory: sessionmaker[Session]
) -> None:
    call = open_flow_call(db_factory, chat=model(server), flow_phrasing="model")
    reply = await call.turn("How much is a wire transfer?")
    assert "25 dollars" in reply.text
    assert any(line.from_model for line in reply.lines)
    # The model invents a fee the article does not state: the caller never hears it.
    reply = await call.turn("What does an overdraft cost?")
    assert "45" not in reply.text and "colleague" in reply.text
    assert ("guarded", {"clause": "[withheld]", "why": "ungrounded"}) in call.events


async def test_a_statement_sharing_a_word_with_an_article_is_not_answered_with_it(
    server: ScriptedLLMServer, db_factory: sessionmaker[Session]
) -> None:
    call = open_flow_call(db_factory, chat=model(server))
    # "branch" is in the branches article, but this is no question: the model reads it.
    reply = await call.turn("The coffee machine in your branch is broken")
    assert call.events[-1][1]["source"] == "model"
    assert "Boston" not in reply.text and "What would you like to do?" in reply.text
