"""What both speech services share: probes, /metrics and running under uvicorn."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

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


OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ServiceTokenGuard:
    """``Authorization: Bearer <speech_service_token>`` on everything but the probes.

    A refused WebSocket is closed before it is accepted (the client sees HTTP 403): the
    speech services are internal, and a caller without the token learns nothing more."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.expected
            or scope["type"] not in ("http", "websocket")
            or scope["path"] in OPEN_PATHS
            or self._authorised(scope)
        ):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = JSONResponse({"error": "missing or wrong service token"}, status_code=401)
        await response(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                return hmac.compare_digest(value, self.expected)
        return False


def service_middleware(token: str) -> list[Middleware]:
    return [Middleware(ServiceTokenGuard, token=token)]


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
