"""Our own voicemail check on outbound calls: a person or a machine, and what follows.

The check hears real speech (OSR sentences read by a person, an FSDD word) through the
real listening stage (Silero VAD), and synthesized beeps; whole calls run on the
virtual-time timeline (tests/dialogue/timeline.py).
"""

from __future__ import annotations

import asyncio

import numpy as np

from callcenter.audio.g711 import PHONE_RATE, float_to_ulaw
from callcenter.bench.speech_clips import osr_sentences
from callcenter.dialogue.listening import Listening
from callcenter.dialogue.voicemail import BEEP_WAIT_MS, QUIET_HUMAN_MS, VoicemailCheck
from tests.dialogue.timeline import Speech, make_settings, place_call, run
from tests.support.paths import SPEECH

FRAME = PHONE_RATE // 50


def silence(ms: int) -> np.ndarray:
    return np.zeros(PHONE_RATE * ms // 1000, dtype=np.float32)


def beep(ms: int = 500, hz: float = 1000.0) -> np.ndarray:
    t = np.arange(PHONE_RATE * ms // 1000) / PHONE_RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def verdicts(audio: np.ndarray) -> list[tuple[int, str]]:
    """(ms, verdict) for each verdict of the check on ``audio``, frame by frame."""
    listening = Listening(make_settings(), completion=None)
    check = VoicemailCheck(greeting_ms=3500)
    ulaw = float_to_ulaw(audio)

    async def go() -> list[tuple[int, str]]:
        out = []
        for index in range(0, len(ulaw) - FRAME + 1, FRAME):
            frame = ulaw[index : index + FRAME]
            verdict = check.hear(frame, listening.feed(frame), listening.speech_ms)
            if verdict is not None:
                out.append(((index + FRAME) // 8, verdict))
        return out

    return asyncio.run(go())


def greeting() -> np.ndarray:
    """A machine's greeting: two sentences read by a person, a short breath between."""
    first, second = osr_sentences(SPEECH)[:2]
    return np.concatenate([first.audio, silence(250), second.audio])


def test_a_long_greeting_then_a_beep_is_a_machine_and_the_message_follows_the_beep() -> None:
    spoken = greeting()
    audio = np.concatenate([silence(500), spoken, silence(700), beep(), silence(1500)])
    found = verdicts(audio)
    assert [v for _, v in found] == ["machine", "leave_message"]
    beep_end = 500 + len(spoken) * 1000 // PHONE_RATE + 700 + 500
    assert found[0][0] < beep_end - 1000  # a machine before its greeting was over
    assert beep_end <= found[1][0] <= beep_end + 60  # the message right after the beep


def test_a_machine_that_never_beeps_gets_the_message_after_a_wait() -> None:
    spoken = greeting()
    found = verdicts(np.concatenate([silence(500), spoken, silence(BEEP_WAIT_MS + 2000)]))
    assert [v for _, v in found] == ["machine", "leave_message"]
    assert found[1][0] >= 500 + len(spoken) * 1000 // PHONE_RATE + BEEP_WAIT_MS


def test_a_short_hello_is_a_person() -> None:
    from callcenter.asr.bench import phone_frames

    word = phone_frames(SPEECH / "fsdd_8k" / "2_jackson_0.wav")
    found = verdicts(np.concatenate([silence(500), word, silence(2000)]))
    assert [v for _, v in found] == ["human"]
    assert found[0][0] < 500 + 1500 + len(word) * 1000 // PHONE_RATE


def test_silence_is_a_person_waiting_for_us() -> None:
    assert verdicts(silence(QUIET_HUMAN_MS + 500)) == [(QUIET_HUMAN_MS, "human")]


def test_an_outbound_call_to_a_machine_leaves_the_message_and_hangs_up() -> None:
    settings = make_settings(voicemail_message="This is the bank. Please call us back.")
    script = [Speech(300, 5300, "Hi, you've reached Sam. Leave a message after the tone.")]
    call = run(
        place_call(script, lambda _m: "Hello?", until_ms=12000, settings=settings, outbound=True)
    )
    said = [m["content"] for m in call.session.conversation.history if m["role"] == "assistant"]
    assert said == ["This is the bank. Please call us back."]  # no greeting, no answer
    assert call.hangups and call.chat.requests == []
    answered = [p for k, p in call.log.events if k == "answered_by"]
    assert answered == [
        {"answered_by": "machine_end_other", "detected_by": "own", "action": "message"}
    ]


def test_a_machine_with_no_message_configured_is_hung_up_on_and_the_outcome_recorded() -> None:
    # VOICEMAIL_MESSAGE empty: nothing is said, not even the greeting, and the call ends
    # when the message would have started (the machine's greeting is over, no beep came).
    settings = make_settings(voicemail_message="")
    spoken_until = 5300
    script = [Speech(300, spoken_until, "Hi, you've reached Sam. Leave a message after the tone.")]
    call = run(
        place_call(script, lambda _m: "Hello?", until_ms=14000, settings=settings, outbound=True)
    )
    said = [m["content"] for m in call.session.conversation.history if m["role"] == "assistant"]
    assert said == [] and call.chat.requests == [] and call.transfers == []
    assert len(call.hangups) == 1 and call.session.ended
    hung_up_ms = (call.hangups[0] - call.start) * 1000
    # The wait for a beep runs from the end of the greeting as endpointing hears it.
    assert spoken_until + BEEP_WAIT_MS <= hung_up_ms <= spoken_until + BEEP_WAIT_MS + 1000
    answered = [p for k, p in call.log.events if k == "answered_by"]
    assert answered == [
        {"answered_by": "machine_end_other", "detected_by": "own", "action": "hang_up"}
    ]


def test_an_outbound_call_answered_by_a_person_gets_the_greeting() -> None:
    script = [Speech(300, 900, "Hello?"), Speech(3000, 4500, "What are your opening hours?")]
    call = run(place_call(script, lambda _m: "Nine to five.", until_ms=8000, outbound=True))
    said = [m["content"] for m in call.session.conversation.history if m["role"] == "assistant"]
    assert said[:1] == ["Hello."] and said[-1] == "Nine to five."
    users = [m["content"] for m in call.session.conversation.history if m["role"] == "user"]
    assert users == ["What are your opening hours?"]  # "Hello?" was not a turn to answer
    assert not call.hangups
