"""Slower, louder, say that again, the keypad and more time, at any moment of a call
(scripted timelines, virtual time). None of these turns reaches the model."""

from __future__ import annotations

from callcenter.dialogue.events import AgentAudioSent, PlaybackFinished
from callcenter.tts.style import VoiceStyle
from tests.dialogue.test_timeline import HOURS, answer_hours
from tests.dialogue.timeline import Call, Speech, make_settings, place_call, run


def played_ms(call: Call) -> dict[str, tuple[str, int]]:
    """Each agent turn's text and how long it played (first audio to its last mark)."""
    started = {e.turn_id: at for at, e in call.events if isinstance(e, AgentAudioSent)}
    return {
        e.turn_id: (e.text, round((at - started[e.turn_id]) * 1000))
        for at, e in call.events
        if isinstance(e, PlaybackFinished) and e.turn_id in started
    }


def test_slower_applies_to_every_later_line_and_repeats_the_last_one() -> None:
    script = [
        Speech(500, 1500, "What are your hours?"),
        Speech(6000, 6800, "Slower, please."),
        Speech(13000, 13800, "And what are your hours on Saturday?"),
    ]
    call = run(place_call(script, answer_hours, until_ms=20000))
    assert len(call.chat.requests) == 2  # the request itself never reached the model
    turns = list(played_ms(call).values())
    hours = [ms for text, ms in turns if text == HOURS]
    assert len(hours) == 2
    assert hours[1] > hours[0] / 0.85  # the same answer, later, plays longer
    acknowledged = [text for text, _ in turns if "more slowly" in text]
    assert acknowledged and acknowledged[0].endswith(HOURS)  # said again, slower
    assert call.session.voice.style == VoiceStyle().slower()
    assert ("caller_request", {"request": "slower"}) in call.log.events


def test_say_that_again_replays_the_last_line_without_the_model() -> None:
    script = [Speech(500, 1500, "What are your hours?"), Speech(6000, 6800, "Say that again?")]
    call = run(place_call(script, answer_hours, until_ms=11000))
    assert len(call.chat.requests) == 1
    texts = [text for text, _ in played_ms(call).values()]
    assert texts[-2:] == [HOURS, HOURS]


def test_star_codes_work_while_the_agent_talks() -> None:
    # *3 (louder) pressed during the greeting, then *1 (repeat) after it.
    keys = {300: "*", 400: "3", 6000: "*", 6100: "1"}
    call = run(
        place_call([], answer_hours, until_ms=11000, keys=keys, greeting="Hello and welcome.")
    )
    assert call.session.voice.style == VoiceStyle().louder()
    texts = [text for text, _ in played_ms(call).values()]
    assert texts[-1] == "Hello and welcome."
    assert call.chat.requests == []


def test_asking_for_a_moment_gives_a_longer_silence() -> None:
    settings = make_settings(silence_reprompt_s=3.0, patient_silence_s=12.0)
    script = [Speech(500, 1300, "Give me a moment.")]
    call = run(place_call(script, answer_hours, until_ms=12000, settings=settings))
    assert "reprompt" not in call.log.kinds()
    assert any("take your time" in t.get("text", "") for t in call.log.agent_turns.values())
    impatient = run(place_call([], answer_hours, until_ms=12000, settings=settings))
    assert "reprompt" in impatient.log.kinds()


def test_i_cannot_speak_switches_to_keypad_prompts() -> None:
    script = [Speech(500, 1300, "I can't speak.")]
    call = run(place_call(script, answer_hours, until_ms=9000))
    assert call.session.preferences.keypad
    said = " ".join(t.get("text", "") for t in call.log.agent_turns.values())
    assert "keypad" in said and "Press 1 for your balance" in said
