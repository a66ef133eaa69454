"""Our Whisper log-mel features and the Smart Turn model file handling."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from callcenter.asr.bench import phone_frames
from callcenter.audio import smart_turn_files
from callcenter.audio.resample import resample
from callcenter.audio.turn_completion import last_window, log_mel
from tests.support.paths import SPEECH

# Computed once with the reference implementation shipped in the pipecat-ai 1.14.0 wheel
# (pipecat/audio/turn/smart_turn/_whisper_features.py, transformers' Whisper recipe) on the
# first 8 s of the OSR recording; our features matched it to 0.0 everywhere.
REFERENCE_MEAN, REFERENCE_STD = 0.37861406803131104, 0.488809198141098
REFERENCE_VALUES = {
    (0, 0): 0.6850809454917908,
    (10, 100): 0.38077816367149353,
    (40, 400): -0.07109435647726059,
    (79, 799): -0.15495845675468445,
    (20, 250): 0.5770882368087769,
    (60, 600): 0.10601920634508133,
}


def test_log_mel_matches_the_reference_whisper_features() -> None:
    audio = phone_frames(SPEECH / "osr_8k" / "OSR_us_000_0034_8k.wav")[: 8000 * 8]
    features = log_mel(resample(audio, 8000, 16000).astype(np.float32))
    assert features.shape == (80, 800) and features.dtype == np.float32
    assert features.mean() == pytest.approx(REFERENCE_MEAN, abs=1e-6)
    assert features.std() == pytest.approx(REFERENCE_STD, abs=1e-6)
    for (mel, frame), value in REFERENCE_VALUES.items():
        assert features[mel, frame] == pytest.approx(value, abs=1e-5)


def test_a_short_turn_is_padded_in_front_and_a_long_one_keeps_its_end() -> None:
    short = np.ones(16000, dtype=np.float32)
    window = last_window(short)
    assert window.size == 128000 and window[0] == 0.0 and window[-1] == 1.0
    long = np.arange(200000, dtype=np.float32)
    assert last_window(long)[-1] == 199999.0 and last_window(long).size == 128000
    with pytest.raises(ValueError, match="mono"):
        log_mel(np.zeros((2, 100), dtype=np.float32))


def fake_wheel(path: Path, onnx: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(smart_turn_files.ONNX_MEMBER, onnx)
        archive.writestr(smart_turn_files.LICENSE_MEMBER, "BSD 2-Clause")
    return path


def test_a_wheel_with_another_model_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "pipecat_ai-1.14.0-py3-none-any.whl", b"not the model")
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="SHA-256"):
        smart_turn_files.extract(wheel, cache)
    assert not (cache / smart_turn_files.FILENAME).exists()


def test_a_missing_model_names_the_command_that_fetches_it(tmp_path: Path) -> None:
    with pytest.raises(smart_turn_files.SmartTurnModelMissing, match="smart_turn_files"):
        smart_turn_files.installed_model(tmp_path)


def test_the_installed_model_has_the_pinned_hash() -> None:
    path = smart_turn_files.installed_model()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == smart_turn_files.SHA256
    assert (path.parent / smart_turn_files.LICENSE_FILENAME).read_text().startswith("BSD")
