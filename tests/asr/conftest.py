"""One Whisper engine for the whole test session (loading it takes seconds)."""

from __future__ import annotations

import pytest

from callcenter.asr.faster_whisper import WhisperEngine


@pytest.fixture(scope="session")
def engine() -> WhisperEngine:
    return WhisperEngine("tiny.en", min_window_s=10.0)
