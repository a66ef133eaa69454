"""Silero VAD and the endpointer on real recordings through the phone codec."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import numpy as np
import pytest

from callcenter.asr.bench import phone_frames
from callcenter.audio.g711 import ulaw_to_float
from callcenter.audio.resample import StreamResampler
from callcenter.audio.vad import (
    INBOUND_QUALITY,
    WINDOW,
    Endpointer,
    EndpointingPolicy,
    SileroVad,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
)
from callcenter.simulator.script import Say, render
from tests.support.paths import SPEECH

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz, one Twilio media frame
OSR = SPEECH / "osr_8k" / "OSR_us_000_0034_8k.wav"
FSDD = SPEECH / "fsdd_8k"


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def feed(endpointer: Endpointer, samples: np.ndarray) -> list[object]:
    events: list[object] = []
    for start in range(0, len(samples), FRAME):
        events.extend(endpointer.push(samples[start : start + FRAME]))
    return events


@pytest.fixture(scope="module")
def sentence() -> np.ndarray:
    """The first Harvard sentence of the OSR file (speech ≈ 1.2–3.5 s), μ-law decoded."""
    return phone_frames(OSR)[: int(3.7 * RATE)]


def test_detects_start_and_end_of_a_sentence(sentence: np.ndarray) -> None:
    audio = np.concatenate([silence(1.0), sentence, silence(1.5)])
    events = feed(Endpointer(EndpointingPolicy(), input_rate=RATE), audio)
    kinds = [type(e) for e in events if not isinstance(e, SpeechPaused)]
    assert kinds == [SpeechStarted, SpeechEnded]
    started, ended = (e for e in events if not isinstance(e, SpeechPaused))
    assert isinstance(started, SpeechStarted) and isinstance(ended, SpeechEnded)
    # Speech starts about 1.0 + 1.2 s into the stream and ends about 1.0 + 3.5 s.
    assert 1900 <= started.at_ms <= 2600
    assert 4000 <= ended.at_ms <= 4900
    assert not ended.truncated
    assert ended.audio.dtype == np.float32
    speech_s = (ended.at_ms - started.at_ms) / 1000
    assert speech_s + 0.3 <= ended.duration_s <= speech_s + 0.5  # 2 × 200 ms padding


def test_short_digit_with_silence_around_it_is_one_turn() -> None:
    digit = phone_frames(FSDD / "7_george_0.wav")
    events = feed(Endpointer(input_rate=RATE), np.concatenate([silence(0.5), digit, silence(1)]))
    assert [type(e) for e in events if not isinstance(e, SpeechPaused)] == [
        SpeechStarted,
        SpeechEnded,
    ]


def test_silence_and_noise_are_not_speech() -> None:
    rng = np.random.default_rng(0)
    hiss = rng.normal(0, 0.01, 5 * RATE).astype(np.float32)  # line hiss, -40 dBFS
    hum = (0.05 * np.sin(2 * np.pi * 60 * np.arange(5 * RATE) / RATE)).astype(np.float32)
    for audio in (silence(5), hiss, hum):
        endpointer = Endpointer(input_rate=RATE)
        assert feed(endpointer, audio) == []
        assert not endpointer.speaking


def test_all_ten_osr_sentences_are_found() -> None:
    events = feed(Endpointer(input_rate=RATE), phone_frames(OSR))
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    # Ten sentences; "When you hear the bell, come quickly." may split at its comma.
    assert 10 <= len(ended) <= 11


def test_min_silence_decides_whether_a_pause_ends_the_turn(sentence: np.ndarray) -> None:
    gap = silence(0.6)
    audio = np.concatenate([silence(0.5), sentence, gap, sentence, silence(1.5)])
    patient = feed(Endpointer(EndpointingPolicy(min_silence_ms=1500), input_rate=RATE), audio)
    eager = feed(Endpointer(EndpointingPolicy(min_silence_ms=300), input_rate=RATE), audio)
    assert sum(isinstance(e, SpeechEnded) for e in patient) == 1
    assert sum(isinstance(e, SpeechEnded) for e in eager) == 2


def test_min_speech_filters_short_blips(sentence: np.ndarray) -> None:
    blip = phone_frames(FSDD / "1_george_0.wav")
    audio = np.concatenate([silence(0.5), blip, silence(1.0)])
    strict = Endpointer(EndpointingPolicy(min_speech_ms=2000), input_rate=RATE)
    assert feed(strict, audio) == []
    # The same blip is speech to a lenient endpointer: the strict one filtered it out.
    lenient = Endpointer(EndpointingPolicy(min_speech_ms=100), input_rate=RATE)
    assert any(isinstance(e, SpeechEnded) for e in feed(lenient, audio))


def test_max_utterance_cuts_long_speech(sentence: np.ndarray) -> None:
    policy = EndpointingPolicy(max_utterance_s=1.0, min_silence_ms=2000)
    events = feed(Endpointer(policy, input_rate=RATE), np.concatenate([sentence, silence(2.5)]))
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    assert ended[0].truncated
    assert all(e.duration_s <= 1.0 + 0.25 for e in ended)  # cut + pre-roll padding
    starts = [e for e in events if isinstance(e, SpeechStarted)]
    assert len(starts) == len(ended)


def test_pause_event_precedes_end_and_carries_the_audio(sentence: np.ndarray) -> None:
    policy = EndpointingPolicy(pause_ms=100, min_silence_ms=600)
    events = feed(Endpointer(policy, input_rate=RATE), np.concatenate([sentence, silence(1.0)]))
    paused = [e for e in events if isinstance(e, SpeechPaused)]
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    assert paused and ended
    assert events.index(paused[-1]) < events.index(ended[0])
    assert len(paused[-1].audio) > 0.8 * len(ended[0].audio)


def test_flush_finishes_a_turn_cut_off_by_hang_up(sentence: np.ndarray) -> None:
    endpointer = Endpointer(input_rate=RATE)
    feed(endpointer, np.concatenate([silence(0.3), sentence[: int(2.5 * RATE)]]))
    assert endpointer.speaking
    (ended,) = endpointer.flush()
    assert isinstance(ended, SpeechEnded) and ended.duration_s > 0.5


def test_16k_input_gives_the_same_turns(sentence: np.ndarray) -> None:
    from callcenter.audio.resample import resample

    audio16 = resample(np.concatenate([silence(1.0), sentence, silence(1.5)]), RATE, 16000)
    endpointer = Endpointer(input_rate=16000)
    events = [e for i in range(0, len(audio16), 320) for e in endpointer.push(audio16[i : i + 320])]
    assert [type(e) for e in events if not isinstance(e, SpeechPaused)] == [
        SpeechStarted,
        SpeechEnded,
    ]


def test_streaming_matches_faster_whisper_whole_clip_vad(sentence: np.ndarray) -> None:
    """Window-by-window with carried state = faster-whisper's own whole-clip Silero run."""
    from faster_whisper.vad import get_vad_model

    from callcenter.audio.resample import resample

    audio = resample(sentence, RATE, 16000)[: 100 * WINDOW]
    reference = np.asarray(get_vad_model()(audio)).reshape(-1)
    vad = SileroVad()
    streamed = np.array([vad(audio[i * WINDOW : (i + 1) * WINDOW]) for i in range(100)])
    assert np.allclose(streamed, reference, atol=1e-4)
    assert streamed.max() > 0.9  # speech is in there
    vad.reset()
    assert vad(np.zeros(WINDOW, dtype=np.float32)) < 0.1


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        EndpointingPolicy(threshold=1.5)
    with pytest.raises(ValueError):
        Endpointer(input_rate=44100)


