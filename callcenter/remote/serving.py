"""What both speech services share: probes, /metrics and running under uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter import __version__


def probe_routes(
    registry: CollectorRegistry,
    is_ready: Callable[[], bool],
    describe: Callable[[], dict[str, Any]],
) -> list[BaseRoute]:
    """/healthz (the process answers), /readyz (the engine is loaded), /metrics."""

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__, **describe()})

    async def readyz(request: Request) -> JSONResponse:
        ready = is_ready()
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]


def run_service(app: Any, *, host: str, port: int, log_level: str, grace_s: int) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        log_config=None,  # through the process's handler (see callcenter.logs)
        # Piper sends a whole sentence per message; XTTS ~1 s of audio.
        ws_max_size=1 << 20,
        # Streams are short (one clause); the client's close is the signal that matters.
        ws_ping_interval=None,
        # In-flight utterances and clauses finish on SIGTERM (rolling updates).
        timeout_graceful_shutdown=grace_s,
    )
