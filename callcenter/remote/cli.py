"""``callcenter asr-server`` and ``callcenter tts-server``: the speech engines as services."""

from __future__ import annotations

import argparse
from typing import Any

from callcenter.settings import Settings

ASR_PORT = 8090
TTS_PORT = 8091


def register(commands: Any) -> None:
    for name, port, handler, what in (
        ("asr-server", ASR_PORT, cmd_asr_server, "batched speech-to-text (HTTP)"),
        ("tts-server", TTS_PORT, cmd_tts_server, "streaming text-to-speech (WebSocket)"),
    ):
        parser = commands.add_parser(name, help=f"serve {what} to many web pods")
        parser.add_argument("--host", default=None, help="default: CALLCENTER_HOST (127.0.0.1)")
        parser.add_argument("--port", type=int, default=port, help=f"default: {port}")
        parser.add_argument("--grace", type=int, default=20, help="seconds to finish on SIGTERM")
        parser.set_defaults(handler=handler)


def cmd_asr_server(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.keys import secure_speech_service

    secure_speech_service(settings, args.host or settings.host, program="asr-server")
    from callcenter.asr import make_local_transcriber
    from callcenter.remote.asr_server import create_asr_app

    describe = {
        "engine": "faster-whisper",
        "model": settings.asr_multilingual_model if settings.multilingual else settings.asr_model,
        "language_models": settings.asr_models_by_language,
        "device": settings.asr_device,
        "compute_type": settings.asr_compute_type,
        "max_batch_size": settings.asr_batch_size,
    }
    app = create_asr_app(
        lambda: make_local_transcriber(settings),
        describe=describe,
        token=settings.speech_service_token,
    )
    _serve(app, args, settings)
    return 0


def cmd_tts_server(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.keys import secure_speech_service

    secure_speech_service(settings, args.host or settings.host, program="tts-server")
    from callcenter.remote.tts_server import create_tts_app
    from callcenter.tts import make_local_synthesizer

    voice = settings.xtts_speaker_wav or settings.tts_voice
    describe = {"engine": settings.tts_engine, "voice": voice}
    app = create_tts_app(
        lambda: make_local_synthesizer(settings),
        describe=describe,
        token=settings.speech_service_token,
    )
    _serve(app, args, settings)
    return 0


def _serve(app: Any, args: argparse.Namespace, settings: Settings) -> None:
    from callcenter.remote.serving import run_service

    run_service(
        app,
        host=args.host or settings.host,
        port=args.port,
        log_level=settings.log_level,
        grace_s=args.grace,
    )