class ScriptedVad:
    """Speech probabilities from a list, one per 32 ms window (then silence)."""

    def __init__(self, probabilities: list[float]) -> None:
        self.probabilities = list(probabilities)

    def reset(self) -> None:
        pass

    def reset_state(self) -> None:
        pass

    def __call__(self, window: np.ndarray) -> float:
        return self.probabilities.pop(0) if self.probabilities else 0.0


def started_at(probabilities: list[float], policy: EndpointingPolicy) -> float:
    vad = ScriptedVad(probabilities)
    endpointer = Endpointer(policy, input_rate=16000, vad=vad)  # type: ignore[arg-type]
    events = endpointer.push(np.zeros(WINDOW * (len(probabilities) + 2), dtype=np.float32))
    return next(e.at_ms for e in events if isinstance(e, SpeechStarted))


def test_a_soft_onset_is_dated_from_where_the_probability_rose() -> None:
    window_ms = WINDOW * 1000 / 16000
    rising = [0.0, 0.0, 0.4, 0.45, *[0.9] * 8]  # two windows in the hysteresis band
    assert started_at(rising, EndpointingPolicy(onset_lookback_ms=64)) == 2 * window_ms
    assert started_at(rising, EndpointingPolicy(onset_lookback_ms=0)) == 4 * window_ms


