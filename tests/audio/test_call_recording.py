"""The call recording: stereo, both sides on the caller's timeline, cleared audio unheard."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from callcenter.audio.call_recording import CallRecording, recording_path
from callcenter.audio.g711 import float_to_ulaw

FRAME = 160  # 20 ms at 8 kHz


def _tone(n: int, freq: float = 440.0) -> bytes:
    t = np.arange(n) / 8000
    return float_to_ulaw((0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32))


def _read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return data[0::2], data[1::2]


def _loud(samples: np.ndarray) -> bool:
    return bool(np.abs(samples.astype(np.int32)).max() > 2000)


def test_both_sides_land_where_the_caller_heard_them(tmp_path: Path) -> None:
    path = recording_path(tmp_path, "call-1")
    recording = CallRecording(path)
    silence = b"\xff" * FRAME
    for i in range(10):  # 200 ms of caller speech
        recording.caller(_tone(FRAME), timestamp_ms=i * 20)
    recording.agent(_tone(FRAME * 5, 880.0))  # 100 ms of agent audio, sent at once
    for i in range(10, 20):
        recording.caller(silence, timestamp_ms=i * 20)
    recording.close()
    left, right = _read(path)
    assert len(left) == 20 * FRAME
    assert _loud(left[: 10 * FRAME]) and not _loud(left[10 * FRAME :])
    # The agent is heard from 200 ms (when sent) for 100 ms, then silence.
    assert not _loud(right[: 10 * FRAME])
    assert _loud(right[10 * FRAME : 15 * FRAME]) and not _loud(right[15 * FRAME :])


def test_a_clear_drops_the_unplayed_rest_and_gaps_are_filled(tmp_path: Path) -> None:
    path = recording_path(tmp_path, "call-2")
    recording = CallRecording(path)
    recording.agent(_tone(FRAME * 50, 880.0))  # a 1 s answer
    recording.caller(b"\xff" * FRAME, timestamp_ms=0)
    recording.caller(b"\xff" * FRAME, timestamp_ms=20)
    recording.clear()  # barge-in after 40 ms: the rest was never heard
    recording.caller(b"\xff" * FRAME, timestamp_ms=100)  # 60 ms of frames missing
    recording.close()
    left, right = _read(path)
    assert len(left) == 6 * FRAME  # the gap is kept on the timeline
    assert _loud(right[: 2 * FRAME]) and not _loud(right[2 * FRAME :])
    assert recording.duration_ms == 120


def test_a_call_id_cannot_escape_the_directory(tmp_path: Path) -> None:
    assert recording_path(tmp_path, "../../etc/passwd").parent == tmp_path
    with pytest.raises(ValueError):
        recording_path(tmp_path, "../..")
