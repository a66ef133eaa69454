"""Where the shared recordings and fixtures live: ../shared/data beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("CALLCENTER_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
SPEECH = SHARED_DATA / "speech"
TWILIO_FIXTURES = SHARED_DATA / "twilio"
