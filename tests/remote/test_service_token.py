"""With CALLCENTER_SPEECH_SERVICE_TOKEN set, the speech services serve only callers that
send it; the probes stay open for Kubernetes. Real `asr-server` / `tts-server` processes."""

from __future__ import annotations

import secrets

import httpx
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from callcenter.asr.remote import RemoteTranscriber
from callcenter.remote import RemoteServiceError
from callcenter.settings import load_settings
from callcenter.tts import make_synthesizer, wire
from callcenter.tts.remote import RemoteSynthesizer
from tests.remote.conftest import ASR_ENV, TTS_ENV, speech_service

pytestmark = pytest.mark.models

TOKEN = secrets.token_urlsafe(32)


async def test_the_asr_service_needs_the_token() -> None:
    silence = np.zeros(16_000, dtype=np.float32)
    with speech_service("asr-server", ASR_ENV | {"CALLCENTER_SPEECH_SERVICE_TOKEN": TOKEN}) as url:
        async with httpx.AsyncClient(timeout=10) as probes:
            for probe in ("/healthz", "/readyz", "/metrics"):
                assert (await probes.get(url + probe)).status_code == 200
        stranger = RemoteTranscriber(url)
        wrong = RemoteTranscriber(url, token="not-" + TOKEN)
        trusted = RemoteTranscriber(url, token=TOKEN)
        try:
            for client in (stranger, wrong):
                with pytest.raises(RemoteServiceError, match="answered 401"):
                    await client.transcribe(silence)
            assert (await trusted.transcribe(silence)).text.strip() in ("", ".")
        finally:
            for client in (stranger, wrong, trusted):
                await client.close()


async def test_the_tts_service_needs_the_token() -> None:
    with speech_service("tts-server", TTS_ENV | {"CALLCENTER_SPEECH_SERVICE_TOKEN": TOKEN}) as url:
        with pytest.raises(RemoteServiceError, match="401"):
            RemoteSynthesizer(url)
        stream_url = url.replace("http://", "ws://") + wire.STREAM_PATH
        with pytest.raises(InvalidStatus) as refused:
            connect(stream_url, open_timeout=10)
        assert refused.value.response.status_code == 403
        # The app's own wiring: the token from settings reaches the client.
        synth = make_synthesizer(load_settings(tts_url=url, speech_service_token=TOKEN))
        chunks = [chunk async for chunk in synth.stream("Hello there.")]
        assert sum(chunk.samples.size for chunk in chunks) > synth.sample_rate // 4
        await synth.close()
