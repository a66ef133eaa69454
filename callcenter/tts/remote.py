"""RemoteSynthesizer: the Synthesizer protocol over a WebSocket to ``callcenter tts-server``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from callcenter.service_errors import RemoteServiceError
from callcenter.tts import wire
from callcenter.tts.base import AudioChunk

# Longest wait for the next message of a stream (the first includes queueing behind
# other calls' clauses on a busy GPU).
DEFAULT_TIMEOUT_S = 30.0


class RemoteSynthesizer:
    """Streams one clause per WebSocket; closing the stream early closes the socket,
    which stops synthesis on the server."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        wait_ready_s: float = 0.0,
        token: str = "",
        language: str = "",
    ) -> None:
        self.url = url.rstrip("/")
        # Sent with each clause: "" asks for the engine's own language, "es" for Spanish
        # (an XTTS service speaks every language with one model; others refuse).
        self.language = language
        self.timeout_s = timeout_s
        self._auth = wire.bearer_headers(token)
        info = fetch_info(self.url, wait_s=wait_ready_s, token=token)
        # The protocol needs the rate before the first clause (playout is set up with it).
        self.sample_rate: int = int(info["sample_rate"])
        self.engine = str(info.get("engine", "?"))
        own = str(info.get("language") or "")
        if language and own and language != own and info.get("multilingual") is False:
            # Found at start-up, not on the first clause of the first call in it.
            raise RemoteServiceError(
                f"TTS service {self.url} ({self.engine}) speaks {own!r} only, not "
                f"{language!r}; run it with CALLCENTER_TTS_ENGINE=xtts for several languages"
            )
        scheme, rest = self.url.split("://", 1)
        self._stream_url = ("wss://" if scheme == "https" else "ws://") + rest + wire.STREAM_PATH

    async def stream(self, text: str) -> AsyncGenerator[AudioChunk, None]:
        if not text.strip():
            return
        try:
            websocket = await connect(
                self._stream_url,
                max_size=None,
                open_timeout=self.timeout_s,
                ping_interval=None,
                additional_headers=self._auth,
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as error:
            raise RemoteServiceError(
                f"TTS service {self.url} is unreachable ({type(error).__name__}: {error}); "
                "is `callcenter tts-server` running there (CALLCENTER_TTS_URL)?"
            ) from error
        # The socket is closed however this generator ends: by the end event, an error,
        # or the consumer closing it early (barge-in), which is what stops the server.
        async with websocket:
            try:
                await websocket.send(wire.tts_request(text, self.language))
                rate = self.sample_rate
                while True:
                    message = await asyncio.wait_for(websocket.recv(), self.timeout_s)
                    if isinstance(message, bytes):
                        yield AudioChunk(samples=wire.decode_chunk(message), sample_rate=rate)
                        continue
                    event = wire.parse_tts_event(message)
                    if event["type"] == "start":
                        rate = int(event["sample_rate"])
                    elif event["type"] == "end":
                        return
                    else:
                        raise RemoteServiceError(
                            f"TTS service {self.url}: {event.get('message', 'error')}"
                        )
            except TimeoutError as error:
                raise RemoteServiceError(
                    f"TTS service {self.url} sent nothing for {self.timeout_s} s"
                ) from error
            except ConnectionClosed as error:
                raise RemoteServiceError(
                    f"TTS service {self.url} closed the stream early ({error})"
                ) from error
            except wire.WireError as error:
                raise RemoteServiceError(f"TTS service {self.url}: {error}") from error

    async def close(self) -> None:
        """Nothing is held between clauses: each stream owns its socket."""


def fetch_info(url: str, *, wait_s: float = 0.0, token: str = "") -> dict[str, Any]:
    """The service's engine and sample rate; retried for ``wait_s`` while it starts up.

    Blocking, like loading a local engine: called once at start-up.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            response = httpx.get(
                url + wire.INFO_PATH, headers=wire.bearer_headers(token), timeout=5.0
            )
            if response.status_code == 200:
                info: dict[str, Any] = response.json()
                return info
            problem = f"answered {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as error:
            problem = f"is unreachable ({type(error).__name__}: {error})"
        if time.monotonic() >= deadline:
            raise RemoteServiceError(
                f"TTS service {url} {problem}; is `callcenter tts-server` running there "
                "(CALLCENTER_TTS_URL)?"
            )
        time.sleep(1.0)
