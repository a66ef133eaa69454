"""The turn audio the ASR reads: the high-quality resampled copy, on the VAD's timeline."""

from __future__ import annotations

import numpy as np
import pytest

from callcenter.asr.bench import phone_frames
from callcenter.audio.asr_stream import TranscriptionAudio
from callcenter.audio.frames import AudioBuffer
from callcenter.audio.resample import StreamResampler, resample
from callcenter.audio.vad import INBOUND_QUALITY, Endpointer, EndpointingPolicy, SpeechEnded
from tests.support.paths import SPEECH

RATE = 8000
FRAME = 160
OSR = SPEECH / "osr_8k" / "OSR_us_000_0034_8k.wav"


def band_share(audio: np.ndarray, low_hz: float) -> float:
    """Share of the 16 kHz signal's energy above ``low_hz``."""
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / 16000)
    return float(spectrum[freqs >= low_hz].sum() / spectrum.sum())


@pytest.fixture(scope="module")
def sentence() -> np.ndarray:
    return phone_frames(OSR)[: int(3.7 * RATE)]


def test_the_turn_audio_has_no_aliases_above_the_phone_band(sentence: np.ndarray) -> None:
    audio = np.concatenate([np.zeros(RATE, np.float32), sentence, np.zeros(RATE, np.float32)])
    endpointer = Endpointer(EndpointingPolicy(), input_rate=RATE)
    ended = [
        e
        for i in range(0, len(audio), FRAME)
        for e in endpointer.push(audio[i : i + FRAME])
        if isinstance(e, SpeechEnded)
    ]
    assert len(ended) == 1
    turn = ended[0].audio
    quick = StreamResampler(RATE, 16000, quality=INBOUND_QUALITY)
    vad_copy = np.concatenate(
        [quick.process(audio[i : i + FRAME]) for i in range(0, len(audio), FRAME)]
    )
    # The cubic filter mirrors the phone band above 4 kHz; the ASR's copy does not.
    assert band_share(vad_copy, 4200) > 10 * band_share(turn, 4200)
    assert band_share(turn, 4200) < 1e-3


def test_reads_follow_the_vad_timeline_across_dropped_part_windows() -> None:
    rng = np.random.default_rng(1)
    signal = rng.normal(0, 0.2, RATE * 2).astype(np.float32)
    reference = resample(signal, RATE, 16000)
    asr = TranscriptionAudio(RATE, 16000)
    vad_timeline = AudioBuffer()
    dropped = 0
    for i in range(0, len(signal), FRAME):
        asr.push(signal[i : i + FRAME])
        if i == RATE // 2:
            # The VAD drops a 300-sample part window (a reset): its index falls behind.
            asr.dropped(300)
            dropped = 300
        up = reference[2 * i : 2 * (i + FRAME)]
        vad_timeline.append(up if not dropped or i != RATE // 2 else up[300:])
    # An index after the reset on the VAD's timeline is 300 samples later in true time.
    start, end = 20_000, 24_000
    got = asr.read(start, end, vad_timeline)
    np.testing.assert_allclose(got, reference[start + 300 : end + 300], atol=0.02)


def test_the_tail_still_inside_the_filter_comes_from_the_vad_copy() -> None:
    asr = TranscriptionAudio(RATE, 16000)
    fallback = AudioBuffer()
    fallback.append(np.full(3200, 0.5, np.float32))
    asr.push(np.full(1600, 0.5, np.float32))  # 0.2 s in; the filter still holds ~66 ms
    got = asr.read(0, 3200, fallback)
    assert len(got) == 3200
    assert np.all(got[-500:] == 0.5)  # what the filter holds back came from the VAD copy
