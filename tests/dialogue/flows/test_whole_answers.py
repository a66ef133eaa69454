"""Which caller words wholly answer the flow's pending question (the end of turn ends a
pause after them at once; anything else waits out a thinking pause)."""

from __future__ import annotations

from callcenter.dialogue.end_of_turn import EndOfTurnPolicy
from tests.dialogue.flows.harness import FlowCall


def test_a_request_the_rules_read_is_whole_and_other_openings_are_not(call: FlowCall) -> None:
    # Most calls open with a task: waiting out a thinking pause after it costs every call.
    assert call.replier.answers("I'd like to check my balance, please.")
    assert call.replier.answers("I lost my card.")
    assert call.replier.answers("Can I speak to a person?")
    assert call.replier.answers("No, that's all. Goodbye.")
    assert not call.replier.answers("I'd like to check")
    assert not call.replier.answers("Hours please")  # a question may go on
    policy = EndOfTurnPolicy(min_silence_ms=450, max_silence_ms=1200, prompt_after_ms=3000)
    # ... and words that stop mid-sentence still wait for the rest.
    text = "I'd like to check my balance and"
    assert policy.verdict(0.9, text, answered=call.replier.answers(text)) == "unfinished"


def test_a_garbled_no_with_a_trailing_comma_is_a_whole_answer() -> None:
    policy = EndOfTurnPolicy(min_silence_ms=450, max_silence_ms=1200, prompt_after_ms=3000)
    # tiny.en's "No, no, no, no, no," for "No, that's all. Thank you, goodbye."
    assert policy.verdict(0.2, "No, no, no, no, no,", answered=True) == "finished"
    # A number read out with a breath after it may go on.
    assert policy.verdict(0.9, "one zero zero one,", answered=True) == "unfinished"


def test_digits_pin_and_a_yes_answer_the_questions_they_were_asked(call: FlowCall) -> None:
    call.say("What's my balance?")  # the agent asks for the account number
    assert call.replier.answers("one zero zero one")
    assert not call.replier.answers("one zero")  # fewer digits than any account number
    assert not call.replier.answers("my account number is")
    call.say("one zero zero one")  # the agent asks for the PIN or date of birth
    assert call.replier.answers("four three two one")
    assert call.replier.answers("March seventh nineteen eighty four")
    assert not call.replier.answers("four three")


def test_a_read_back_is_answered_by_yes_or_no_only(call: FlowCall) -> None:
    call.say("I lost my card")
    call.say("one zero zero one")
    reply = call.say("four three two one")
    assert "Is that right?" in reply.text  # the read-back of the block
    assert call.replier.asr_hint() == "yes_no"
    assert call.replier.answers("yes please")
    assert call.replier.answers("no")
    assert not call.replier.answers("well I")


def test_a_whole_answer_ends_the_turn_after_the_short_silence() -> None:
    policy = EndOfTurnPolicy(min_silence_ms=450, max_silence_ms=1200)
    # The model doubts (a phone-band digit string often sounds unfinished to it): the
    # words prove the answer is whole.
    assert policy.silence_ms(0.1, "one zero zero one", answered=True) == 450
    assert policy.silence_ms(0.1, "one zero zero one", answered=False) == 1200
    # Words that stop mid-sentence are never whole, whatever the flow reads in them.
    assert policy.verdict(0.9, "one zero zero one and", answered=True) == "unfinished"


def test_a_street_with_its_kind_and_a_short_town_are_whole_a_payee_is_not(
    call: FlowCall,
) -> None:
    call.say("I moved and need to change my address.")
    call.say("one zero zero one")
    call.say("four three two one")  # verified: the agent asks for the street
    assert call.replier.answers("12 Oak Street.")
    assert not call.replier.answers("12 Oak")  # "... Street" may follow
    call.say("12 Oak Street")  # the agent asks for the city
    assert call.replier.answers("Salem.")
    assert call.replier.answers("Salt Lake City")
    assert not call.replier.answers("well I think it's in the")
    call.say("Salem")
    call.say("Oregon")
    call.say("zero four one zero one")
    call.say("yes")
    call.say("I'd like to make a payment.")
    task = call.replier.state.task
    assert task is not None and task.awaiting == "payee"
    assert not call.replier.answers("Portland General")  # "... Electric" may follow
