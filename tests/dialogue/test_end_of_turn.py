"""Semantic end of turn: the listening stage waits through a thinking pause.

Fast tests drive the real :class:`Listening` and :class:`Endpointer` with a scripted VAD
and a scripted turn-completion model; one test runs Silero and Smart Turn on a real
recorded sentence with a 0.8 s pause put inside it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from callcenter.asr.bench import phone_frames
from callcenter.audio.g711 import float_to_ulaw
from callcenter.audio.vad import WINDOW, Endpointer, EndpointingPolicy
from callcenter.dialogue.end_of_turn import EndOfTurnPolicy, dictating_digits, words_unfinished
from callcenter.dialogue.events import CallerPaused, CallerTurnEnded
from callcenter.dialogue.listening import Listening, ListeningEvent
from tests.dialogue.timeline import make_settings

FRAME = 160  # 20 ms of 8 kHz μ-law
WINDOW_MS = WINDOW * 1000 / 16000  # 32 ms
SILENT_FRAME = b"\xff" * FRAME


class ScriptedVad:
    def __init__(self, probabilities: list[float]) -> None:
        self.probabilities = list(probabilities)

    def reset(self) -> None:
        pass

    def reset_state(self) -> None:
        pass

    def __call__(self, window: np.ndarray) -> float:
        return self.probabilities.pop(0) if self.probabilities else 0.0


class FixedCompletion:
    def __init__(self, probability: float) -> None:
        self.value = probability
        self.calls = 0

    def probability(self, audio: np.ndarray) -> float:
        self.calls += 1
        return self.value


def windows(ms: float, p: float) -> list[float]:
    return [p] * round(ms / WINDOW_MS)


def listen(
    listening: Listening, frames: list[bytes], words: str | None = "", *, answered: bool = False
) -> list[tuple[float, ListeningEvent]]:
    """Feed frames; each event with the stream time (ms) of the frame that produced it.
    At each pause, ``words`` play the speculative transcript (None: it never comes);
    ``answered``: they wholly answer the agent's pending question."""

    async def go() -> list[tuple[float, ListeningEvent]]:
        out = []
        for frame in frames:
            for event in listening.feed(frame):
                out.append((listening.position_ms, event))
                if isinstance(event, CallerPaused) and words is not None:
                    listening.heard_so_far(words, event.end_ms, answered=answered)
        return out

    return asyncio.run(go())


def scripted_listening(probabilities: list[float], completion: FixedCompletion | None) -> Listening:
    settings = make_settings(vad_min_silence_ms=450, turn_max_silence_ms=2000)
    endpointer = Endpointer(
        EndpointingPolicy(min_silence_ms=450),
        input_rate=8000,
        vad=ScriptedVad(probabilities),  # type: ignore[arg-type]
    )
    return Listening(settings, endpointer, completion=completion, offload=False)


# 1 s of speech, a 0.8 s pause, 1 s of speech, then silence.
PAUSED_SENTENCE = [*windows(1000, 0.9), *windows(800, 0.0), *windows(1000, 0.9)]
FRAMES = [SILENT_FRAME] * 250  # 5 s


def turn_ends(events: list[tuple[float, ListeningEvent]]) -> list[float]:
    return [at for at, e in events if isinstance(e, CallerTurnEnded)]


def test_an_unfinished_turn_is_not_ended_in_a_0_8_s_pause() -> None:
    model = FixedCompletion(0.1)
    events = listen(scripted_listening(PAUSED_SENTENCE, model), FRAMES)
    ends = turn_ends(events)
    assert len(ends) == 1 and ends[0] > 2800, ends  # one turn, after the second stretch
    assert sum(isinstance(e, CallerPaused) for _, e in events) == 2  # speculation ran twice
    assert model.calls == 2


def test_silence_alone_ends_the_turn_in_the_pause() -> None:
    ends = turn_ends(listen(scripted_listening(PAUSED_SENTENCE, None), FRAMES))
    assert len(ends) == 2 and 1400 <= ends[0] <= 1600, ends


def test_a_finished_turn_ends_after_the_short_silence() -> None:
    listening = scripted_listening(PAUSED_SENTENCE, FixedCompletion(0.95))
    ends = turn_ends(listen(listening, FRAMES, words="Yes, please."))
    assert len(ends) == 2 and 1400 <= ends[0] <= 1600, ends


def test_an_unfinished_turn_ends_after_the_longest_wait() -> None:
    one_stretch = [*windows(1000, 0.9)]
    events = listen(scripted_listening(one_stretch, FixedCompletion(0.1)), FRAMES)
    ends = turn_ends(events)
    assert len(ends) == 1 and 2900 <= ends[0] <= 3150, ends  # 1 s + 2 s (+ windowing)


