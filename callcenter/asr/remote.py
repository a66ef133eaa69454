"""RemoteTranscriber: the Transcriber protocol over HTTP to ``callcenter asr-server``."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np

from callcenter.asr import wire
from callcenter.asr.base import Transcript
from callcenter.service_errors import RemoteServiceError

# Generous: under load a request waits for the batch ahead of it; a call that cannot
# wait this long is better told the service is failing than left hanging.
DEFAULT_TIMEOUT_S = 30.0


class RemoteTranscriber:
    """Sends each utterance to the ASR service; cancelling ``transcribe`` abandons it there."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        audio_format: wire.AudioFormat = "f32le",
        token: str = "",
    ) -> None:
        self.url = url.rstrip("/")
        self._auth = wire.bearer_headers(token)
        self.timeout_s = timeout_s
        self.audio_format: wire.AudioFormat = audio_format
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def transcribe(
        self, audio: np.ndarray, *, hint: str | None = None, language: str | None = None
    ) -> Transcript:
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        if samples.size == 0:  # the same answer the in-process batcher gives
            return Transcript(text="", confidence=0.0)
        headers = {
            "content-type": "application/octet-stream",
            wire.FORMAT_HEADER: self.audio_format,
            **self._auth,
        }
        if hint:
            headers[wire.HINT_HEADER] = hint
        if language:
            headers[wire.LANGUAGE_HEADER] = language
        target = self.url + wire.TRANSCRIBE_PATH
        try:
            response = await self._http().post(
                target, content=wire.encode_audio(samples, self.audio_format), headers=headers
            )
        except httpx.TimeoutException as error:
            raise RemoteServiceError(
                f"ASR service {self.url} did not answer within {self.timeout_s} s"
            ) from error
        except httpx.TransportError as error:
            raise RemoteServiceError(
                f"ASR service {self.url} is unreachable ({type(error).__name__}: {error}); "
                "is `callcenter asr-server` running there (CALLCENTER_ASR_URL)?"
            ) from error
        if response.status_code != 200:
            raise RemoteServiceError(
                f"ASR service {self.url} answered {response.status_code}: {_reason(response)}"
            )
        try:
            return wire.transcript_from_json(response.json())
        except ValueError as error:
            raise RemoteServiceError(
                f"ASR service {self.url} sent a bad answer: {error}"
            ) from error

    def _http(self) -> httpx.AsyncClient:
        # A pooled client per event loop: connections are reused across utterances, and
        # a client made on another loop (tests, a restarted server) cannot be.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._loop = loop
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_s, connect=min(5.0, self.timeout_s)),
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            )
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return response.text[:200] or response.reason_phrase
