"""A caller who only presses keys completes every task that needs no free words."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.dialogue.flows import make_flow_replier
from callcenter.dialogue.flows.keypad import KeypadLines
from callcenter.dialogue.prompts import default_prompt_set
from callcenter.store.models import Callback, CardStatus
from callcenter.tools.base import ToolCall, ToolOutcome
from tests.dialogue.flows.harness import FlowCall, NoModel
from tests.tools.helpers import account, make_executor, seed_and_open_call, tool_settings


@pytest.fixture
def keypad_call(db_factory: sessionmaker[Session]) -> FlowCall:
    ctx = seed_and_open_call(db_factory)
    executor = make_executor(db_factory)

    async def execute(request: ToolCall) -> ToolOutcome:
        return await executor.aexecute(ctx, request)

    replier = make_flow_replier(
        settings=tool_settings(flow_intent_model=False),
        prompts=default_prompt_set(),
        chat=NoModel(),  # type: ignore[arg-type]
        ctx=ctx,
        execute_tool=execute,
        record_event=lambda _kind, _payload: None,
        keypad=lambda: True,
    )
    return FlowCall(replier, ctx, executor)


def test_keypad_lines_say_which_keys_to_press() -> None:
    keypad = False
    lines = KeypadLines(default_prompt_set(), lambda: keypad)
    assert "You can say it" in lines.render("ask_account_number")
    assert "Press 1" not in lines.render("confirm_block_card", reason="lost")
    keypad = True
    assert "type your account number" in lines.render("ask_account_number")
    confirm = " ".join(text for text, _ in lines.render_parts("confirm_block_card", reason="lost"))
    assert confirm.endswith("Is that right? Press 1 for yes, or 2 for no.")


def test_balance_then_goodbye_by_keys_alone(keypad_call: FlowCall) -> None:
    reply = keypad_call.say("1", keyed=True)  # the menu: balance
    assert "type your account number" in reply.text
    reply = keypad_call.say("1001", keyed=True)
    assert "type your PIN" in reply.text
    reply = keypad_call.say("4321", keyed=True)
    assert "2,417.35" in reply.text and "Press 1 for yes, or 2 for no." in reply.text
    reply = keypad_call.say("2", keyed=True)
    assert reply.result.action == "end_call"


def test_block_a_stolen_card_by_keys_alone(
    keypad_call: FlowCall, db_factory: sessionmaker[Session]
) -> None:
    keypad_call.say("3", keyed=True)
    keypad_call.say("1002", keyed=True)
    reply = keypad_call.say("8642", keyed=True)
    assert "Press 1 if it was lost, or 2 if it was stolen." in reply.text
    reply = keypad_call.say("2", keyed=True)
    assert "reported as stolen" in reply.text and "Press 1 for yes" in reply.text
    reply = keypad_call.say("1", keyed=True)
    assert "blocked your card" in reply.text
    assert account(db_factory, "1002").card_status == CardStatus.blocked_stolen


def test_a_call_back_by_keys_alone(
    keypad_call: FlowCall, db_factory: sessionmaker[Session]
) -> None:
    reply = keypad_call.say("4", keyed=True)
    assert "Press 1 for later today" in reply.text
    reply = keypad_call.say("2", keyed=True)
    assert "tomorrow morning" in reply.text
    keypad_call.say("1", keyed=True)
    with db_factory() as session:
        row = session.scalar(select(Callback).where(Callback.call_id == keypad_call.ctx.call_id))
        assert row is not None and row.requested_for == "tomorrow morning"
