"""Turn understanding by rules: many phrasings of each task, as tiny ASR writes them too."""

from __future__ import annotations

import pytest

from callcenter.dialogue.flows.understanding import by_rules


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("I'd like to check my balance, please.", "balance"),
        ("I'd like to kick my balance, please.", "balance"),
        ("Just tell me how much money is in my account.", "balance"),
        ("How much do I have?", "balance"),
        ("What are my recent transactions?", "transactions"),
        ("What are my reasons to transaction?", "transactions"),
        ("Could you read me my latest transactions?", "transactions"),
        ("What did I spend last week?", "transactions"),
        ("I lost my card and need to block it.", "block_card"),
        ("My card was stolen, please block it.", "block_card"),
        ("I can't find my debit card.", "block_card"),
        ("I think somebody used my card without asking me.", "block_card"),
        ("I moved house and need to change my address.", "change_address"),
        ("I need to update my postal address.", "change_address"),
        ("I want to pay my electricity bill.", "payment"),
        ("I'd like to make a payment of twenty five dollars to Metro Transit.", "payment"),
        ("Can someone call me back tomorrow afternoon?", "callback"),
        ("Please call me back at 3 pm.", "callback"),
        ("I want to talk to a real person please.", "transfer"),
        ("Can I speak with an agent?", "transfer"),
        ("No, that's all, thank you, goodbye.", "goodbye"),
        ("What are your opening hours?", "question"),
        ("Do you charge a monthly fee on checking accounts?", "question"),
        ("Where is your nearest branch?", "question"),
        ("Could you tell me what you can help me with?", "question"),
        # Other phrasings callers use.
        ("What's in my checking account?", "balance"),
        ("Can you check how much I've got in my account", "balance"),
        ("What charges went through recently?", "transactions"),
        ("Did my paycheck come in?", "transactions"),
        ("I've moved.", "change_address"),
        ("Can you change where you send my statements?", "change_address"),
        ("Transfer fifty dollars to Metro Transit.", "payment"),
        ("That's everything, thanks.", "goodbye"),
        ("I'm all done.", "goodbye"),
        ("Is there a fee for charges abroad?", "question"),
        ("Please lock my card.", "block_card"),
        ("My card once over and please lock it.", "block_card"),  # tiny.en, RP "was stolen"
    ],
)
def test_intents(said: str, intent: str) -> None:
    assert by_rules(said).intent == intent


def test_answers_and_keys() -> None:
    assert by_rules("yes").answer == "yes" and by_rules("yes").intent is None
    keyed = by_rules("(keyed on the phone) 1001")
    assert keyed.source == "keypad" and keyed.intent is None and keyed.answer is None
    assert by_rules("(keyed on the phone) 1").answer == "yes"
    assert by_rules("four three two one").intent is None
    # "Are you a human?" asks about the bot; it is not a request for a person.
    assert by_rules("Are you a human?").intent != "transfer"
