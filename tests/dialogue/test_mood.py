"""The caller's mood: voice and words per turn, smoothed, and the path to a person."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from callcenter.dialogue.events import Escalate
from callcenter.dialogue.mood import (
    MoodTracker,
    speaking_rate,
    syllables,
    voice_features,
    words_score,
)
from callcenter.llm.base import Message
from tests.dialogue.timeline import Speech, make_settings, place_call, run


def voice(pitch_hz: float, amplitude: float, seconds: float = 1.5) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    # A voiced sound: the fundamental and two harmonics.
    wave = sum(np.sin(2 * np.pi * pitch_hz * k * t) / k for k in (1, 2, 3))
    return (amplitude * wave / 1.8).astype(np.float32)


def test_voice_features_read_loudness_and_pitch() -> None:
    calm, loud = voice_features(voice(120, 0.05)), voice_features(voice(170, 0.3))
    assert calm is not None and loud is not None
    assert abs(calm.pitch_hz - 120) < 8 and abs(loud.pitch_hz - 170) < 10
    assert loud.energy_db - calm.energy_db > 12
    assert voice_features(np.zeros(100, dtype=np.float32)) is None


def test_a_louder_higher_voice_than_the_callers_own_counts_as_frustration() -> None:
    mood = MoodTracker()
    assert mood.turn(voice(120, 0.05), "I want my balance") == 0.0  # baseline
    assert mood.turn(voice(125, 0.05), "and my last payment") == 0.0  # baseline
    assert mood.turn(voice(118, 0.05), "thanks") < 0.1  # like before: calm
    assert mood.turn(voice(170, 0.3), "I asked for my balance") > 0.6  # shouting


def test_angry_words_count_and_one_turn_does_not_make_a_trend() -> None:
    assert words_score("This is ridiculous, you are useless") > 0.8
    assert words_score("What are your opening hours?") == 0.0
    mood = MoodTracker(smoothing=0.5)
    mood.turn(None, "This is ridiculous, you are useless")
    assert mood.level < 0.7
    mood.turn(None, "I already told you, this is unacceptable")
    mood.turn(None, "Seriously, I am sick of this")
    assert mood.level >= 0.7
    mood.take_back()
    assert mood.level < 0.7 and len(mood.turns) == 2


def test_the_speaking_rate_is_syllables_per_second_of_voice() -> None:
    assert syllables("I want my balance") == 5  # "balance": two, its final e is silent
    assert syllables("my number is 1001") == 8  # a digit is read as about one syllable
    features = voice_features(voice(120, 0.05, seconds=2.0))
    assert features is not None and abs(features.speech_s - 2.0) < 0.05
    rate = speaking_rate("I would like to check my balance please", features)
    assert rate is not None and abs(rate - 9 / features.speech_s) < 1e-9
    assert speaking_rate("yes", features) is None  # too few syllables to tell a pace


def test_a_markedly_faster_turn_raises_the_estimate_and_the_usual_pace_does_not() -> None:
    ten = "I would like to check the balance on my account"  # ten syllables
    mood = MoodTracker()
    assert mood.turn(voice(120, 0.05, 2.5), ten) == 0.0  # baseline: 4 syllables a second
    assert mood.turn(voice(122, 0.05, 2.5), ten) == 0.0  # baseline
    assert mood.turn(voice(120, 0.05, 2.4), ten) < 0.05  # the caller's usual pace
    faster = mood.turn(voice(120, 0.05, 1.5), ten)  # the same words in 60 % of the time
    # Same loudness and pitch, calm words: the pace alone is a modest cue, under the
    # level at which the flows soften their lines.
    assert 0.15 < faster < 0.35
    shouting = mood.turn(voice(170, 0.3, 1.5), ten)
    assert shouting > faster and shouting >= 0.8


def test_taking_back_a_turn_undoes_its_reading_and_nothing_else() -> None:
    mood = MoodTracker()
    mood.turn(voice(120, 0.05), "I want my balance", seq=2)
    mood.turn(None, "This is ridiculous, you are useless", seq=4)
    level = mood.level
    assert mood.take_back(seq=6) is False  # turn 6 was never read (e.g. keypad)
    assert mood.level == level and len(mood.turns) == 2
    mood.turn(voice(170, 0.3), "I already told you", seq=6)
    assert mood.take_back(seq=6) is True
    assert mood.level == level and len(mood.turns) == 2
    # Its voice went back out of the baseline too: the next turn is still the second one.
    assert mood.turn(voice(170, 0.3), "and my last payment", seq=8) == 0.0


def test_a_speculative_turn_taken_back_leaves_no_mood_reading() -> None:
    # The caller pauses 400 ms (a speculative turn is recorded) and goes on: the withdrawn
    # turn's reading must leave neither the call log nor the call's level.
    script = [
        Speech(500, 1500, "This is ridiculous"),
        Speech(1900, 3000, "This is ridiculous, what is my balance?"),
    ]
    call = run(place_call(script, lambda _m: "Let me check.", until_ms=7000))
    assert call.log.dropped, "the speculative caller turn was taken back"
    readings = [p for kind, p in call.log.events if kind == "mood"]
    assert [p["seq"] for p in readings] == list(call.log.caller_turns)
    assert not set(call.log.dropped) & {p["seq"] for p in readings}
    assert len(call.session.mood.turns) == 1
    assert call.session.mood.level == readings[0]["frustration"]


def test_rising_frustration_hands_the_call_to_a_person() -> None:
    script = [
        Speech(500, 1500, "This is ridiculous, you are useless."),
        Speech(4000, 5000, "I already told you, this is unacceptable."),
        Speech(7500, 8500, "Seriously, I am sick of this."),
    ]

    def brain(messages: Sequence[Message]) -> str:
        return "I am sorry."

    call = run(place_call(script, brain, until_ms=12000))
    assert [e.reason for e in call.of(Escalate)] == ["frustration"]
    assert call.transfers == ["frustration"]
    escalation = [p for kind, p in call.log.events if kind == "escalation"]
    assert escalation[0]["mood"]["frustration"] >= 0.7
    assert len([kind for kind, _ in call.log.events if kind == "mood"]) == 3


def test_frustration_handoff_can_be_turned_off() -> None:
    script = [
        Speech(500, 1500, "This is ridiculous, you are useless."),
        Speech(4000, 5000, "I already told you, this is unacceptable."),
        Speech(7500, 8500, "Seriously, I am sick of this."),
    ]
    settings = make_settings(frustration_handoff_at=0.0)
    call = run(place_call(script, lambda _m: "I am sorry.", until_ms=12000, settings=settings))
    assert call.of(Escalate) == []


def test_a_frustrated_caller_hears_the_soft_variant_of_key_flow_lines() -> None:
    from callcenter.dialogue.conversation import Conversation
    from callcenter.dialogue.flows import flow_replier
    from callcenter.dialogue.prompts import default_prompt_set
    from callcenter.dialogue.replying import CallScope
    from callcenter.tools.context import CallContext
    from tests.dialogue.timeline import MemoryCallLog

    level = [0.0]
    scope = CallScope(
        None,  # type: ignore[arg-type]  # no model turn is taken here
        make_settings(mood_soften_at=0.35),
        "call-1",
        default_prompt_set(),
        None,  # type: ignore[arg-type]
        CallContext(call_id="call-1"),
        Conversation(),
        MemoryCallLog(),
        frustration=lambda: level[0],
    )
    lines = flow_replier(scope).lines
    calm = lines.render("reask")
    assert calm == "Sorry, I didn't catch that."
    level[0] = 0.5
    soft = lines.render("reask")
    assert soft != calm and soft.startswith("I'm sorry")
    assert lines.render("ask_city") == "And the city?"  # no soft variant: the usual line
    assert "account number" in lines.render("ask_account_number_again")  # callers listen for it
