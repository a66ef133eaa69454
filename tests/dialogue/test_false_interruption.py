"""Caller sound over the agent: a backchannel lets it resume, real words stop it.

Virtual-time calls (tests/dialogue/timeline.py): the agent reads a long answer, the
caller says something over it at 4 s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from callcenter.dialogue.backchannel import is_backchannel
from callcenter.dialogue.events import Interrupted, PlaybackFinished, Resumed
from callcenter.llm.base import Message
from tests.dialogue.test_timeline import LONG, agent_texts, last_user, user_texts
from tests.dialogue.timeline import Call, Speech, make_settings, place_call, run


def brain(messages: Sequence[Message]) -> str:
    return LONG if "branches" in last_user(messages) else "Sure."


def over_the_agent(said: str, duration_ms: int) -> Call:
    script = [
        Speech(500, 1500, "Tell me about your branches."),
        Speech(4000, 4000 + duration_ms, said),
    ]
    return run(place_call(script, brain, until_ms=16000))


def played_ms(call: Call) -> list[int]:
    return [round((t - call.start) * 1000) for t in call.twilio.played_at]


def test_a_mm_hmm_does_not_stop_the_agent() -> None:
    call = over_the_agent("Mm-hmm.", 400)
    assert call.of(Interrupted) == [] and call.twilio.clears == []
    assert [e.heard for e in call.of(Resumed)] == ["Mm-hmm."]
    assert agent_texts(call)[-1] == LONG  # the whole answer was played and kept
    finished = [e for e in call.of(PlaybackFinished) if e.text == LONG]
    assert finished and not finished[0].interrupted
    assert user_texts(call) == ["Tell me about your branches."]  # no turn to answer
    assert len(call.chat.requests) == 1
    # It paused while the caller spoke, and went on afterwards.
    played = played_ms(call)
    assert not [ms for ms in played if 4300 < ms < 4400]
    assert [ms for ms in played if ms > 5000]


def test_a_noise_with_no_words_does_not_stop_the_agent() -> None:
    call = over_the_agent("", 300)
    assert call.of(Interrupted) == [] and agent_texts(call)[-1] == LONG


def test_short_real_words_are_a_barge_in() -> None:
    call = over_the_agent("Wait, what?", 400)
    assert [e.cause for e in call.of(Interrupted)] in (["speech"], ["turn"])
    assert call.twilio.clears
    assert LONG not in agent_texts(call)
    assert user_texts(call)[-1] == "Wait, what?"
    # Quiet within 250 ms of the onset, long before the words were known.
    assert not [ms for ms in played_ms(call) if 4250 < ms < 5000]


def test_long_speech_is_a_barge_in_before_its_words_are_known() -> None:
    call = over_the_agent("Mm-hmm, yeah, okay, right, so what about the airport one", 2000)
    assert [e.cause for e in call.of(Interrupted)] == ["speech"]
    clear_ms = (call.twilio.clears[0] - call.start) * 1000
    assert 4500 <= clear_ms < 4700  # at 600 ms of speech, the caller still talking


def test_backchannel_words() -> None:
    backchannels = ["Mm-hmm.", "yeah", "Okay.", "right", "uh-huh", "I see", "", "Mm-mm-mm-"]
    for text in [*backchannels, "Yeah, okay.", "Hmm."]:
        assert is_backchannel(text), text
    real = ["Wait.", "stop", "no", "What?", "yeah but what about", "okay okay okay okay", "2"]
    for text in [*real, "8.", "one"]:
        assert not is_backchannel(text), text


def test_the_simulator_reads_when_the_agent_went_quiet() -> None:
    from callcenter.audio.g711 import float_to_ulaw
    from callcenter.simulator.result import quiet_from

    tone = (0.3 * np.sin(np.arange(8000) * 0.3)).astype(np.float32)  # 1 s of agent voice
    audio = float_to_ulaw(np.concatenate([tone, np.zeros(4000, np.float32), tone]))
    assert quiet_from(audio, 500, None) == 1000  # quiet from 1 s (for 0.5 s)
    assert quiet_from(audio, 500, 800) == 800  # the clear came first


def test_the_agent_pauses_at_the_first_sound_and_goes_on_after_a_click() -> None:
    call = over_the_agent("", 40)  # shorter than any word: never a candidate
    assert call.of(Interrupted) == [] and call.twilio.clears == []
    assert agent_texts(call)[-1] == LONG
    played = played_ms(call)
    assert not [ms for ms in played if 4100 < ms < 4300]  # paused at once
    assert [ms for ms in played if ms > 5000]  # and went on


def test_a_real_interruption_pauses_the_agent_at_its_first_frame() -> None:
    call = over_the_agent("Wait, what?", 400)
    reactions = [p["reaction_ms"] for kind, p in call.log.events if kind == "barge_in"]
    assert reactions and reactions[0] <= 40  # the frame the sound arrived in, then paused


def test_a_yes_over_a_re_prompt_answers_it() -> None:
    # Silent after the greeting; the agent asks again just as the caller says "Yeah."
    # (late): that is the caller's answer, not a backchannel to talk over.
    settings = make_settings(silence_reprompt_s=3.0)
    script = [Speech(3900, 4300, "Yeah.")]
    call = run(place_call(script, brain, until_ms=9000, settings=settings))
    assert "reprompt" in call.log.kinds()
    assert call.of(Resumed) == []
    assert user_texts(call) == ["Yeah."]
    assert agent_texts(call)[-1] == "Sure."  # answered


def test_a_mm_hmm_over_an_answer_is_still_a_backchannel_after_a_re_prompt() -> None:
    settings = make_settings(silence_reprompt_s=3.0)
    script = [Speech(5000, 6000, "Tell me about your branches."), Speech(9000, 9400, "Mm-hmm.")]
    call = run(place_call(script, brain, until_ms=20000, settings=settings))
    assert "reprompt" in call.log.kinds()
    assert [e.heard for e in call.of(Resumed)] == ["Mm-hmm."]
    assert agent_texts(call)[-1] == LONG
