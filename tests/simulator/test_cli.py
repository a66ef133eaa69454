"""`callcenter simulate` end to end: script file in, JSON timeline and WAV out."""

from __future__ import annotations

import json
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.testing.handlers import EchoAgentFactory, tone_ulaw
from tests.support.live_app import ACCOUNT_SID, AUTH_TOKEN, LiveApp


def test_simulate_command(
    live_app: Callable[..., LiveApp],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = live_app(handler_factory=EchoAgentFactory(greeting=tone_ulaw(400)))
    script = tmp_path / "call.json"
    script.write_text(
        json.dumps([{"wait_agent": {"quiet_ms": 300}}, {"dtmf": "5"}, {"silence_ms": 200}])
    )
    monkeypatch.setenv("CALLCENTER_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("CALLCENTER_TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    record = tmp_path / "agent.wav"
    code = main(
        [
            "simulate",
            "--url",
            app.url,
            "--script",
            str(script),
            "--speed",
            "4",
            "--record",
            str(record),
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["answer"] == "stream" and out["end_reason"] == "caller_hangup"
    events = [e["kind"] for e in out["events"]]
    assert "dtmf" in events and "mark_echoed" in events
    with wave.open(str(record)) as wav:
        assert wav.getframerate() == 8000 and wav.getnframes() == out["agent_audio_ms"] * 8
