"""Run real servers on loopback for tests: free ports, subprocesses, readiness polling."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx

from tests.support.paths import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def callcenter_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "callcenter.cli", *args]


def run_cli(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        callcenter_command(*args),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
        timeout=300,
    )


def wait_http(
    url: str, timeout_s: float = 60.0, process: subprocess.Popen[str] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


@contextmanager
def serve(
    env: Mapping[str, str], port: int | None = None, timeout_s: float = 120.0
) -> Iterator[str]:
    """`callcenter serve` in a subprocess; yields its base URL and stops it afterwards."""
    port = port or free_port()
    # The server's log goes to a file, not a pipe: nobody reads a pipe while the server
    # runs, and a full one would block it; the file's tail explains a failed start.
    with tempfile.NamedTemporaryFile("w+", prefix="callcenter-serve-", suffix=".log") as log:
        process = subprocess.Popen(
            callcenter_command("serve", "--port", str(port)),
            env={**os.environ, **env},
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_http(base + "/healthz", timeout_s, process)
            except (TimeoutError, RuntimeError) as error:
                log.seek(0)
                raise RuntimeError(f"{error}; server log:\n{log.read()[-4000:]}") from None
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
