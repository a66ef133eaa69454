"""``callcenter asr-server``: the cross-call ASR batcher behind HTTP.

Every web pod's calls POST their utterances here; concurrent requests from all pods
meet in one :class:`~callcenter.asr.batcher.BatchingTranscriber` and are decoded
together, which is what makes a GPU pay (DESIGN §3). A client that gives up (barge-in,
hang-up) drops its connection; its queued utterance is then skipped, not decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from callcenter.asr import wire
from callcenter.asr.base import ASR_RATE, Transcriber
from callcenter.asr.batcher import TranscriberClosed
from callcenter.metrics import LATENCY_BUCKETS
from callcenter.remote.serving import probe_routes, service_middleware
from callcenter.service_errors import WireError
from callcenter.threads import run_in_engine_thread

log = logging.getLogger(__name__)

T = TypeVar("T")

BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
# Status for "client closed the request" (nginx's convention); nobody reads the body.
CLIENT_CLOSED = 499


class AsrMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "asr_requests", "Utterances received, by outcome", ["outcome"], registry=self.registry
        )
        self.batch_size = Histogram(
            "asr_batch_size",
            "How many utterances shared the decode call each request was decoded in",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.seconds = Histogram(
            "asr_request_seconds",
            "Request received to transcript (queueing + batched decode)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.audio_seconds = Counter(
            "asr_audio_seconds", "Seconds of audio transcribed", registry=self.registry
        )
        self.in_flight = Gauge(
            "asr_in_flight", "Utterances queued or decoding now", registry=self.registry
        )


def create_asr_app(
    load: Callable[[], Transcriber], *, describe: dict[str, Any], token: str = ""
) -> Starlette:
    """The ASR service; ``load`` builds the engine (blocking, run once at start-up)."""
    metrics = AsrMetrics()
    engine: dict[str, Transcriber] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Loaded before the port opens: a pod is never routed to before its model is.
        engine["transcriber"] = await run_in_engine_thread(load)
        log.info("asr service ready: %s", describe)
        try:
            yield
        finally:
            await engine.pop("transcriber").close()

    async def transcribe(request: Request) -> Response:
        transcriber = engine.get("transcriber")
        if transcriber is None:
            return _error(503, "the ASR engine is not loaded")
        length = int(request.headers.get("content-length") or 0)
        if length > wire.MAX_BODY_BYTES:
            metrics.requests.labels("rejected").inc()
            return _error(413, f"utterance longer than {wire.MAX_UTTERANCE_S} s")
        try:
            audio = wire.decode_audio(
                await request.body(), request.headers.get(wire.FORMAT_HEADER, "f32le")
            )
            hint = wire.check_hint(request.headers.get(wire.HINT_HEADER))
            language = wire.check_language(request.headers.get(wire.LANGUAGE_HEADER))
        except WireError as error:
            metrics.requests.labels("rejected").inc()
            return _error(400, str(error))
        started = time.perf_counter()
        metrics.in_flight.inc()
        try:
            result = await _unless_disconnected(
                request, transcriber.transcribe(audio, hint=hint, language=language)
            )
        except TranscriberClosed:
            metrics.requests.labels("error").inc()
            return _error(503, "the ASR service is shutting down")
        except Exception as error:
            log.exception("transcription failed")
            metrics.requests.labels("error").inc()
            return _error(500, f"transcription failed: {error}")
        finally:
            metrics.in_flight.dec()
        if result is None:
            metrics.requests.labels("abandoned").inc()
            return Response(status_code=CLIENT_CLOSED)
        metrics.requests.labels("ok").inc()
        metrics.batch_size.observe(result.batch_size)
        metrics.seconds.observe(time.perf_counter() - started)
        metrics.audio_seconds.inc(audio.size / ASR_RATE)
        return JSONResponse(wire.transcript_to_json(result))

    routes = [
        Route(wire.TRANSCRIBE_PATH, transcribe, methods=["POST"]),
        *probe_routes(metrics.registry, lambda: "transcriber" in engine, lambda: describe),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=service_middleware(token))
    app.state.metrics = metrics
    return app


async def _unless_disconnected(request: Request, work: Awaitable[T]) -> T | None:
    """``await work``, or cancel it and return None when the client disconnects first."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()  # the batcher drops a cancelled request before decoding it
    if task in done:
        return task.result()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def _disconnected(request: Request) -> None:
    # The body has been read, so the next ASGI message can only be the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
