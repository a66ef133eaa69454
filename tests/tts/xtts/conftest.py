"""XTTS tests run only in the XTTS environment (built by tests/tts/xtts_env.sh in the user cache).

The main environment must never have torch, so there these modules are not collected at
all (rather than skipped one by one); the test command runs this folder separately with
``bash tests/tts/xtts_env.sh test``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

HAVE_XTTS = all(importlib.util.find_spec(name) is not None for name in ("torch", "TTS"))

collect_ignore_glob = [] if HAVE_XTTS else ["test_*.py"]


@pytest.fixture(scope="session")
def tiny_xtts_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A random tiny XTTS saved in the published model's layout (built once per run)."""
    from callcenter.tts.xtts_tiny import build_tiny_xtts

    yield build_tiny_xtts(tmp_path_factory.mktemp("xtts-tiny"), seed=0)
