"""RemoteTranscriber against a real `callcenter asr-server`: same transcripts, shared batches."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from callcenter.asr import make_local_transcriber, make_transcriber, wire
from callcenter.asr.base import HINT_DIGITS, Transcript
from callcenter.asr.bench import endpointed_utterances, phone_frames, phone_path
from callcenter.asr.remote import RemoteTranscriber
from callcenter.audio.vad import EndpointingPolicy
from callcenter.bench.languages import espeak_ulaw, phone_to_asr
from callcenter.remote import RemoteServiceError
from callcenter.settings import load_settings
from tests.remote.conftest import ASR_ENV, metric, speech_service
from tests.support.asr import words
from tests.support.paths import SPEECH
from tests.support.servers import free_port

pytestmark = pytest.mark.models

KEYWORDS = ["ring", "journey", "cat", "shell", "children", "grass", "coins", "storm"]


@pytest.fixture(scope="module")
def sentences() -> list[np.ndarray]:
    path = SPEECH / "osr_8k" / "OSR_us_000_0034_8k.wav"
    return endpointed_utterances(phone_frames(path), EndpointingPolicy())[:8]


def engine_settings(env: dict[str, str] = ASR_ENV) -> dict[str, object]:
    prefix = "CALLCENTER_"
    return {key.removeprefix(prefix).lower(): value for key, value in env.items()}


async def test_remote_transcripts_equal_in_process_transcripts(
    asr_url: str, sentences: list[np.ndarray]
) -> None:
    local = make_local_transcriber(load_settings(**engine_settings()))
    remote = RemoteTranscriber(asr_url)
    digit = phone_path(SPEECH / "fsdd_8k" / "7_jackson_0.wav")
    try:
        # One at a time on both sides: a batch's window depends on its longest member.
        for audio, hint in [(s, None) for s in sentences[:4]] + [(digit, HINT_DIGITS)]:
            here = await local.transcribe(audio, hint=hint)
            there = await remote.transcribe(audio, hint=hint)
            assert there.text == here.text
            assert there.confidence == pytest.approx(here.confidence, abs=1e-6)
            assert there.audio_s == pytest.approx(here.audio_s)
    finally:
        await local.close()
        await remote.close()
    assert "7" in there.text or "seven" in there.text.lower()


async def test_concurrent_remote_requests_share_decode_calls(
    asr_url: str, sentences: list[np.ndarray]
) -> None:
    # Separate clients, as separate web pods would be.
    clients = [RemoteTranscriber(asr_url) for _ in sentences]
    before = metric(asr_url, "asr_batch_size_count")
    try:
        results = await asyncio.gather(
            *(client.transcribe(s) for client, s in zip(clients, sentences, strict=True))
        )
    finally:
        await asyncio.gather(*(client.close() for client in clients))
    for keyword, result in zip(KEYWORDS, results, strict=True):
        assert keyword in result.text.lower()
    assert max(result.batch_size for result in results) > 1
    assert all(result.batch_size <= 8 for result in results)
    assert metric(asr_url, "asr_batch_size_count") - before == len(sentences)
    assert metric(asr_url, "asr_batch_size_sum") > metric(asr_url, "asr_batch_size_count")


async def test_pcm16_requests_are_understood(asr_url: str, sentences: list[np.ndarray]) -> None:
    remote = RemoteTranscriber(asr_url, audio_format="s16le")
    try:
        result = await remote.transcribe(sentences[2])
    finally:
        await remote.close()
    assert "cat" in result.text.lower()


async def test_a_caller_that_gives_up_is_abandoned_not_answered(
    asr_url: str, sentences: list[np.ndarray]
) -> None:
    remote = RemoteTranscriber(asr_url)
    before = metric(asr_url, "asr_requests_total", outcome="abandoned")
    try:
        task = asyncio.ensure_future(remote.transcribe(sentences[0]))
        # Cancel once the server holds it (queued in the batch window or decoding), not
        # after a fixed sleep: on a busy machine the request may not have left yet.
        for _ in range(100):
            if await asyncio.to_thread(metric, asr_url, "asr_in_flight") >= 1:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await remote.close()
    for _ in range(50):
        if metric(asr_url, "asr_requests_total", outcome="abandoned") > before:
            break
        await asyncio.sleep(0.1)
    assert metric(asr_url, "asr_requests_total", outcome="abandoned") == before + 1


def test_bad_requests_get_400_with_the_reason(asr_url: str) -> None:
    target = asr_url + wire.TRANSCRIBE_PATH
    odd = httpx.post(target, content=b"\x00" * 7)
    assert odd.status_code == 400 and "whole samples" in odd.json()["error"]
    hint = httpx.post(target, content=b"\x00" * 8, headers={wire.HINT_HEADER: "colour"})
    assert hint.status_code == 400 and "digits" in hint.json()["error"]
    fmt = httpx.post(target, content=b"\x00" * 8, headers={wire.FORMAT_HEADER: "mp3"})
    assert fmt.status_code == 400 and "f32le" in fmt.json()["error"]
    for bad in ("Spanish", "ES", "e"):
        lang = httpx.post(target, content=b"\x00" * 8, headers={wire.LANGUAGE_HEADER: bad})
        assert lang.status_code == 400
        assert lang.json()["error"] == (
            f"{wire.LANGUAGE_HEADER} must be a 2-3 letter lower-case language code like 'es', "
            f"got {bad!r}"
        )


# Spanish callers are heard by the multilingual base; an English call by tiny.en.
ROUTED_ENV = ASR_ENV | {
    "CALLCENTER_LANGUAGES": "en,es",
    "CALLCENTER_LANGUAGE_ASR_MODELS": "en=tiny.en",
}


async def test_the_calls_language_reaches_the_service_and_picks_the_model() -> None:
    spanish = phone_to_asr(espeak_ulaw("Quiero saber el saldo de mi cuenta, por favor.", "es"))
    local = make_local_transcriber(load_settings(**engine_settings(ROUTED_ENV)))
    heard: dict[str | None, Transcript] = {}
    with speech_service("asr-server", ROUTED_ENV) as url:
        remote = RemoteTranscriber(url)
        try:
            for prior in (None, "es", "en"):
                here = await local.transcribe(spanish, language=prior)
                heard[prior] = await remote.transcribe(spanish, language=prior)
                assert (heard[prior].text, heard[prior].language) == (here.text, here.language)
        finally:
            await local.close()
            await remote.close()
        async with httpx.AsyncClient() as probe:
            health = (await probe.get(url + "/healthz")).json()
    assert (health["model"], health["language_models"]) == ("base", {"en": "tiny.en"})
    # No prior (first words) or Spanish: base hears Spanish. A call already in English:
    # tiny.en, which writes English words whatever it hears.
    for prior in (None, "es"):
        assert heard[prior].language == "es" and "saldo" in words(heard[prior].text)
    assert heard["en"].language == "en" and "saldo" not in words(heard["en"].text)


def test_probes_and_metrics(asr_url: str) -> None:
    health = httpx.get(asr_url + "/healthz").json()
    assert health["status"] == "ok" and health["model"] == "tiny.en"
    assert httpx.get(asr_url + "/readyz").json() == {"ready": True}
    assert "asr_requests_total" in httpx.get(asr_url + "/metrics").text


async def test_server_down_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    remote = make_transcriber(load_settings(asr_url=url))
    assert isinstance(remote, RemoteTranscriber)
    try:
        with pytest.raises(RemoteServiceError, match=r"ASR service .* is unreachable"):
            await remote.transcribe(np.zeros(1600, dtype=np.float32))
    finally:
        await remote.close()
