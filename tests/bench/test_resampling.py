"""The resampling benchmark: its word errors, its two filters and its report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from callcenter.asr.bench import phone_frames
from callcenter.asr.faster_whisper import WhisperEngine
from callcenter.bench import resampling
from callcenter.bench.resampling import run_resampling_bench, table, upsample, word_errors
from tests.support.paths import SPEECH


def test_word_errors_count_substitutions_deletions_and_insertions() -> None:
    assert word_errors("Can you speak Spanish please?", "Can you peak, Panish Lane?") == (3, 5)
    assert word_errors("Yes, please.", "Yes, please.") == (0, 2)
    assert word_errors("Yes, please.", "") == (2, 2)  # nothing heard: every word missed


def test_the_quick_filter_mirrors_the_phone_band_and_the_high_quality_one_does_not() -> None:
    audio = phone_frames(SPEECH / "osr_8k" / "OSR_us_000_0034_8k.wav")[: 8000 * 4]

    def above_4k(samples: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(samples)) ** 2
        return float(
            spectrum[np.fft.rfftfreq(len(samples), 1 / 16000) > 4200].sum() / spectrum.sum()
        )

    quick, high = upsample(audio, "QQ"), upsample(audio, "HQ")
    assert abs(len(quick) - len(high)) <= 2 and abs(len(high) - 2 * len(audio)) <= 2
    assert above_4k(quick) > 10 * above_4k(high)


def test_a_small_run_reports_each_model_and_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resampling, "SENTENCES", ("I need to block my card.",))
    monkeypatch.setattr(resampling, "VOICE_NAMES", ("us",))
    monkeypatch.setattr(resampling, "ONSETS_MS", (0, 120))
    report = run_resampling_bench(tmp_path, {"tiny.en": WhisperEngine()}, SPEECH, fsdd_every=60)
    assert set(report["results"]) == {"tiny.en/quick", "tiny.en/high"}
    for result in report["results"].values():
        assert result["sentences"]["words"] == 12  # 6 words x 2 onsets
        assert 0.0 <= result["sentences"]["wer"] <= 1.0
        assert result["fsdd"]["of"] == 5  # 300 files, every 60th
    lines = table(report).splitlines()
    assert lines[2].startswith("| tiny.en | quick |") and lines[3].startswith("| tiny.en | high |")
