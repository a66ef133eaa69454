"""One benchmark task end to end: a caller with an espeak-ng voice (not the agent's)
verifies with account 1001 and PIN 4321 and asks for the balance, against the app with
the embedded models; the call is judged from the database as the benchmark judges it."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.bench.harness import bench_app
from callcenter.bench.task_goals import GOALS
from callcenter.bench.task_store import load_record
from callcenter.bench.tasks import caller_ear, play_goal
from callcenter.bench.voices import VOICES, VoiceRenderer

pytestmark = pytest.mark.models

FSDD = Path(__file__).resolve().parents[1] / "data" / "speech" / "fsdd_8k"


async def test_an_espeak_caller_verifies_and_hears_the_balance(tmp_path: Path) -> None:
    goal = next(goal for goal in GOALS if goal.name == "balance")
    renderer = VoiceRenderer(VOICES["us"], tmp_path, FSDD)
    with bench_app() as app:
        ear = caller_ear(app)
        try:
            row = await play_goal(app, goal, renderer, ear)
        finally:
            await ear.close()
        calls = [line for line in row["transcript"] if line.startswith("caller:")]
        record = load_record(app.engine, row["call_sid"])
    # The database: this call verified account 1001 and read its balance; nothing changed.
    assert record.verified == "1001", row["dialogue"]
    assert [t.name for t in record.tools if t.status == "ok"][:1] == ["verify_identity"]
    assert record.payments == [] and record.callbacks == 0 and record.handoffs == 0
    # The caller heard the balance through its own ear (ASR of the agent's audio).
    heard = " ".join(turn["heard"] for turn in row["dialogue"]).replace(",", "")
    assert "2417" in heard, row["dialogue"]
    assert row["success"], (row["failures"], row["violations"], row["dialogue"])
    assert row["violations"] == []
    assert len(calls) >= 3  # the request, the account number, the PIN
