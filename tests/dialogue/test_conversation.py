"""The conversation history across speculative caller turns that are taken back."""

from __future__ import annotations

from callcenter.dialogue.conversation import Conversation


def _answered(conversation: Conversation, caller: str, agent: str) -> None:
    conversation.add_caller(f"{conversation.take_unanswered()} {caller}".strip())
    conversation.last_user_answered = True  # the reply's audio went out
    conversation.add_heard(agent)


def test_a_withdrawn_speculation_does_not_merge_an_answered_turn_into_the_next() -> None:
    conversation = Conversation()
    _answered(conversation, "I lost it.", "I'll block your card now. Is that right?")
    # The caller pauses inside "Yes, please.": "Yeah." is recorded speculatively...
    merged = conversation.take_unanswered()
    entry = conversation.add_caller(f"{merged} Yeah.".strip())
    # ...then goes on talking, so it is taken back.
    conversation.take_back(entry, merged)
    merged = conversation.take_unanswered()
    conversation.add_caller(f"{merged} Yes, please.".strip())

    assert merged == ""
    assert conversation.history[-1] == {"role": "user", "content": "Yes, please."}
    users = [m["content"] for m in conversation.history if m["role"] == "user"]
    assert users == ["I lost it.", "Yes, please."]


def test_a_withdrawn_speculation_gives_back_the_unanswered_turn_it_absorbed() -> None:
    conversation = Conversation()
    conversation.add_caller("My account number is")  # never answered: a pause mid-thought
    merged = conversation.take_unanswered()
    entry = conversation.add_caller(f"{merged} one zero".strip())
    conversation.take_back(entry, merged)
    merged = conversation.take_unanswered()
    conversation.add_caller(f"{merged} one zero zero one.".strip())

    assert merged == "My account number is"
    users = [m["content"] for m in conversation.history if m["role"] == "user"]
    assert users == ["My account number is one zero zero one."]
