"""`callcenter worker`: the Celery worker (and, with ``--beat``, the beat scheduler).

`callcenter serve --with-worker` starts one of these as a child process, so a single
machine needs one command; in production run workers as their own deployment.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from typing import Any

from callcenter.settings import Settings


def register(commands: Any) -> None:
    worker = commands.add_parser("worker", help="run the Celery worker for background jobs")
    worker.add_argument("--beat", action="store_true", help="also run the beat scheduler")
    worker.add_argument(
        "--concurrency", type=int, default=1, help="worker processes (default 1: one machine)"
    )
    worker.add_argument(
        "--pool", default="prefork", choices=["prefork", "solo", "threads"], help="Celery pool"
    )
    worker.set_defaults(handler=cmd_worker)


def worker_argv(args: argparse.Namespace, settings: Settings) -> list[str]:
    argv = [
        "worker",
        f"--loglevel={settings.log_level.upper()}",
        f"--concurrency={args.concurrency}",
        f"--pool={args.pool}",
        "--without-gossip",
        "--without-mingle",
    ]
    if args.beat:
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", f"--schedule={settings.cache_dir / 'celerybeat-schedule'}"]
    return argv


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.keys import secure_settings
    from callcenter.tasks.celery_app import app

    # A worker listens on nothing, but it runs where CALLCENTER_HOST says the service is
    # reachable, and it acts with the same secrets (Twilio REST, tool headers).
    secure_settings(settings, settings.host, program="worker")

    # The server fails fast on a dead broker (a live call must not wait); a worker
    # waits for the broker to come back, however long that takes.
    app.conf.broker_connection_max_retries = None
    app.worker_main(worker_argv(args, settings))
    return 0


def start_worker_process(beat: bool = True) -> subprocess.Popen[bytes]:
    """`callcenter worker [--beat]` as a child of this process (same environment)."""
    command = [sys.executable, "-m", "callcenter.cli", "worker"]
    if beat:
        command.append("--beat")
    return subprocess.Popen(command, env=os.environ.copy())


def stop_worker_process(process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """Warm shutdown (finish the running job), then kill if it takes too long."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