def test_a_whole_answer_with_a_trailing_comma_ends_finished_not_unfinished() -> None:
    """tiny.en writes "No, that's all." as "No, no, no,": the flow reads a no to "anything
    else?", so the turn ends after the short silence, and is not flagged unfinished (the
    agent would say "Take your time." over its own goodbye)."""
    settings = make_settings(
        vad_min_silence_ms=450, turn_max_silence_ms=1200, turn_prompt_after_ms=3000
    )
    endpointer = Endpointer(
        EndpointingPolicy(min_silence_ms=450),
        input_rate=8000,
        vad=ScriptedVad([*windows(1000, 0.9)]),  # type: ignore[arg-type]
    )
    listening = Listening(settings, endpointer, completion=FixedCompletion(0.2), offload=False)
    events = listen(listening, FRAMES, words="No, no, no,", answered=True)
    ended = [e for _, e in events if isinstance(e, CallerTurnEnded)]
    assert len(ended) == 1 and not ended[0].unfinished
    assert 1400 <= turn_ends(events)[0] <= 1600


def test_dangling_words_extend_a_pause_the_model_called_finished() -> None:
    listening = scripted_listening(PAUSED_SENTENCE, FixedCompletion(0.95))
    ends = turn_ends(listen(listening, FRAMES * 2, words="My account number is"))
    assert len(ends) == 1 and ends[0] > 2800, ends  # the first pause did not end the turn


def test_without_the_pause_words_the_turn_waits_the_longest() -> None:
    one_stretch = [*windows(1000, 0.9)]
    events = listen(scripted_listening(one_stretch, FixedCompletion(0.95)), FRAMES, words=None)
    ends = turn_ends(events)
    assert len(ends) == 1 and 2900 <= ends[0] <= 3150, ends


def test_the_words_that_mean_more_is_coming() -> None:
    assert words_unfinished("I want to check my balance and")
    assert words_unfinished("My account number is")
    assert words_unfinished("um")
    assert words_unfinished("I would like to talk about")
    assert words_unfinished("The thing is that I")
    assert words_unfinished("so the card,")
    assert not words_unfinished("What are your opening hours?")
    assert not words_unfinished("")
    assert dictating_digits("my number is one zero zero")
    assert dictating_digits("it's 4 5")
    assert not dictating_digits("thank you")


def test_only_standalone_replies_the_model_calls_finished_are_answered_fast() -> None:
    policy = EndOfTurnPolicy(complete_at=0.5, max_silence_ms=2000)
    replies = ("Yes.", "No, thank you.", "That's right, thanks.", "Okay.", "Yes please")
    for reply in (*replies, "No, that's all. Goodbye.", "No, that's all goodbye"):
        assert policy.silence_ms(0.9, reply) == policy.min_silence_ms, reply
    assert policy.silence_ms(0.3, "Yes.") == 2000  # the model doubts it
    for start in ("My card", "I would like to check", "one zero zero", "Yes, my card"):
        assert policy.silence_ms(0.99, start) == 2000, start  # may be half a sentence
    assert EndOfTurnPolicy(quick_replies=False).silence_ms(0.99, "Yes.") == 2000
    # No verdict or no words yet: unsure, so the wait is the one above a thinking pause.
    assert policy.verdict(None, "Hours please") == policy.verdict(0.99, None) == "unsure"
    assert policy.silence_ms(None, None) == 2000
    assert policy.silence_ms(0.99, "check my balance and") == 2000


def test_words_that_stop_mid_sentence_wait_for_the_gentle_prompt() -> None:
    policy = EndOfTurnPolicy(max_silence_ms=1200, prompt_after_ms=3000)
    assert policy.verdict(0.99, "my number is") == "unfinished"
    assert policy.silence_ms(0.99, "my number is") == 3000
    assert policy.silence_ms(0.2, "my number is one two") == 1200
    assert policy.silence_ms(0.99, "No, thanks.") == policy.min_silence_ms


def test_the_defaults_wait_out_a_0_8_s_pause_unless_the_turn_sounds_finished() -> None:
    policy = EndOfTurnPolicy.from_settings(make_settings())
    assert policy.max_silence_ms > 800 and policy.prompt_after_ms > policy.max_silence_ms
    assert policy.min_silence_ms < 800  # a finished turn is still answered fast


def test_unfinished_words_end_the_turn_flagged_after_the_prompt_wait() -> None:
    settings = make_settings(vad_min_silence_ms=450, turn_prompt_after_ms=2500)
    endpointer = Endpointer(
        EndpointingPolicy(min_silence_ms=450),
        input_rate=8000,
        vad=ScriptedVad(windows(1000, 0.9)),  # type: ignore[arg-type]
    )
    listening = Listening(settings, endpointer, completion=FixedCompletion(0.95), offload=False)
    events = listen(listening, FRAMES, words="My account number is")
    ended = [(at, e) for at, e in events if isinstance(e, CallerTurnEnded)]
    assert len(ended) == 1 and ended[0][1].unfinished
    assert 3400 <= ended[0][0] <= 3650, ended  # 1 s of speech + 2.5 s


