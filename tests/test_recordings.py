"""Recording storage on disk, and the Range requests the call page's player makes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from callcenter.audio.call_recording import CallRecording
from callcenter.recordings import (
    ByteRange,
    DiskRecordings,
    RangeNotSatisfiable,
    StoredRecording,
    parse_range,
)
from callcenter.settings import load_settings
from callcenter.testing.handlers import tone_ulaw


def test_ranges_as_players_send_them() -> None:
    assert parse_range(None, 1000) is None
    assert parse_range("bytes=0-99", 1000) == ByteRange(0, 99)
    assert parse_range("bytes=900-", 1000) == ByteRange(900, 999)
    assert parse_range("bytes=-100", 1000) == ByteRange(900, 999)
    assert parse_range("bytes=990-5000", 1000) == ByteRange(990, 999)  # clipped to the end
    assert parse_range("bytes=0-1,5-9", 1000) is None  # several ranges: the whole file
    assert parse_range("items=0-9", 1000) is None
    for unsatisfiable in ("bytes=1000-", "bytes=5-2"):
        with pytest.raises(RangeNotSatisfiable):
            parse_range(unsatisfiable, 1000)


def test_disk_storage_reads_ranges_and_deletes(tmp_path: Path) -> None:
    storage = DiskRecordings(tmp_path)
    path = storage.writing_path("call-1")
    data = bytes(range(256)) * 1000
    path.write_bytes(data)
    storage.finish("call-1")  # on disk the written file is the recording
    assert storage.stat("call-1") == StoredRecording(len(data), "audio/wav")
    assert b"".join(storage.read("call-1", None)) == data
    assert b"".join(storage.read("call-1", ByteRange(100, 70_099))) == data[100:70_100]
    assert storage.stat("nope") is None
    assert storage.delete("call-1") and not path.exists()
    assert not storage.delete("call-1")


def test_s3_storage_needs_a_bucket() -> None:
    with pytest.raises(SystemExit, match="RECORDING_S3_BUCKET"):
        load_settings(recording_storage="s3")
    assert load_settings(recording_storage="s3", recording_s3_bucket="b").recording_s3_prefix


def test_opus_recordings_are_a_fraction_of_the_wav_and_sound_the_same(tmp_path: Path) -> None:
    storage = DiskRecordings(tmp_path, opus=True)
    recording = CallRecording(storage.writing_path("call-2"))
    for i in range(250):  # 5 s: a tone from the caller, then from the agent
        recording.caller(tone_ulaw(20, 300) if i < 100 else b"\xff" * 160, timestamp_ms=i * 20)
        if i == 150:
            recording.agent(tone_ulaw(1000, 440))
    recording.close()
    wav_size = storage.writing_path("call-2").stat().st_size
    storage.finish("call-2")
    assert not storage.writing_path("call-2").exists()
    stored = storage.stat("call-2")
    assert stored is not None and stored.media_type == "audio/ogg"
    assert stored.size < wav_size / 5
    audio, rate = soundfile.read(io.BytesIO(b"".join(storage.read("call-2", None))))
    assert audio.shape[1] == 2 and abs(len(audio) / rate - 5.0) < 0.1
    caller, agent = np.abs(audio[:, 0]), np.abs(audio[:, 1])
    # Each side is loud where it spoke and quiet elsewhere, as in the WAV.
    assert caller[: rate * 2].max() > 0.1 and caller[int(rate * 2.2) :].max() < 0.05
    assert agent[: int(rate * 2.9)].max() < 0.05 and agent[rate * 3 : rate * 4].max() > 0.1
    assert storage.delete("call-2") and storage.stat("call-2") is None
