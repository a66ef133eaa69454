"""Kokoro-82M (int8 ONNX, Apache-2.0): the embedded voice for languages Piper has no
packaged voice for (Spanish, German, ...), fed espeak-ng phonemes.

The model and the style vectors are assembled at install (:mod:`.kokoro_files`); the
packaged styles are Japanese speakers, of which ``jm_kumo`` reads Spanish and German
phonemes so that Whisper transcribes them nearly word for word. One ONNX run per
sentence, on the synthesizer's own worker thread.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from pathlib import Path

import numpy as np
import onnxruntime

from callcenter.tts.base import AudioChunk
from callcenter.tts.espeak import phonemes
from callcenter.tts.kokoro_files import KOKORO
from callcenter.tts.worker import SynthesisWorker

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000
DEFAULT_STYLE = "jm_kumo"
MAX_TOKENS = 500  # the model's context is 512 with the two boundary tokens
OUTPUT_PEAK = 0.8  # headroom for resampling and μ-law, as for Piper


class KokoroSynthesizer:
    def __init__(
        self,
        language: str,
        style: str = DEFAULT_STYLE,
        speaking_rate: float = 1.0,
        threads: int = 0,
        model_dir: Path | None = None,
    ) -> None:
        if speaking_rate <= 0:
            raise ValueError(f"speaking_rate must be positive, got {speaking_rate}")
        folder = model_dir or KOKORO.installed()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or max(1, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(folder / "kokoro-v1.0.int8.onnx"),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        self._vocab: dict[str, int] = json.loads((folder / "vocab.json").read_text())["vocab"]
        with np.load(folder / "voices.npz") as voices:
            if style not in voices.files:
                raise ValueError(f"Kokoro style {style!r}: expected one of {voices.files}")
            self._style = np.asarray(voices[style], dtype=np.float32)
        self.language = language
        self.speed = speaking_rate
        self.sample_rate = SAMPLE_RATE
        self._worker = SynthesisWorker(f"kokoro-{language}")
        log.info("kokoro voice %s loaded for %s", style, language)

    def tokens(self, text: str) -> list[list[int]]:
        """Token ids per sentence (unknown phoneme symbols dropped, long ones cut)."""
        out = []
        for sentence in phonemes(text, self.language):
            ids = [self._vocab[ch] for ch in sentence if ch in self._vocab]
            for start in range(0, len(ids), MAX_TOKENS):
                if ids[start : start + MAX_TOKENS]:
                    out.append(ids[start : start + MAX_TOKENS])
        return out

    def _sentences(self, text: str) -> Iterator[AudioChunk]:
        for ids in self.tokens(text):
            style = self._style[min(len(ids), len(self._style)) - 1].reshape(1, -1)
            audio = self._session.run(
                None,
                {
                    "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                    "style": style,
                    "speed": np.array([self.speed], dtype=np.float32),
                },
            )[0]
            samples = np.asarray(audio, dtype=np.float32).reshape(-1)
            peak = float(np.max(np.abs(samples))) if samples.size else 0.0
            if peak > 0:
                samples = samples * (OUTPUT_PEAK / peak)
            yield AudioChunk(samples=samples, sample_rate=SAMPLE_RATE)

    async def stream(self, text: str) -> AsyncGenerator[AudioChunk, None]:
        if not text.strip():
            return
        async with aclosing(self._worker.iterate(lambda: self._sentences(text))) as chunks:
            async for chunk in chunks:
                yield chunk

    async def close(self) -> None:
        self._worker.shutdown()
