"""The Starlette application: routes, and the lifespan that owns engines and the database."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter import __version__
from callcenter.runtime import Runtime
from callcenter.settings import Settings, get_settings
from callcenter.store.db import ping

log = logging.getLogger(__name__)


def _metrics_bearer_ok(request: Request, settings: Settings) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (
        bool(settings.metrics_token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode())
    )


async def _may_see_details(request: Request, settings: Settings) -> bool:
    """The metrics token, or any signed-in console user (session or API token)."""
    if _metrics_bearer_ok(request, settings):
        return True
    from callcenter.web.auth import authenticate

    return await authenticate(request) is not None


async def healthz(request: Request) -> JSONResponse:
    """Liveness for anyone; versions, engines and live calls only for the authorised
    (they tell an attacker which CVEs and models to try, and how busy we are)."""
    runtime: Runtime = request.app.state.runtime
    db_ok, db_detail = await anyio.to_thread.run_sync(ping, runtime.engine)
    settings = runtime.settings
    if not await _may_see_details(request, settings):
        return JSONResponse({"status": "ok" if db_ok else "degraded", "database": {"ok": db_ok}})
    body = {
        "status": "ok" if db_ok else "degraded",
        "version": __version__,
        "database": {"ok": db_ok, "detail": db_detail, "backend": runtime.engine.dialect.name},
        "engines": {
            "asr": settings.asr_url
            or f"faster-whisper {settings.asr_model} ({settings.asr_device})",
            "llm": settings.llm_engine_name,
            "tts": settings.tts_url or settings.tts_engine,
        },
        "live_calls": runtime.live_calls,
        "accepting_calls": runtime.accepting_calls,
    }
    return JSONResponse(body, status_code=200)


async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    ready = runtime.accepting_calls
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    """On the main port only with ``Authorization: Bearer <metrics_token>``; without a
    token it is off here (then ``metrics_port`` serves it, unauthenticated, on its own
    listener that the deployment keeps off the public network)."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    if not settings.metrics_token:
        hint = (
            f"metrics are served on port {settings.metrics_port}"
            if settings.metrics_port
            else "metrics are off: set CALLCENTER_METRICS_TOKEN or CALLCENTER_METRICS_PORT"
        )
        return JSONResponse({"error": hint}, status_code=404)
    if not _metrics_bearer_ok(request, settings):
        return JSONResponse(
            {"error": "missing or wrong bearer token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def start_metrics_listener(settings: Settings, runtime: Runtime) -> Callable[[], None] | None:
    """Prometheus' own HTTP server on metrics_port; returns how to stop it."""
    if not settings.metrics_port:
        return None
    host = settings.metrics_host or settings.host
    server, thread = start_http_server(
        settings.metrics_port, addr=host, registry=runtime.metrics.registry
    )
    log.info("metrics on http://%s:%d/metrics", host, settings.metrics_port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


def base_routes() -> list[BaseRoute]:
    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    if settings is None:
        # Started as an ASGI factory (not through `callcenter serve`): the same start-up
        # check, against the configured host.
        from callcenter.keys import secure_settings

        settings = secure_settings(get_settings(), get_settings().host, program="serve")
    runtime = runtime or Runtime(settings, speech=True)

    from callcenter.telephony.stream_guard import StreamGuard
    from callcenter.web import web_middleware, web_routes
    from callcenter.web.feed import HandoffFeed
    from callcenter.web.throttle import LoginThrottle

    feed = HandoffFeed(runtime.session_factory)
    throttle = LoginThrottle.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        stop_metrics = start_metrics_listener(settings, runtime)
        try:
            yield
        finally:
            if stop_metrics is not None:
                stop_metrics()
            await feed.close()
            await throttle.close()
            await runtime.stop()

    from callcenter.telephony.routes import telephony_routes

    routes = base_routes() + telephony_routes() + web_routes()
    from callcenter.web import not_found

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=web_middleware(settings),
        exception_handlers={404: not_found},
    )
    app.state.runtime = runtime
    app.state.handoff_feed = feed
    app.state.login_throttle = throttle
    app.state.stream_guard = StreamGuard(settings.stream_token_ttl_s)
    return app
