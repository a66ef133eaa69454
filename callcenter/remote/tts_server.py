"""``callcenter tts-server``: a synthesizer streamed over WebSockets to many web pods.

One connection per clause (see :mod:`.wire`). Audio is sent as the engine produces it;
when the client closes the socket (barge-in, hang-up) the stream is closed at once,
which stops the engine after the step in flight (see ``tts/worker.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from callcenter.metrics import LATENCY_BUCKETS
from callcenter.remote.serving import probe_routes, service_middleware
from callcenter.service_errors import WireError
from callcenter.threads import run_in_engine_thread
from callcenter.tts import wire
from callcenter.tts.base import Synthesizer

log = logging.getLogger(__name__)


class TtsMetrics:
    def __init__(self, engine: dict[str, Synthesizer]) -> None:
        self.registry = CollectorRegistry()
        self.streams = Counter(
            "tts_streams",
            "Clauses streamed, by outcome (completed, cancelled by the client, error)",
            ["outcome"],
            registry=self.registry,
        )
        self.active = Gauge("tts_active_streams", "Clauses streaming now", registry=self.registry)
        self.first_audio = Histogram(
            "tts_first_audio_seconds",
            "Text received to the first audio chunk sent",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.audio_seconds = Counter(
            "tts_audio_seconds", "Seconds of audio sent", registry=self.registry
        )
        # Chunks the engine produced, sent or not: an early close must stop this growing.
        engine_chunks = Gauge(
            "tts_engine_chunks", "Audio chunks the engine has synthesised", registry=self.registry
        )
        engine_chunks.set_function(
            lambda: float(getattr(engine.get("synthesizer"), "chunks_synthesized", 0))
        )


def create_tts_app(
    load: Callable[[], Synthesizer], *, describe: dict[str, Any], token: str = ""
) -> Starlette:
    """The TTS service; ``load`` builds the engine (blocking, run once at start-up)."""
    engine: dict[str, Synthesizer] = {}
    voices: dict[str, Synthesizer] = {}  # the engine's views for other languages
    metrics = TtsMetrics(engine)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        synthesizer = await run_in_engine_thread(load)
        warm_up = getattr(synthesizer, "warm_up", None)
        if warm_up is not None:  # first-run kernel and cache set-up, before any caller
            await warm_up()
        engine["synthesizer"] = synthesizer
        log.info("tts service ready: %s (%d Hz)", describe, synthesizer.sample_rate)
        try:
            yield
        finally:
            await engine.pop("synthesizer").close()

    async def info(request: Request) -> JSONResponse:
        synthesizer = engine.get("synthesizer")
        if synthesizer is None:
            return JSONResponse({"error": "the TTS engine is not loaded"}, status_code=503)
        return JSONResponse(
            {
                **describe,
                "sample_rate": synthesizer.sample_rate,
                "encoding": wire.TTS_ENCODING,
                # What a client may ask for: the engine's own language, or any (XTTS).
                "language": str(getattr(synthesizer, "language", "") or ""),
                "multilingual": hasattr(synthesizer, "for_language"),
            }
        )

    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        synthesizer = engine.get("synthesizer")
        if synthesizer is None:
            await _refuse(websocket, "the TTS engine is not loaded", code=1013)
            return
        try:
            text, language = wire.parse_tts_request(await websocket.receive_text())
        except WebSocketDisconnect:
            return
        except (WireError, KeyError) as error:  # KeyError: a binary first message
            await _refuse(websocket, str(error) or "expected a text message", code=1007)
            return
        try:
            voice = voice_for_language(synthesizer, language, voices)
        except ValueError as error:
            await _refuse(websocket, str(error), code=1008)
            return
        metrics.active.inc()
        try:
            outcome = await _stream_until_closed(websocket, voice, text, metrics)
        finally:
            metrics.active.dec()
        metrics.streams.labels(outcome).inc()

    routes = [
        Route(wire.INFO_PATH, info),
        WebSocketRoute(wire.STREAM_PATH, stream),
        *probe_routes(metrics.registry, lambda: "synthesizer" in engine, lambda: describe),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=service_middleware(token))
    app.state.metrics = metrics
    return app


def voice_for_language(
    synthesizer: Synthesizer, language: str, views: dict[str, Synthesizer]
) -> Synthesizer:
    """The engine speaking ``language`` ("": its own); ValueError when it cannot.

    An engine with ``for_language`` (XTTS: one model, many languages) gives a view per
    language, kept in ``views``. Any other engine speaks its own language only: a Piper
    voice asked for Spanish is refused rather than reading Spanish with English sounds.
    An engine that names no language of its own is served as it is.
    """
    own = str(getattr(synthesizer, "language", "") or "")
    if not language or language == own:
        return synthesizer
    for_language = getattr(synthesizer, "for_language", None)
    if for_language is not None:
        if language not in views:
            views[language] = for_language(language)
        return views[language]
    if not own:
        return synthesizer
    engine = type(synthesizer).__name__.removesuffix("Synthesizer").lower()
    raise ValueError(
        f"this TTS service's voice ({engine}) speaks {own!r} only, not {language!r}; "
        "a service for several languages runs CALLCENTER_TTS_ENGINE=xtts"
    )


async def _stream_until_closed(
    websocket: WebSocket, synthesizer: Synthesizer, text: str, metrics: TtsMetrics
) -> str:
    """Send the clause's audio while listening for the client's close; the outcome."""
    sender = asyncio.ensure_future(_send_audio(websocket, synthesizer, text, metrics))
    listener = asyncio.ensure_future(_closed_by_client(websocket))
    try:
        done, _ = await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        listener.cancel()
        if not sender.done():
            sender.cancel()  # closes the engine's stream: synthesis stops here
    if sender not in done:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        return "cancelled"
    try:
        sender.result()
    except (WebSocketDisconnect, RuntimeError, OSError):
        return "cancelled"  # the client vanished mid-send
    except Exception as error:
        log.exception("synthesis failed")
        await _refuse(websocket, f"synthesis failed: {error}", code=1011)
        return "error"
    await websocket.close(code=1000)
    return "completed"


async def _send_audio(
    websocket: WebSocket, synthesizer: Synthesizer, text: str, metrics: TtsMetrics
) -> None:
    started = time.perf_counter()
    start = wire.tts_event("start", sample_rate=synthesizer.sample_rate, encoding=wire.TTS_ENCODING)
    await websocket.send_text(start)
    chunks = 0
    audio = synthesizer.stream(text)
    try:
        async for chunk in audio:
            if chunks == 0:
                metrics.first_audio.observe(time.perf_counter() - started)
            await websocket.send_bytes(wire.encode_chunk(chunk.samples))
            metrics.audio_seconds.inc(chunk.samples.size / chunk.sample_rate)
            chunks += 1
    finally:
        # Now, not at garbage collection: this is what stops the engine on a cancel.
        aclose = getattr(audio, "aclose", None)
        if aclose is not None:
            await aclose()
    await websocket.send_text(wire.tts_event("end", chunks=chunks))


async def _closed_by_client(websocket: WebSocket) -> None:
    # Clients send nothing after the request; extra messages are ignored, not errors.
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _refuse(websocket: WebSocket, message: str, *, code: int) -> None:
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.send_text(wire.tts_event("error", message=message))
            await websocket.close(code=code)