def test_a_missing_turn_model_waits_out_a_thinking_pause(tmp_path: Path) -> None:
    settings = make_settings(cache_dir=tmp_path)  # no model file there
    endpointer = Endpointer(
        EndpointingPolicy(min_silence_ms=settings.vad_min_silence_ms),
        input_rate=8000,
        vad=ScriptedVad(PAUSED_SENTENCE),  # type: ignore[arg-type]
    )
    listening = Listening(settings, endpointer, offload=False)
    assert listening.completion is None
    assert len(turn_ends(listen(listening, FRAMES, words="I would like to check"))) == 1


@pytest.mark.models
def test_real_sentence_with_a_thinking_pause_is_one_turn() -> None:
    """A Harvard sentence (OSR, real speaker) with 0.8 s of silence put at its middle."""
    from callcenter.audio.smart_turn_files import installed_model
    from callcenter.audio.turn_completion import SmartTurn
    from tests.support.paths import SPEECH

    audio = phone_frames(SPEECH / "osr_8k" / "OSR_us_000_0034_8k.wav")
    # The fourth sentence: speech from 10.94 s to 13.95 s (by the VAD); cut at its middle.
    start, cut, end = int(10.7 * 8000), int(12.45 * 8000), int(14.3 * 8000)
    pause = np.zeros(int(0.8 * 8000), dtype=np.float32)
    tail = np.zeros(int(3.0 * 8000), dtype=np.float32)
    call = np.concatenate([audio[start:cut], pause, audio[cut:end], tail])
    ulaw = float_to_ulaw(call)
    frames = [ulaw[i : i + FRAME] for i in range(0, len(ulaw) - FRAME + 1, FRAME)]
    settings = make_settings()

    semantic = Listening(settings, completion=SmartTurn(installed_model()), offload=False)
    silence_only = Listening(settings, completion=None)
    assert len(turn_ends(listen(silence_only, frames))) == 2  # answered in the pause
    assert len(turn_ends(listen(semantic, frames))) == 1


def test_the_agent_does_not_speak_into_a_pause_after_dangling_words() -> None:
    """A whole call: "My account number is" ... 0.8 s ... "one zero zero one"."""
    from callcenter.dialogue.events import AgentAudioSent, AgentState
    from tests.dialogue.timeline import Speech, place_call, run

    script = [
        Speech(500, 1800, "My account number is"),
        Speech(2600, 4000, "My account number is one zero zero one"),
    ]
    words = EndOfTurnPolicy(min_silence_ms=600, max_silence_ms=1200)
    call = run(place_call(script, lambda _m: "Thank you.", until_ms=8000, end_policy=words))
    assert call.at_ms(CallerTurnEnded) == [5200]  # the pause did not end it; digits: 1.2 s
    # Nothing reached the caller between the greeting and the real end of the turn (the
    # speculative reply for the pause was held at its gate, then dropped).
    played = [round((t - call.start) * 1000) for t in call.twilio.first_audio_at]
    assert not [ms for ms in played if 1000 < ms < 5200], played
    assert not [ms for ms in call.at_ms(AgentAudioSent) if 1000 < ms < 5200]
    assert call.state_at(5400) == AgentState.speaking
    users = [m["content"] for m in call.session.conversation.history if m["role"] == "user"]
    assert users == ["My account number is one zero zero one"]


def test_a_caller_silent_mid_sentence_is_prompted_gently_not_answered() -> None:
    """ "My account number is" ... 4.7 s of silence ... "one zero zero one four"."""
    from callcenter.dialogue.events import AgentAudioSent
    from tests.dialogue.timeline import Speech, place_call, run

    script = [
        Speech(500, 1800, "My account number is"),
        Speech(6500, 7800, "one zero zero one four"),
    ]
    policy = EndOfTurnPolicy(min_silence_ms=600, max_silence_ms=1200, prompt_after_ms=2500)

    def brain(messages: list[dict[str, str]]) -> str:
        return "Heard: " + [m for m in messages if m["role"] == "user"][-1]["content"]

    call = run(place_call(script, brain, until_ms=11000, end_policy=policy))
    ended = call.of(CallerTurnEnded)
    assert [e.unfinished for e in ended] == [True, False]
    assert call.at_ms(CallerTurnEnded)[0] == 4300  # 2.5 s after the words stopped
    said = [m["content"] for m in call.session.conversation.history if m["role"] == "assistant"]
    assert said[-2:] == ["Take your time.", "Heard: My account number is one zero zero one four"]
    assert "take_your_time" in call.log.kinds()
    # Nothing but the gentle prompt between the greeting and the caller's real end of turn.
    spoken = [ms for ms in call.at_ms(AgentAudioSent) if 1000 < ms < 8400]
    assert spoken and all(4300 <= ms < 5000 for ms in spoken), spoken
    users = [m["content"] for m in call.session.conversation.history if m["role"] == "user"]
    assert users == ["My account number is one zero zero one four"]


def test_a_question_is_finished_whatever_its_last_word() -> None:
    assert not words_unfinished("Can you repeat that?")
    assert words_unfinished("I think that")
