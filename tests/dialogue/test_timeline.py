"""The call session's turn-taking on scripted timelines (virtual time, no models).

Each test places one call: the caller speaks when the script says, the scripted LLM and
tools answer, and the assertions read the agent's state, the events, what Twilio played,
and what reached the LLM and the call's record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from callcenter.dialogue.events import (
    AgentAudioSent,
    AgentClause,
    AgentState,
    CallerPaused,
    CallerText,
    CallerTurnEnded,
    Escalate,
    HangUp,
    Interrupted,
    PlaybackFinished,
)
from callcenter.dialogue.reply import ItemSink, ReplyResult, Speak
from callcenter.dialogue.replying import CallScope
from callcenter.llm.base import Message, ToolCallRequest
from tests.dialogue.timeline import Call, Speech, make_settings, place_call, run

HOURS = "We are open Monday to Friday, nine to five."
LONG = (
    "We have branches in the harbor district, downtown, and by the airport, "
    "and each one offers the full range of our services, Monday to Saturday, "
    "with advisers on hand for loans, savings, and business accounts."
)


def last_user(messages: Sequence[Message]) -> str:
    return str([m for m in messages if m["role"] == "user"][-1]["content"])


def answer_hours(messages: Sequence[Message]) -> str:
    return HOURS


def user_texts(call: Call) -> list[str]:
    return [str(m["content"]) for m in call.session.conversation.history if m["role"] == "user"]


def agent_texts(call: Call) -> list[str]:
    history = call.session.conversation.history
    return [str(m["content"]) for m in history if m["role"] == "assistant" and m["content"]]


def test_the_agent_answers_after_the_caller_finished() -> None:
    script = [Speech(500, 2500, "What are your opening hours?")]
    call = run(place_call(script, answer_hours, until_ms=7000))
    assert call.state_at(2400) == AgentState.listening  # the caller still has the floor
    assert call.state_at(3500) == AgentState.speaking
    assert call.state_at(6900) == AgentState.listening
    # The answer's audio went out only after the endpoint (2.5 s + 0.6 s), not at the pause.
    answer_audio = [ms for ms in call.at_ms(AgentAudioSent) if ms > 1000]
    assert answer_audio and answer_audio[0] >= 3100
    assert user_texts(call) == ["What are your opening hours?"]
    assert agent_texts(call)[-1] == HOURS  # fully played, so fully in the history
    finished = [e for e in call.of(PlaybackFinished) if e.text == HOURS]
    assert finished and not finished[0].interrupted
    clauses = [c.text for c in call.of(AgentClause)]
    assert clauses == ["Hello.", "We are open Monday to Friday,", "nine to five."]


def test_a_confirmed_speculation_transcribes_once_and_waits_for_the_endpoint() -> None:
    script = [Speech(500, 2500, "What are your opening hours?")]
    call = run(place_call(script, answer_hours, until_ms=6000))
    assert call.at_ms(CallerPaused) == [2700] and call.at_ms(CallerTurnEnded) == [3100]
    assert len(call.transcriber.hints) == 1  # the pause's transcript was used
    assert len(call.chat.requests) == 1
    # The LLM was asked during the endpointing silence, before the turn was confirmed.
    said = call.at_ms(CallerText)
    assert said and 2700 < said[0] < 3100
    timing = [p for kind, p in call.log.events if kind == "turn_timing"]
    assert timing and timing[0]["speculative_asr"] is True and timing[0]["asr_ms"] == 0.0


def test_an_abandoned_speculation_runs_no_tool_and_is_taken_back() -> None:
    # The caller pauses 400 ms (past the 200 ms pause, short of the 600 ms endpoint)
    # and goes on. The speculative reply wanted a tool: it must not have run.
    script = [
        Speech(500, 1500, "Block my card"),
        Speech(1900, 3000, "Block my card, no wait, what is my balance?"),
    ]

    def brain(messages: Sequence[Message]) -> ToolCallRequest | str:
        if "balance" in last_user(messages):
            return "Your balance needs verification first."
        return ToolCallRequest(id="c1", name="block_card", arguments={})

    call = run(place_call(script, brain, until_ms=7000, tools={"block_card": "Card blocked."}))
    assert call.tools.ran == []
    assert call.log.dropped, "the speculative caller turn was taken back"
    assert user_texts(call) == ["Block my card, no wait, what is my balance?"]
    assert list(call.log.caller_turns.values()) == [user_texts(call)[0]]
    assert not any("blocked" in text.lower() for text in agent_texts(call))
    assert call.state_at(4000) == AgentState.speaking


def test_a_turn_the_agent_had_not_started_answering_is_merged_into_the_next() -> None:
    # A slow LLM and no backchannel: the first turn's answer has no audio yet when the
    # caller goes on.
    script = [Speech(500, 1500, "I want to"), Speech(2400, 3400, "check my balance")]
    settings = make_settings(backchannel_after_ms=0)
    call = run(place_call(script, last_user, until_ms=9000, first_token_s=2.0, settings=settings))
    assert user_texts(call) == ["I want to check my balance"]
    assert last_user(call.chat.requests[-1]) == "I want to check my balance"
    assert agent_texts(call)[-1] == "I want to check my balance"


def test_barge_in_clears_and_keeps_only_what_was_heard() -> None:
    script = [Speech(500, 1500, "Tell me about your branches."), Speech(4000, 5000, "Stop.")]

    def brain(messages: Sequence[Message]) -> str:
        return LONG if "branches" in last_user(messages) else "Sure."

    call = run(place_call(script, brain, until_ms=9000))
    assert [e.cause for e in call.of(Interrupted)] == ["speech"]
    # The agent paused at once (speech onset 4000 ms + 120 ms, with a 60 ms lead left at
    # Twilio), and the clear came once the speech was long enough to be a real barge-in.
    played = [round((t - call.start) * 1000) for t in call.twilio.played_at]
    assert [ms for ms in played if 3000 < ms < 4000] and not [
        ms for ms in played if 4250 < ms < 5000
    ]
    assert call.twilio.clears and 4000 <= (call.twilio.clears[0] - call.start) * 1000 < 4700
    cut = [e for e in call.of(PlaybackFinished) if e.interrupted]
    assert len(cut) == 1
    heard = cut[0].heard_text
    assert heard and LONG.startswith(heard) and len(heard) < len(LONG)
    assert heard in agent_texts(call) and LONG not in agent_texts(call)
    assert "barge_in" in call.log.kinds()


def test_caller_speech_after_the_agent_finished_is_not_a_barge_in() -> None:
    script = [Speech(500, 1500, "Hours?"), Speech(6000, 7000, "Thanks.")]
    call = run(place_call(script, answer_hours, until_ms=9000))
    assert call.of(Interrupted) == [] and call.twilio.clears == []


def test_repeated_low_confidence_hands_the_call_to_a_person() -> None:
    script = [
        Speech(500, 1000, "mumble", confidence=0.2),
        Speech(4500, 5000, "mumble", confidence=0.1),
        Speech(8500, 9000, "mumble", confidence=0.3),
    ]
    call = run(place_call(script, lambda _m: "Sorry?", until_ms=14000))
    assert call.transfers == ["misunderstanding"]
    assert [e.reason for e in call.of(Escalate)] == ["misunderstanding"]
    assert "escalation" in call.log.kinds()


def test_a_clear_turn_resets_the_low_confidence_count() -> None:
    script = [
        Speech(500, 1000, "mumble", confidence=0.2),
        Speech(4500, 5000, "mumble", confidence=0.1),
        Speech(8500, 9000, "what are your hours", confidence=0.9),
        Speech(12500, 13000, "mumble", confidence=0.2),
    ]
    call = run(place_call(script, lambda _m: "Sorry?", until_ms=17000))
    assert call.transfers == []


def test_asking_for_a_person_escalates_without_asking_the_llm() -> None:
    script = [Speech(500, 2000, "I want to talk to a real person.")]
    call = run(place_call(script, answer_hours, until_ms=8000))
    assert call.transfers == ["caller_request"]
    assert call.chat.requests == []
    assert [s.text for s in call.of(CallerText)] == ["I want to talk to a real person."]


def test_silence_is_re_prompted_then_the_agent_says_goodbye_and_hangs_up() -> None:
    settings = make_settings(silence_reprompt_s=3.0, silence_max_reprompts=2)
    call = run(place_call([], answer_hours, until_ms=20000, settings=settings))
    reprompts = [p["count"] for kind, p in call.log.events if kind == "reprompt"]
    assert reprompts == [1, 2]
    assert len(call.hangups) == 1
    assert call.of(HangUp) == [HangUp()]
    lines = [t.get("text") for t in call.log.agent_turns.values()]
    assert lines[-1] is not None and "end the call" in lines[-1]


def test_caller_speech_keeps_the_silence_clock_from_running_out() -> None:
    settings = make_settings(silence_reprompt_s=3.0, silence_max_reprompts=2)
    script = [Speech(2000, 2600, "Hours?"), Speech(6000, 6600, "And Saturday?")]
    call = run(place_call(script, answer_hours, until_ms=9000, settings=settings))
    assert "reprompt" not in call.log.kinds()
    assert call.hangups == []


def test_a_caller_who_answers_after_a_re_prompt_gets_the_full_count_again() -> None:
    settings = make_settings(silence_reprompt_s=3.0, silence_max_reprompts=1)
    # Silent past one re-prompt, answers, then silent again: re-prompted once more
    # (count 1 again) before the goodbye, not hung up on at the second silence.
    script = [Speech(5000, 5600, "Hours?")]
    call = run(place_call(script, answer_hours, until_ms=22000, settings=settings))
    reprompts = [p["count"] for kind, p in call.log.events if kind == "reprompt"]
    assert reprompts == [1, 1]
    assert len(call.hangups) == 1


def test_keyed_digits_end_with_a_pause_or_a_hash() -> None:
    keys = {600: "1", 700: "0", 800: "0", 900: "1"}  # no '#': the 2.5 s pause ends the run
    call = run(place_call([], last_user, until_ms=6000, keys=keys))
    said = call.of(CallerText)
    assert [(s.text, s.source) for s in said] == [("(keyed on the phone) 1001", "dtmf")]
    assert 3300 <= call.at_ms(CallerText)[0] < 3500
    hashed = run(place_call([], last_user, until_ms=3000, keys={600: "4", 700: "2", 800: "#"}))
    assert [s.text for s in hashed.of(CallerText)] == ["(keyed on the phone) 42"]
    assert hashed.at_ms(CallerText)[0] < 900


def test_zero_alone_asks_for_a_person_and_star_erases() -> None:
    call = run(place_call([], last_user, until_ms=6000, keys={600: "0", 700: "#"}))
    assert call.transfers == ["dtmf_zero"]
    erased = run(
        place_call([], last_user, until_ms=3000, keys={600: "9", 700: "*", 800: "7", 900: "#"})
    )
    assert [s.text for s in erased.of(CallerText)] == ["(keyed on the phone) 7"]


def test_a_key_pressed_while_the_agent_talks_interrupts_it() -> None:
    script = [Speech(500, 1500, "Tell me about your branches.")]
    call = run(place_call(script, lambda _m: LONG, until_ms=6000, keys={4000: "5"}))
    assert [e.cause for e in call.of(Interrupted)] == ["dtmf"]


def test_the_asr_is_told_to_expect_digits_only_when_asked_for_them() -> None:
    script = [
        Speech(500, 1000, "Hi"),
        Speech(5000, 5500, "one zero zero one"),
        Speech(9500, 10000, "okay"),
    ]
    replies = iter(["What is your account number?", "Thanks, we are shipping it.", "Bye."])
    call = run(place_call(script, lambda _m: next(replies), until_ms=13000))
    assert call.transcriber.hints == [None, "digits", None]  # "shipping" is not "pin"


def test_a_tool_line_is_spoken_verbatim_and_its_action_is_taken() -> None:
    script = [Speech(500, 1500, "Please hang up.")]
    end_call = ToolCallRequest(id="c1", name="end_call", arguments={})
    call = run(
        place_call(script, lambda _m: end_call, until_ms=6000, tools={"end_call": "Bye now."})
    )
    assert [name for name, _ in call.tools.ran] == ["end_call"]
    assert agent_texts(call)[-1] == "One moment. Bye now."  # the filler, then the line
    assert len(call.hangups) == 1


def test_a_slow_answer_is_acknowledged_once() -> None:
    script = [Speech(500, 1500, "What are your hours?")]
    call = run(place_call(script, lambda _m: f"Sure. {HOURS}", until_ms=8000, first_token_s=1.5))
    spoken = agent_texts(call)[-1]
    assert spoken == f"Got it. {HOURS}"  # the backchannel, then the answer without "Sure."
    assert ("dropped_acknowledgement", {"clause": "Sure."}) in call.log.events
    timing = [p for kind, p in call.log.events if kind == "turn_timing"]
    assert timing and timing[0]["backchannel"] is True


def test_invented_account_data_is_withheld_from_an_unverified_caller() -> None:
    script = [Speech(500, 1500, "What is my balance?")]
    brain = lambda _m: "Your balance is $1,001.50. It is in savings."  # noqa: E731
    call = run(place_call(script, brain, until_ms=8000))
    spoken = agent_texts(call)[-1]
    assert "1,001" not in spoken and "verified your identity" in spoken
    assert "guarded" in call.log.kinds()


def test_a_number_no_source_states_is_withheld_in_the_free_llm_mode() -> None:
    script = [Speech(500, 1500, "How many branches do you have?")]
    brain = lambda _m: "We have 37 branches in the city. Most have parking."  # noqa: E731
    call = run(place_call(script, brain, until_ms=8000))
    spoken = agent_texts(call)[-1]
    assert "37" not in spoken and "parking" not in spoken
    assert "don't have that information" in spoken
    assert ("guarded", {"clause": "[withheld]", "why": "ungrounded"}) in call.log.events


class KeyedReplier:
    """Another replier plugged in through the services (as task flows are): it waits for
    the turn to be confirmed before its effect, and tells the ASR what it expects."""

    def __init__(self, scope: CallScope) -> None:
        self.scope = scope
        self.effects: list[str] = []

    async def run(
        self,
        messages: Sequence[Message],
        speak: ItemSink,
        *,
        session_key: str,
        result: ReplyResult,
        before_effects: Callable[[], Awaitable[None]],
    ) -> None:
        await speak(Speak("When were you born?", from_model=True))
        await before_effects()
        self.effects.append(last_user(messages))

    def asr_hint(self) -> str | None:
        asked = self.scope.conversation.last_agent_text() or ""
        return "date" if "born" in asked else None

    def answers(self, text: str) -> bool:
        return False

    def reprompt(self) -> str | None:
        return None

    def pending_question(self) -> str | None:
        return None


def test_a_replier_plugged_into_the_services_answers_the_call() -> None:
    repliers: list[KeyedReplier] = []

    def make(scope: CallScope) -> KeyedReplier:
        repliers.append(KeyedReplier(scope))
        return repliers[-1]

    script = [Speech(500, 1500, "Change my address."), Speech(5000, 5500, "May first.")]
    call = run(place_call(script, answer_hours, until_ms=8000, make_replier=make))
    assert call.chat.requests == []  # the LLM replier was not used
    assert repliers[0].effects == ["Change my address.", "May first."]
    assert agent_texts(call)[-1] == "When were you born?"
    assert call.transcriber.hints == [None, "date"]
