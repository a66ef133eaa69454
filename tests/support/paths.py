"""Where the test recordings and fixtures live: `tests/data/`, inside the repository.

A clone anywhere carries everything the suite and the benchmarks read (see
`tests/data/README.md` for each source and its licence); nothing is read from beside
the checkout.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = REPO_ROOT / "tests" / "data"
SPEECH = TEST_DATA / "speech"
TWILIO_FIXTURES = TEST_DATA / "twilio"