def test_onset_lookback_is_capped() -> None:
    window_ms = WINDOW * 1000 / 16000
    hum_then_speech = [*[0.4] * 10, *[0.9] * 8]  # a long stretch in the band is not speech
    started = started_at(hum_then_speech, EndpointingPolicy(onset_lookback_ms=64))
    assert started == 10 * window_ms - 64


@pytest.mark.parametrize("name", ["0_george_0.wav", "3_jackson_1.wav", "8_nicolas_2.wav"])
def test_a_short_word_starts_a_turn_whatever_the_frame_phase(name: str) -> None:
    """One spoken digit, shifted by 0–140 ms against the VAD's 32 ms windows: every phase
    must start a turn, soon after the word begins (a barge-in waits on this)."""
    word = phone_frames(FSDD / name)
    loud = np.flatnonzero(np.abs(word) > 0.02)
    onset_ms = loud[0] * 1000 / RATE
    for lead_ms in range(0, 160, 20):
        endpointer = Endpointer(EndpointingPolicy(), input_rate=RATE)
        audio = np.concatenate([silence(0.5 + lead_ms / 1000), word, silence(1.0)])
        position_ms, detected_ms = 0.0, None
        for start in range(0, len(audio), FRAME):
            position_ms += FRAME * 1000 / RATE
            events = endpointer.push(audio[start : start + FRAME])
            if any(isinstance(e, SpeechStarted) for e in events):
                detected_ms = position_ms
                break
        assert detected_ms is not None, f"{name} at +{lead_ms} ms never started a turn"
        delay_ms = detected_ms - (500 + lead_ms + onset_ms)
        assert delay_ms <= 260, f"{name} at +{lead_ms} ms: turn started {delay_ms:.0f} ms late"


def test_caller_audio_reaches_the_vad_without_filter_delay() -> None:
    """The 8 -> 16 kHz stream hands out (almost) every sample as soon as its frame arrives."""
    resampler = StreamResampler(RATE, 16000, quality=INBOUND_QUALITY)
    frames = silence(1.0)
    out = sum(len(resampler.process(frames[i : i + FRAME])) for i in range(0, len(frames), FRAME))
    assert 16000 - out <= 16  # ≤ 1 ms held back (the high-quality filter held 66 ms)


def espeak_word(text: str, voice: str, tmp_path: Path) -> np.ndarray:
    """A short word in an espeak-ng voice (not the agent's), through the phone codec."""
    wav = tmp_path / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(wav), text], check=True)
    return ulaw_to_float(asyncio.run(render(Say(wav=str(wav)), None)))


@pytest.mark.parametrize("silent_s", [40.0, 60.0])
def test_a_short_answer_after_a_long_silent_line_is_heard(silent_s: float, tmp_path: Path) -> None:
    # The Silero state drifted over a silent line: "Ja." after 40 s peaked at p = 0.46
    # (0.88 after 10 s) and the caller's answer to a slow question was never heard.
    words = {
        "espeak-ng de 'Ja.'": espeak_word("Ja.", "de", tmp_path),
        "espeak-ng en-us 'Yes.'": espeak_word("Yes.", "en-us", tmp_path),
        "FSDD '1' (human)": phone_frames(FSDD / "1_jackson_0.wav"),
    }
    missed = []
    for name, word in words.items():
        for phase in range(8):  # every alignment of 20 ms frames on 32 ms VAD windows
            audio = np.concatenate([silence(silent_s + phase * 0.02), word, silence(1.0)])
            events = feed(Endpointer(EndpointingPolicy(), input_rate=RATE), audio)
            if not any(isinstance(e, SpeechStarted) for e in events):
                missed.append((name, phase))
    assert missed == [], missed
