"""Assembling the embedded GGUF from its chunk packages: atomic, size- and hash-checked."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from callcenter.llm.model_files import (
    QWEN25_CODER_05B_Q4KM,
    ModelArtifact,
    ModelFileCorrupt,
    ModelFilesMissing,
    chunk_paths,
    ensure_model_file,
)


def make_chunks(directory: Path, blobs: list[bytes]) -> tuple[list[Path], ModelArtifact]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, blob in enumerate(blobs, start=1):
        path = directory / f"part{index:02d}.bin"
        path.write_bytes(blob)
        paths.append(path)
    whole = b"".join(blobs)
    artifact = ModelArtifact(
        filename="tiny.gguf",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        parts=(),
    )
    return paths, artifact


def test_chunks_are_concatenated_in_order(tmp_path: Path) -> None:
    parts, artifact = make_chunks(tmp_path / "chunks", [b"GGUF", b"-middle-", b"end" * 1000])
    path = ensure_model_file(tmp_path / "cache", artifact, parts=parts)
    assert path == tmp_path / "cache" / "models" / "tiny.gguf"
    assert path.read_bytes() == b"GGUF-middle-" + b"end" * 1000
    marker = json.loads(path.with_name("tiny.gguf.verified.json").read_text())
    assert marker["sha256"] == artifact.sha256


def test_wrong_hash_leaves_no_file(tmp_path: Path) -> None:
    parts, artifact = make_chunks(tmp_path / "chunks", [b"abc", b"def"])
    parts[1].write_bytes(b"xyz")  # same size, other bytes
    with pytest.raises(ModelFileCorrupt, match="SHA-256"):
        ensure_model_file(tmp_path / "cache", artifact, parts=parts)
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_wrong_size_is_refused_before_copying(tmp_path: Path) -> None:
    parts, artifact = make_chunks(tmp_path / "chunks", [b"abc", b"def"])
    parts[0].write_bytes(b"abcd")
    with pytest.raises(ModelFileCorrupt, match="add up to 7 bytes, expected 6"):
        ensure_model_file(tmp_path / "cache", artifact, parts=parts)


def test_verified_file_is_reused_without_the_chunks(tmp_path: Path) -> None:
    parts, artifact = make_chunks(tmp_path / "chunks", [b"abc", b"def"])
    first = ensure_model_file(tmp_path / "cache", artifact, parts=parts)
    for part in parts:
        part.unlink()
    assert ensure_model_file(tmp_path / "cache", artifact, parts=parts) == first


def test_unverified_file_with_right_content_is_hashed_once_and_kept(tmp_path: Path) -> None:
    _, artifact = make_chunks(tmp_path / "chunks", [b"abc", b"def"])
    target = tmp_path / "cache" / "models" / "tiny.gguf"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"abcdef")  # copied in by hand: no marker yet
    assert ensure_model_file(tmp_path / "cache", artifact, parts=[]) == target
    assert target.with_name("tiny.gguf.verified.json").exists()


def test_tampered_file_is_reassembled(tmp_path: Path) -> None:
    parts, artifact = make_chunks(tmp_path / "chunks", [b"abc", b"def"])
    path = ensure_model_file(tmp_path / "cache", artifact, parts=parts)
    stamp = path.stat().st_mtime_ns
    path.write_bytes(b"abcxyz")  # same size; the new mtime no longer matches the marker
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))  # coarse clocks may not have ticked
    assert ensure_model_file(tmp_path / "cache", artifact, parts=parts).read_bytes() == b"abcdef"


def test_missing_packages_say_what_to_install() -> None:
    artifact = ModelArtifact("x.gguf", 1, "0" * 64, parts=(("no_such_chunk_pkg", "data/p.bin"),))
    with pytest.raises(ModelFilesMissing, match=r"no-such-chunk-pkg.*callcenter\[embedded\]"):
        chunk_paths(artifact)


def test_the_installed_packages_provide_all_six_chunks() -> None:
    paths = chunk_paths(QWEN25_CODER_05B_Q4KM)
    assert [p.name for p in paths] == [f"part{n:02d}.bin" for n in range(1, 7)]
    assert sum(p.stat().st_size for p in paths) == QWEN25_CODER_05B_Q4KM.size
