"""Recordings in S3-compatible object storage, against a real S3 server on loopback
(moto's standalone server, which speaks the S3 REST API): a simulated call's recording
is written locally as the call goes, uploaded when it ends, streamed back (with Range)
through the console's authenticated route, and deleted by retention."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import wave
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError

from callcenter.audio.call_recording import CallRecording
from callcenter.recordings import S3Recordings, StoredRecording
from callcenter.simulator import script as sc
from callcenter.simulator.caller import run_call
from callcenter.store import calls as call_store
from callcenter.store import users as user_store
from callcenter.store.db import transaction
from callcenter.store.models import Call
from callcenter.tasks.retention import purge_expired
from callcenter.testing.handlers import EchoAgentFactory, tone_ulaw
from tests.simulator.test_simulated_call import options
from tests.support.live_app import LiveApp, wait_for
from tests.support.servers import free_port, wait_http
from tests.web.helpers import PASSWORD, login, unique

KEYS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}
BUCKET = "call-recordings"


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url, timeout_s=60, process=server)  # type: ignore[arg-type]
        client(url).create_bucket(Bucket=BUCKET)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def client(url: str) -> Any:
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", **KEYS)


def _object_exists(s3: Any, key: str) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
    except ClientError:
        return False
    return True


def _served_from_s3(
    app: LiveApp, live_factory: Callable[[], Any], call_id: str, stored: bytes
) -> None:
    username = unique("agent")
    with transaction(live_factory) as session:  # type: ignore[arg-type]
        user_store.create_user(session, username=username, password=PASSWORD, role="agent")
    with httpx.Client(base_url=app.url, timeout=30) as web:
        assert web.get(f"/calls/{call_id}/recording").status_code == 303  # not signed in
        login(web, username)
        whole = web.get(f"/calls/{call_id}/recording")
        assert whole.status_code == 200 and whole.content == stored
        assert whole.headers["content-type"] == "audio/wav"
        part = web.get(f"/calls/{call_id}/recording", headers={"Range": "bytes=44-143"})
        assert part.status_code == 206 and part.content == stored[44:144]
        assert part.headers["content-range"] == f"bytes 44-143/{len(stored)}"
        past = web.get(f"/calls/{call_id}/recording", headers={"Range": f"bytes={len(stored)}-"})
        assert past.status_code == 416
        assert 'id="player"' in web.get(f"/calls/{call_id}").text


async def test_a_call_recording_goes_to_s3_plays_from_it_and_expires(
    live_app: Callable[..., LiveApp],
    live_factory: Callable[[], Any],
    s3_url: str,
    tmp_path: Path,
) -> None:
    app = live_app(
        handler_factory=EchoAgentFactory(greeting=tone_ulaw(600, 500)),
        recordings_dir=tmp_path,
        recording_storage="s3",
        recording_s3_bucket=BUCKET,
        recording_s3_prefix="calls/",
        recording_s3_endpoint_url=s3_url,
        recording_s3_access_key_id=KEYS["aws_access_key_id"],
        recording_s3_secret_access_key=KEYS["aws_secret_access_key"],
    )
    steps: list[sc.Step] = [
        sc.WaitAgent(quiet_ms=300),
        sc.Say(ulaw=tone_ulaw(800, 300)),
        sc.WaitAgent(quiet_ms=300),
        sc.Silence(300),
    ]
    result = await run_call(app.url, steps, options())
    with live_factory() as session:
        call = call_store.get_call_by_sid(session, result.call_sid)
        assert call is not None
        call_id = call.id
    storage = app.runtime.recordings
    assert isinstance(storage, S3Recordings)
    key = storage.key(call_id)
    assert key == f"calls/{call_id}.wav"
    s3 = client(s3_url)
    # Uploaded when the call ended, and no longer kept on the server's disk.
    assert wait_for(lambda: _object_exists(s3, key), timeout_s=30)
    # The local copy goes once the upload has finished (a moment after the object appears).
    local = tmp_path / f"{call_id}.wav"
    assert wait_for(lambda: not local.exists(), timeout_s=30), local
    stored = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with wave.open(io.BytesIO(stored), "rb") as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 8000
        assert wav.getnframes() * 1000 // 8000 >= 1400  # greeting, turn, echo, silence

    # The call page plays it through the same authenticated route, streamed from S3.
    await asyncio.to_thread(_served_from_s3, app, live_factory, call_id, stored)

    # Retention deletes the call and its object.
    with transaction(live_factory) as session:
        row = session.get(Call, call_id)
        assert row is not None
        row.started_at = datetime.now(UTC) - timedelta(days=40)
    report = purge_expired(live_factory, 30, recordings=storage)  # type: ignore[arg-type]
    assert report.recordings >= 1
    assert not _object_exists(s3, key)


def test_an_upload_that_failed_is_served_from_local_disk_until_retention(
    s3_url: str, tmp_path: Path
) -> None:
    storage = S3Recordings(tmp_path, client(s3_url), "no-such-bucket", "calls/")
    local = storage.writing_path("call-9")
    local.write_bytes(b"RIFF" + bytes(100))
    with pytest.raises(S3UploadFailedError):
        storage.finish("call-9")  # the bucket does not exist: the upload fails
    assert local.exists() and storage.stat("call-9") == StoredRecording(104, "audio/wav")
    assert b"".join(storage.read("call-9", None)) == b"RIFF" + bytes(100)
    assert storage.stat("call-10") is None


def test_opus_recordings_are_uploaded_as_ogg(s3_url: str, tmp_path: Path) -> None:
    s3 = client(s3_url)
    storage = S3Recordings(tmp_path, s3, BUCKET, "opus/", opus=True)
    recording = CallRecording(storage.writing_path("call-11"))
    for i in range(100):
        recording.caller(tone_ulaw(20, 300), timestamp_ms=i * 20)
    recording.close()
    storage.finish("call-11")
    assert not list(tmp_path.iterdir())  # encoded, uploaded, removed locally
    head = s3.head_object(Bucket=BUCKET, Key="opus/call-11.ogg")
    assert head["ContentType"] == "audio/ogg"
    assert storage.stat("call-11") == StoredRecording(head["ContentLength"], "audio/ogg")
    assert b"".join(storage.read("call-11", None))[:4] == b"OggS"
    assert storage.delete("call-11") and storage.stat("call-11") is None
