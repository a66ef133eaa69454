"""Cross-call batching with the real engine: each caller gets its own transcript."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from callcenter.asr.base import HINT_DIGITS
from callcenter.asr.batcher import BatchingTranscriber, TranscriberClosed
from callcenter.asr.bench import endpointed_utterances, phone_frames, phone_path
from callcenter.asr.faster_whisper import WhisperEngine
from callcenter.audio.vad import EndpointingPolicy
from callcenter.text.spoken_numbers import parse_digits
from tests.support.paths import SPEECH

pytestmark = pytest.mark.models

# A distinctive word of each OSR sentence, in order.
KEYWORDS = ["ring", "journey", "cat", "shell", "children", "grass", "coins", "storm"]


@pytest.fixture(scope="module")
def sentences() -> list[np.ndarray]:
    path = SPEECH / "osr_8k" / "OSR_us_000_0034_8k.wav"
    return endpointed_utterances(phone_frames(path), EndpointingPolicy())[:8]


async def test_concurrent_callers_each_get_their_own_transcript(
    engine: WhisperEngine, sentences: list[np.ndarray]
) -> None:
    transcriber = BatchingTranscriber(engine, max_batch_size=8, max_wait_ms=50)
    try:
        results = await asyncio.gather(*(transcriber.transcribe(s) for s in sentences))
    finally:
        await transcriber.close()
    for keyword, result in zip(KEYWORDS, results, strict=True):
        assert keyword in result.text.lower()
    assert max(r.batch_size for r in results) > 1  # they really shared decode calls


async def test_batches_never_exceed_max_batch_size(
    engine: WhisperEngine, sentences: list[np.ndarray]
) -> None:
    transcriber = BatchingTranscriber(engine, max_batch_size=3, max_wait_ms=50)
    try:
        results = await asyncio.gather(*(transcriber.transcribe(s) for s in sentences))
    finally:
        await transcriber.close()
    assert all(r.batch_size <= 3 for r in results)
    assert sum(transcriber.batch_sizes) == len(sentences)
    assert max(transcriber.batch_sizes) == 3


async def test_digits_and_free_speech_callers_share_a_batch(
    engine: WhisperEngine, sentences: list[np.ndarray]
) -> None:
    five = phone_path(SPEECH / "fsdd_8k" / "5_theo_0.wav")
    transcriber = BatchingTranscriber(engine, max_batch_size=8, max_wait_ms=50)
    try:
        words, digit = await asyncio.gather(
            transcriber.transcribe(sentences[2]), transcriber.transcribe(five, hint=HINT_DIGITS)
        )
    finally:
        await transcriber.close()
    assert "cat" in words.text.lower()
    assert parse_digits(digit.text) == "5"


async def test_a_cancelled_caller_does_not_break_the_batch(
    engine: WhisperEngine, sentences: list[np.ndarray]
) -> None:
    transcriber = BatchingTranscriber(engine, max_batch_size=8, max_wait_ms=100)
    try:
        tasks = [asyncio.create_task(transcriber.transcribe(s)) for s in sentences[:4]]
        await asyncio.sleep(0)  # all four are queued
        tasks[1].cancel()  # the caller hung up
        done = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(done[1], asyncio.CancelledError)
        for index in (0, 2, 3):
            result, keyword = done[index], KEYWORDS[index]
            assert not isinstance(result, BaseException)
            assert keyword in result.text.lower()
        # Cancelled while its batch was decoding: the others still get their results.
        first = asyncio.create_task(transcriber.transcribe(sentences[4]))
        second = asyncio.create_task(transcriber.transcribe(sentences[5]))
        await asyncio.sleep(0.15)
        first.cancel()
        assert "grass" in (await second).text.lower()
        assert "coins" in (await transcriber.transcribe(sentences[6])).text.lower()
    finally:
        await transcriber.close()


async def test_close_fails_waiting_callers_and_refuses_new_ones(
    engine: WhisperEngine, sentences: list[np.ndarray]
) -> None:
    transcriber = BatchingTranscriber(engine, max_batch_size=1, max_wait_ms=0)
    tasks = [asyncio.create_task(transcriber.transcribe(s)) for s in sentences[:3]]
    await asyncio.sleep(0.05)
    await transcriber.close()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(o, TranscriberClosed) for o in outcomes[1:])
    with pytest.raises(TranscriberClosed):
        await transcriber.transcribe(sentences[0])


async def test_empty_audio_needs_no_model(engine: WhisperEngine) -> None:
    transcriber = BatchingTranscriber(engine)
    try:
        result = await transcriber.transcribe(np.zeros(0, dtype=np.float32))
    finally:
        await transcriber.close()
    assert result.text == "" and result.confidence == 0.0


async def test_factory_builds_the_embedded_batching_transcriber(
    sentences: list[np.ndarray],
) -> None:
    from callcenter.asr import make_transcriber
    from callcenter.settings import load_settings

    transcriber = make_transcriber(load_settings(asr_batch_size=4, asr_window_s=10))
    try:
        assert transcriber.max_batch_size == 4
        result = await transcriber.transcribe(sentences[4])
    finally:
        await transcriber.close()
    assert "children" in result.text.lower()
