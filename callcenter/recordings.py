"""Where call recordings live once written: local disk, or S3-compatible object storage.

Every recording is written as the call goes into a local WAV (``recordings_dir``),
never held in memory; with ``recording_format=opus`` it becomes Ogg Opus when the call
ends (libsndfile through ``soundfile``). With ``recording_storage=disk`` that file is
the recording. With ``s3`` it is uploaded when the call ends (boto3's managed,
multipart upload) and then removed locally; until the upload succeeds (or if it
failed) the local file is still served, and the next retention run deletes both.

Reading is by byte range, so the call page's player can seek in a long recording while
it streams from the bucket.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from callcenter.audio.call_recording import recording_path
from callcenter.settings import Settings

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(ValueError):
    pass


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """One ``Range: bytes=a-b`` (or ``a-``, ``-n``) over ``size`` bytes; None = all.
    Several ranges are answered with the whole file, as RFC 9110 allows."""
    if not header:
        return None
    found = _RANGE.match(header.strip())
    if found is None:
        return None
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if size == 0 or start >= size or end < start:
        raise RangeNotSatisfiable(f"bytes {header} of {size}")
    return ByteRange(start, end)


@dataclass(frozen=True)
class StoredRecording:
    size: int
    media_type: str  # audio/wav or audio/ogg (Opus)


class RecordingStorage(Protocol):
    def writing_path(self, call_id: str) -> Path:
        """The local file a live call's recording is written to (always a WAV)."""

    def finish(self, call_id: str) -> None:
        """The call ended and its file is complete (blocking: run it in a thread)."""

    def stat(self, call_id: str) -> StoredRecording | None:
        """The recording's size and type, or None when the call has none."""

    def read(self, call_id: str, byte_range: ByteRange | None) -> Iterator[bytes]:
        """The recording's bytes (all, or one range), in chunks."""

    def delete(self, call_id: str) -> bool:
        """Remove the recording; False when there was none."""


# suffix -> media type; a finished recording is one of these (Opus first: when the
# format setting changed, older WAVs are still found).
SUFFIXES = {".ogg": "audio/ogg", ".wav": "audio/wav"}


def _read_file(path: Path, byte_range: ByteRange | None) -> Iterator[bytes]:
    with path.open("rb") as file:
        start = byte_range.start if byte_range else 0
        left = byte_range.length if byte_range else path.stat().st_size
        file.seek(start)
        while left > 0:
            chunk = file.read(min(CHUNK_BYTES, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def encode_opus(wav: Path) -> Path:
    """The WAV as Ogg Opus beside it (block by block: never the whole call in memory);
    the WAV is removed once the Opus file is complete."""
    import soundfile

    target = wav.with_suffix(".ogg")
    partial = wav.with_suffix(".ogg.part")
    with (
        soundfile.SoundFile(str(wav)) as source,
        soundfile.SoundFile(
            str(partial),
            "w",
            samplerate=source.samplerate,
            channels=source.channels,
            format="OGG",
            subtype="OPUS",
        ) as out,
    ):
        for block in source.blocks(blocksize=source.samplerate * 10, dtype="float32"):
            out.write(block)
    partial.replace(target)
    wav.unlink(missing_ok=True)
    return target


class DiskRecordings:
    """One machine: the file written during the call is the recording (as Opus when
    ``opus``: about a tenth of the WAV's size)."""

    def __init__(self, directory: Path, *, opus: bool = False) -> None:
        self.directory = directory
        self.opus = opus

    def writing_path(self, call_id: str) -> Path:
        return recording_path(self.directory, call_id)

    def finish(self, call_id: str) -> None:
        wav = self.writing_path(call_id)
        if self.opus and wav.is_file():
            encode_opus(wav)

    def _existing(self, call_id: str) -> Path | None:
        try:
            wav = recording_path(self.directory, call_id)
        except ValueError:
            return None
        for suffix in SUFFIXES:
            path = wav.with_suffix(suffix)
            if path.is_file():
                return path
        return None

    def stat(self, call_id: str) -> StoredRecording | None:
        path = self._existing(call_id)
        if path is None:
            return None
        return StoredRecording(path.stat().st_size, SUFFIXES[path.suffix])

    def read(self, call_id: str, byte_range: ByteRange | None) -> Iterator[bytes]:
        path = self._existing(call_id)
        if path is None:
            raise FileNotFoundError(call_id)
        return _read_file(path, byte_range)

    def delete(self, call_id: str) -> bool:
        deleted = False
        while (path := self._existing(call_id)) is not None:
            path.unlink(missing_ok=True)
            deleted = True
        return deleted


class S3Recordings(DiskRecordings):
    """Finished recordings in a bucket; the local directory only holds live calls (and
    any recording whose upload has not succeeded yet, which is served from there)."""

    def __init__(
        self, directory: Path, client: Any, bucket: str, prefix: str, *, opus: bool = False
    ) -> None:
        super().__init__(directory, opus=opus)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def key(self, call_id: str, suffix: str = ".wav") -> str:
        return self.prefix + recording_path(Path("."), call_id).with_suffix(suffix).name

    def finish(self, call_id: str) -> None:
        super().finish(call_id)
        path = self._existing(call_id)
        if path is None:
            return
        key = self.key(call_id, path.suffix)
        self.client.upload_file(
            str(path), self.bucket, key, ExtraArgs={"ContentType": SUFFIXES[path.suffix]}
        )
        path.unlink(missing_ok=True)
        log.info("recording uploaded to s3://%s/%s", self.bucket, key)

    def _object(self, call_id: str) -> tuple[str, StoredRecording] | None:
        from botocore.exceptions import ClientError

        for suffix, media_type in SUFFIXES.items():
            key = self.key(call_id, suffix)
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as error:
                if _status(error) == 404:
                    continue
                raise
            return key, StoredRecording(int(head["ContentLength"]), media_type)
        return None

    def stat(self, call_id: str) -> StoredRecording | None:
        local = super().stat(call_id)
        if local is not None:
            return local
        found = self._object(call_id)
        return found[1] if found is not None else None

    def read(self, call_id: str, byte_range: ByteRange | None) -> Iterator[bytes]:
        if self._existing(call_id) is not None:
            return super().read(call_id, byte_range)
        found = self._object(call_id)
        if found is None:
            raise FileNotFoundError(call_id)
        extra = {"Range": f"bytes={byte_range.start}-{byte_range.end}"} if byte_range else {}
        body = self.client.get_object(Bucket=self.bucket, Key=found[0], **extra)["Body"]
        return _stream_body(body)

    def delete(self, call_id: str) -> bool:
        deleted = super().delete(call_id)
        while (found := self._object(call_id)) is not None:
            self.client.delete_object(Bucket=self.bucket, Key=found[0])
            deleted = True
        return deleted


def _status(error: Any) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _stream_body(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_BYTES)
    finally:
        body.close()


def make_recording_storage(settings: Settings) -> RecordingStorage:
    opus = settings.recording_format == "opus"
    if settings.recording_storage == "disk":
        return DiskRecordings(settings.recordings_path, opus=opus)
    import boto3  # only deployments that store recordings in S3 need it

    client = boto3.client(
        "s3",
        endpoint_url=settings.recording_s3_endpoint_url or None,
        region_name=settings.recording_s3_region or None,
        aws_access_key_id=settings.recording_s3_access_key_id or None,
        aws_secret_access_key=settings.recording_s3_secret_access_key or None,
    )
    return S3Recordings(
        settings.recordings_path,
        client,
        settings.recording_s3_bucket,
        settings.recording_s3_prefix,
        opus=opus,
    )
