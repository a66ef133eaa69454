"""The speech services as real subprocesses on loopback: `callcenter asr-server` / `tts-server`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx
import pytest

from tests.support.paths import REPO_ROOT
from tests.support.servers import callcenter_command, free_port, wait_http

# The engine settings both sides use, so remote and in-process results are comparable.
ASR_ENV = {
    "CALLCENTER_ASR_MODEL": "tiny.en",
    "CALLCENTER_ASR_WINDOW_S": "10",
    "CALLCENTER_ASR_BATCH_SIZE": "8",
    # Long enough that requests sent together on 2 busy cores meet in one batch.
    "CALLCENTER_ASR_BATCH_WAIT_MS": "300",
    "CALLCENTER_ASR_THREADS": "2",
}
TTS_ENV = {"CALLCENTER_TTS_ENGINE": "piper"}


@contextmanager
def speech_service(command: str, env: Mapping[str, str]) -> Iterator[str]:
    """Run a speech service until the block ends; yields its base URL once it is ready."""
    port = free_port()
    process = subprocess.Popen(
        callcenter_command(command, "--port", str(port)),
        env={**os.environ, "CALLCENTER_HOST": "127.0.0.1", **env},
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/healthz", 120.0, process)
        assert httpx.get(base + "/readyz").status_code == 200
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def asr_url() -> Iterator[str]:
    with speech_service("asr-server", ASR_ENV) as url:
        yield url


@pytest.fixture(scope="module")
def tts_url() -> Iterator[str]:
    with speech_service("tts-server", TTS_ENV) as url:
        yield url


def metric(base: str, name: str, **labels: str) -> float:
    """One sample from a service's /metrics (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(httpx.get(base + "/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0
