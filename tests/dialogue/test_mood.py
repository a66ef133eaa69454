"""The caller's mood: voice and words per turn, smoothed, and the path to a person."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from callcenter.dialogue.events import Escalate
from callcenter.dialogue.mood import MoodTracker, voice_features, words_score
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
