"""Coqui XTTS-v2 (coqui-tts), streamed with ``Xtts.inference_stream``: the production voice.

torch and TTS are imported only when a synthesizer is built, so the main environment
(which must never contain torch) can import ``callcenter.tts`` freely. XTTS runs in its
own environment; see ``tests/tts/xtts_env.sh``.

The model directory has the layout of the published XTTS-v2 model: ``config.json``,
``model.pth``, ``vocab.json`` and optionally ``speakers_xtts.pth`` (built-in voices).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import numpy as np

from callcenter.tts.base import AudioChunk
from callcenter.tts.worker import SynthesisWorker

log = logging.getLogger(__name__)

# GPT tokens per streamed chunk. Each token is ~46 ms of audio (code stride 1024 at
# 22.05 kHz); 20 is the value coqui's streaming examples use: the first chunk after
# ~0.9 s of audio is generated, then chunks of that size.
DEFAULT_STREAM_CHUNK_SIZE = 20


class XttsSynthesizer:
    """Streams XTTS audio (24 kHz) chunk by chunk as the GPT generates it."""

    def __init__(
        self,
        model_dir: str | Path,
        speaker_wav: str | Path | None = None,
        *,
        speaker: str = "",
        device: str = "cuda",
        language: str = "en",
        speaking_rate: float = 1.0,
        stream_chunk_size: int = DEFAULT_STREAM_CHUNK_SIZE,
        seed: int | None = None,
    ) -> None:
        import torch  # lazily: only the XTTS environment has torch

        if device.startswith("cuda") and not torch.cuda.is_available():
            # Failing loudly: silently falling back to CPU would make every call lag.
            raise RuntimeError(
                f"CALLCENTER_XTTS_DEVICE={device} but CUDA is not available; "
                "set CALLCENTER_XTTS_DEVICE=cpu to run XTTS on the CPU (slow)"
            )
        self._torch = torch
        self._model = load_xtts(Path(model_dir), device)
        self.sample_rate: int = int(self._model.config.model_args.output_sample_rate)
        self.language = language
        self.speaking_rate = speaking_rate
        self.stream_chunk_size = stream_chunk_size
        self._seed = seed
        # Conditioning is computed once: it is the costly part of voice cloning and is
        # the same for every clause of every call.
        self._gpt_cond_latent, self._speaker_embedding = self._conditioning(
            Path(speaker_wav) if speaker_wav else None, speaker
        )
        self._worker = SynthesisWorker("xtts")
        # Chunks generated so far (all streams): for metrics, and how tests see that an
        # early close really stopped the GPT.
        self.chunks_synthesized = 0

    def _conditioning(self, speaker_wav: Path | None, speaker: str) -> tuple[Any, Any]:
        model = self._model
        if speaker_wav is not None:
            if not speaker_wav.is_file():
                raise FileNotFoundError(f"XTTS speaker wav not found: {speaker_wav}")
            return conditioning_from_wav(model, speaker_wav)
        manager = model.speaker_manager
        if manager is None or not manager.speaker_names:
            raise ValueError(
                "this XTTS model has no built-in speakers (speakers_xtts.pth): "
                "set CALLCENTER_XTTS_SPEAKER_WAV to a few seconds of the voice to clone"
            )
        name = speaker or manager.speaker_names[0]
        if name not in manager.speakers:
            known = ", ".join(manager.speaker_names[:10])
            raise ValueError(f"unknown XTTS speaker {name!r}; built-in speakers: {known}, …")
        voice = manager.speakers[name]
        return voice["gpt_cond_latent"], voice["speaker_embedding"]

    def for_language(self, language: str) -> XttsLanguageVoice:
        """This voice speaking ``language`` (an XTTS code: en, es, de, …).

        The view shares this synthesizer's model, speaker conditioning and worker: one
        model on the GPU serves every language, and clauses of all languages queue on
        the same worker.
        """
        known = list(getattr(self._model.config, "languages", None) or [])
        if known and language not in known:
            raise ValueError(f"XTTS does not speak {language!r}; it speaks {', '.join(known)}")
        return XttsLanguageVoice(self, language)

    def _chunks(self, text: str, rate: float = 1.0, language: str = "") -> Iterator[AudioChunk]:
        if self._seed is not None:
            self._torch.manual_seed(self._seed)
        config = self._model.config
        stream = self._model.inference_stream(
            text,
            language or self.language,
            self._gpt_cond_latent,
            self._speaker_embedding,
            stream_chunk_size=self.stream_chunk_size,
            temperature=config.temperature,
            length_penalty=config.length_penalty,
            repetition_penalty=config.repetition_penalty,
            top_k=config.top_k,
            top_p=config.top_p,
            speed=self.speaking_rate * rate,
            enable_text_splitting=False,  # the clause chunker already split the text
        )
        try:
            for wav in stream:
                samples = wav.detach().float().cpu().numpy().reshape(-1).astype(np.float32)
                self.chunks_synthesized += 1
                if samples.size:
                    yield AudioChunk(samples=samples, sample_rate=self.sample_rate)
        finally:
            stream.close()  # stops the GPT generator when the consumer stops early

    async def stream(self, text: str) -> AsyncGenerator[AudioChunk, None]:
        async with aclosing(self.stream_at_rate(text, 1.0)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def stream_at_rate(
        self, text: str, rate: float, *, language: str = ""
    ) -> AsyncGenerator[AudioChunk, None]:
        """One clause at ``rate`` times the configured speed (a caller asked for slower),
        in ``language`` (default: this synthesizer's own)."""
        if not text.strip():
            return
        work = self._worker.iterate(lambda: self._chunks(text, rate, language))
        async with aclosing(work) as chunks:
            async for chunk in chunks:
                yield chunk

    async def warm_up(self) -> None:
        """One throwaway clause: CUDA kernels and caches are set up before the first call."""
        async for _ in self.stream("Hello."):
            pass

    async def close(self) -> None:
        self._worker.shutdown()


class XttsLanguageVoice:
    """An :class:`XttsSynthesizer` speaking another language (``for_language``).

    Holds nothing of its own: closing it leaves the shared model and worker running (the
    synthesizer it came from owns them).
    """

    def __init__(self, base: XttsSynthesizer, language: str) -> None:
        self._base = base
        self.language = language
        self.sample_rate = base.sample_rate

    def for_language(self, language: str) -> XttsLanguageVoice:
        return self._base.for_language(language)

    async def stream(self, text: str) -> AsyncGenerator[AudioChunk, None]:
        async with aclosing(self.stream_at_rate(text, 1.0)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def stream_at_rate(self, text: str, rate: float) -> AsyncGenerator[AudioChunk, None]:
        work = self._base.stream_at_rate(text, rate, language=self.language)
        async with aclosing(work) as chunks:
            async for chunk in chunks:
                yield chunk

    async def close(self) -> None:
        """Nothing to release: the model and worker are the base synthesizer's."""


def conditioning_from_wav(model: Any, path: Path) -> tuple[Any, Any]:
    """GPT conditioning latent and speaker embedding from a reference recording.

    The same steps as ``Xtts.get_conditioning_latents`` except decoding: that goes
    through ``torchaudio.load`` -> torchcodec, whose PyPI build is CUDA-linked and fails
    to load without NVIDIA's NPP libraries. librosa (soundfile) decodes WAV/FLAC/OGG/MP3
    without it.
    """
    # librosa comes with coqui-tts, so only the XTTS environment has it.
    import librosa  # type: ignore[import-not-found, unused-ignore]
    import torch

    config = model.config
    rate = int(config.audio.sample_rate)  # 22.05 kHz, what XTTS's encoders expect
    samples, _ = librosa.load(str(path), sr=rate, mono=True)
    audio = torch.from_numpy(np.clip(samples, -1.0, 1.0).astype(np.float32))[None, :]
    audio = audio[:, : rate * config.max_ref_len].to(model.device)
    if config.sound_norm_refs:
        audio = (audio / torch.abs(audio).max()) * 0.75
    speaker_embedding = model.get_speaker_embedding(audio, rate)
    gpt_cond_latent = model.get_gpt_cond_latents(
        audio, rate, length=config.gpt_cond_len, chunk_length=config.gpt_cond_chunk_len
    )
    return gpt_cond_latent, speaker_embedding


def load_xtts(model_dir: Path, device: str) -> Any:
    """Load an XTTS model directory the way the published XTTS-v2 is loaded."""
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(
            f"CALLCENTER_XTTS_MODEL_DIR={model_dir} has no config.json "
            "(expected the XTTS-v2 model directory: config.json, model.pth, vocab.json)"
        )
    config = XttsConfig()
    config.load_json(str(config_path))
    model = Xtts(config)
    model.load_checkpoint(config, checkpoint_dir=str(model_dir), eval=True)
    model.to(device)
    log.info("xtts loaded from %s on %s", model_dir, device)
    return model
