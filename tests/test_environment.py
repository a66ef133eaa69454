"""The main environment must stay free of CUDA packages (only the XTTS env has them)."""

from __future__ import annotations

from importlib import metadata


def test_no_nvidia_or_torch_packages_in_the_main_environment() -> None:
    names = {(dist.metadata["Name"] or "").lower() for dist in metadata.distributions()}
    assert not {n for n in names if n.startswith("nvidia-")}
    assert "torch" not in names
    assert "silero-vad" not in names
