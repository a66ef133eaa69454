"""The free `llm` mode: every number the model speaks must come from a tool result, the
knowledge base, the admin's prompt or the caller (enforced on the reply, not asked for)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from callcenter.dialogue.guard import GROUNDED_SAFE_LINE
from callcenter.dialogue.reply import ReplyResult, ReplyRunner, Speak
from callcenter.llm.base import Message, TextDelta, ToolSchema
from callcenter.tools.base import ToolCall, ToolOutcome


class SaysText:
    """A model that answers every request with one fixed text, word by word."""

    def __init__(self, text: str) -> None:
        self.text = text

    async def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        session_key: str | None = None,
    ) -> AsyncIterator[TextDelta]:
        for word in self.text.split(" "):
            yield TextDelta(word + " ")


async def _no_tools(request: ToolCall) -> ToolOutcome:
    raise AssertionError(f"no tool expected, got {request.name}")


def reply(
    model_text: str, messages: Sequence[Message], articles: Sequence[str] = ()
) -> tuple[list[Speak], int]:
    spoken: list[Speak] = []
    guarded: list[int] = []

    async def speak(item: Speak) -> None:
        spoken.append(item)

    async def go() -> None:
        runner = ReplyRunner(
            SaysText(model_text),  # type: ignore[arg-type]
            [],
            _no_tools,
            grounding=lambda: articles,
            on_guarded=lambda: guarded.append(1),
        )

        async def confirmed() -> None:
            return None

        await runner.run(
            messages, speak, session_key="c", result=ReplyResult(), before_effects=confirmed
        )

    asyncio.run(go())
    return spoken, len(guarded)


SYSTEM: Message = {"role": "system", "content": "You are the bank's phone assistant."}


def test_an_invented_fee_is_replaced_by_the_safe_line_and_the_rest_dropped() -> None:
    messages = [SYSTEM, {"role": "user", "content": "How much is a wire transfer?"}]
    spoken, guarded = reply(
        "A wire transfer costs 30 dollars. It arrives the same day. Anything else?", messages
    )
    texts = [item.text for item in spoken]
    assert texts == [GROUNDED_SAFE_LINE]
    assert guarded == 1
    assert not any("30" in text for text in texts)


def test_numbers_from_the_article_the_caller_or_a_tool_result_are_spoken() -> None:
    article = "An outgoing domestic wire transfer costs 25 dollars."
    messages = [
        SYSTEM,
        {"role": "user", "content": "My account number is one zero zero one."},
        {"role": "tool", "content": '{"balance": "2417.35"}'},
    ]
    spoken, guarded = reply(
        "A wire costs twenty five dollars. Account 1001 has $2,417.35.",
        messages,
        articles=[article],
    )
    assert guarded == 0
    said = " ".join(item.text for item in spoken)
    assert " ".join(said.split()) == "A wire costs twenty five dollars. Account 1001 has $2,417.35."


def test_the_models_own_earlier_lines_do_not_ground_a_number() -> None:
    messages = [
        SYSTEM,
        {"role": "user", "content": "When do you open?"},
        {"role": "assistant", "content": "We open at 7 in the morning."},
        {"role": "user", "content": "Sorry, when?"},
    ]
    spoken, guarded = reply("We open at 7.", messages)
    assert guarded == 1
    assert [item.text for item in spoken] == [GROUNDED_SAFE_LINE]


def test_one_as_a_word_is_not_a_stated_number() -> None:
    spoken, guarded = reply(
        "One moment, I can connect you with one of our colleagues.",
        [SYSTEM, {"role": "user", "content": "Can I talk to someone?"}],
    )
    assert guarded == 0
    assert spoken and all(item.from_model for item in spoken)
