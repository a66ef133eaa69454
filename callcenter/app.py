"""The Starlette application: routes, and the lifespan that owns engines and the database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from callcenter import __version__
from callcenter.runtime import Runtime
from callcenter.settings import Settings, get_settings
from callcenter.store.db import ping

log = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    db_ok, db_detail = await anyio.to_thread.run_sync(ping, runtime.engine)
    settings = runtime.settings
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
    runtime: Runtime = request.app.state.runtime
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def base_routes() -> list[BaseRoute]:
    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    settings = settings or get_settings()
    runtime = runtime or Runtime(settings, speech=True)

    from callcenter.web import web_middleware, web_routes
    from callcenter.web.auth import LoginThrottle
    from callcenter.web.feed import HandoffFeed

    feed = HandoffFeed(runtime.session_factory)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await feed.close()
            await runtime.stop()

    from callcenter.telephony.routes import telephony_routes

    routes = base_routes() + telephony_routes() + web_routes()
    app = Starlette(routes=routes, lifespan=lifespan, middleware=web_middleware(settings))
    app.state.runtime = runtime
    app.state.handoff_feed = feed
    app.state.login_throttle = LoginThrottle(settings.login_max_failures, settings.login_window_s)
    return app
