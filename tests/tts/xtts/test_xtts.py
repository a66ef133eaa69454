"""XttsSynthesizer on a tiny random XTTS, loaded through the production loading code.

The random model speaks noise; these tests check streaming, rates, lengths, cloning and
early close, not intelligibility (that needs the real weights, which cannot be fetched).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from callcenter.audio.g711 import PHONE_RATE
from callcenter.settings import load_settings
from callcenter.tts import make_language_voices, make_synthesizer
from callcenter.tts.base import AudioChunk
from callcenter.tts.render import render_pcm, to_phone_audio
from callcenter.tts.xtts import XttsLanguageVoice, XttsSynthesizer
from callcenter.tts.xtts_tiny import SPEAKER_NAME, write_reference_wav

pytestmark = pytest.mark.xtts

SENTENCE = "Thank you for calling, how can I help you today?"


@pytest.fixture(scope="module")
def xtts(tiny_xtts_dir: Path) -> Iterator[XttsSynthesizer]:
    # 8 GPT tokens per chunk (~0.37 s of audio): several chunks within the tiny model's
    # 45-token limit. A fixed seed makes the sampled tokens repeatable.
    synth = XttsSynthesizer(tiny_xtts_dir, device="cpu", stream_chunk_size=8, seed=0)
    yield synth
    asyncio.run(synth.close())


async def test_streams_several_24khz_chunks(xtts: XttsSynthesizer) -> None:
    chunks = [chunk async for chunk in xtts.stream(SENTENCE)]
    assert xtts.sample_rate == 24000
    assert len(chunks) >= 3
    for chunk in chunks:
        assert chunk.sample_rate == 24000
        assert chunk.samples.dtype == np.float32 and chunk.samples.ndim == 1
        assert chunk.samples.size > 0 and np.all(np.isfinite(chunk.samples))
    assert sum(c.samples.size for c in chunks) / 24000 > 0.5


async def test_phone_audio_has_the_duration_of_the_synthesized_audio(
    xtts: XttsSynthesizer,
) -> None:
    seen: list[np.ndarray] = []

    async def recorded() -> AsyncIterator[AudioChunk]:
        async for chunk in xtts.stream(SENTENCE):
            seen.append(chunk.samples)
            yield chunk

    parts = [part async for part in to_phone_audio(recorded())]
    ulaw = b"".join(parts)
    assert len(parts) >= 3  # streamed to the phone chunk by chunk, not at the end
    seconds = sum(s.size for s in seen) / 24000
    # 8 kHz μ-law: one byte per sample; 24 kHz -> 8 kHz is exactly a third.
    assert abs(len(ulaw) - seconds * PHONE_RATE) <= 2


async def test_early_close_stops_the_gpt(xtts: XttsSynthesizer) -> None:
    before = xtts.chunks_synthesized
    stream = to_phone_audio(xtts.stream(SENTENCE))
    assert await anext(stream)
    await stream.aclose()  # barge-in after the first chunk
    # A full run makes several chunks; after the close only the probe's first chunk more.
    probe = xtts.stream("Ok.")
    await anext(probe)
    await probe.aclose()
    assert xtts.chunks_synthesized - before == 2


async def test_speaking_rate_scales_duration(tiny_xtts_dir: Path) -> None:
    durations = {}
    for rate in (1.0, 2.0):
        synth = XttsSynthesizer(tiny_xtts_dir, device="cpu", speaking_rate=rate, seed=0)
        try:
            durations[rate] = (await render_pcm(synth, SENTENCE)).size
        finally:
            await synth.close()
    # Same seed, same GPT tokens; speed interpolates the latents to half as many frames.
    assert 0.4 < durations[2.0] / durations[1.0] < 0.6


async def test_clones_a_speaker_wav(tiny_xtts_dir: Path, tmp_path: Path) -> None:
    wav = write_reference_wav(tmp_path / "voice.wav", seconds=4.0, rate=16000)
    synth = XttsSynthesizer(tiny_xtts_dir, wav, device="cpu", stream_chunk_size=8, seed=0)
    try:
        audio = await render_pcm(synth, "Hello there.")
        assert audio.size > 0 and np.all(np.isfinite(audio))
    finally:
        await synth.close()


def test_speaker_choice_errors(tiny_xtts_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown XTTS speaker"):
        XttsSynthesizer(tiny_xtts_dir, device="cpu", speaker="Nobody")
    with pytest.raises(FileNotFoundError, match="speaker wav"):
        XttsSynthesizer(tiny_xtts_dir, tmp_path / "missing.wav", device="cpu")
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        XttsSynthesizer(tmp_path, device="cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            XttsSynthesizer(tiny_xtts_dir, device="cuda")


async def test_make_synthesizer_builds_xtts_from_settings(tiny_xtts_dir: Path) -> None:
    settings = load_settings(
        tts_engine="xtts",
        xtts_model_dir=str(tiny_xtts_dir),
        xtts_device="cpu",
        tts_voice=SPEAKER_NAME,
    )
    synth = make_synthesizer(settings)
    try:
        assert isinstance(synth, XttsSynthesizer) and synth.sample_rate == 24000
    finally:
        await synth.close()


async def test_for_language_speaks_another_language_with_the_same_model(
    xtts: XttsSynthesizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    inference_stream = xtts._model.inference_stream

    def recording(text: str, language: str, *args: object, **kwargs: object) -> object:
        asked.append(language)
        return inference_stream(text, language, *args, **kwargs)

    monkeypatch.setattr(xtts._model, "inference_stream", recording)
    spanish = xtts.for_language("es")
    assert spanish.language == "es" and xtts.language == "en"
    assert spanish.sample_rate == xtts.sample_rate == 24000
    before = xtts.chunks_synthesized
    chunks = [chunk async for chunk in spanish.stream("Gracias por llamar, ¿cómo puedo ayudarle?")]
    assert chunks and all(np.all(np.isfinite(c.samples)) for c in chunks)
    # One model and one worker: the view's chunks are the synthesizer's chunks.
    assert xtts.chunks_synthesized - before >= len(chunks)
    await spanish.close()  # the view owns nothing: the English voice goes on
    assert [chunk async for chunk in xtts.stream("Thanks.")]
    slower = [chunk async for chunk in xtts.for_language("de").stream_at_rate("Danke.", 0.5)]
    assert slower
    assert asked == ["es", "en", "de"]


def test_for_language_refuses_a_language_xtts_does_not_speak(xtts: XttsSynthesizer) -> None:
    with pytest.raises(ValueError, match="XTTS does not speak 'xx'; it speaks en, es"):
        xtts.for_language("xx")


async def test_xtts_language_voices_share_the_main_voice(tiny_xtts_dir: Path) -> None:
    settings = load_settings(
        tts_engine="xtts",
        xtts_model_dir=str(tiny_xtts_dir),
        xtts_device="cpu",
        tts_voice=SPEAKER_NAME,
        languages="en,es,de",
        language_voices="es=xtts,de=xtts",
    )
    main = make_synthesizer(settings)
    try:
        voices = make_language_voices(settings, main)
        assert {code: type(voice) for code, voice in voices.items()} == {
            "es": XttsLanguageVoice,
            "de": XttsLanguageVoice,
        }
        assert all(voice._base is main for voice in voices.values())
        assert [voice.language for voice in voices.values()] == ["es", "de"]
    finally:
        await main.close()
