"""The simulator's Twilio model: the playout buffer, strict outbound parsing, scripts."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from callcenter.audio.g711 import float_to_pcm16
from callcenter.simulator import script as sc
from callcenter.simulator import wire
from callcenter.simulator.twilio_buffer import PlayoutBuffer
from callcenter.telephony.media_protocol import Clear, SendMark, SendMedia


def test_buffer_echoes_marks_only_after_the_audio_before_them() -> None:
    buffer = PlayoutBuffer()
    buffer.add_mark("empty")  # nothing before it: due at once
    buffer.add_audio(b"\x01" * 200)
    buffer.add_mark("a")
    buffer.add_audio(b"\x02" * 100)
    buffer.add_mark("b")
    assert buffer.tick(160) == (b"\x01" * 160, ["empty"])
    played, marks = buffer.tick(160)
    assert played == b"\x01" * 40 + b"\x02" * 100 and marks == ["a", "b"]
    assert not buffer.is_playing and buffer.tick(160) == (b"", [])


def test_clear_drops_audio_and_returns_every_pending_mark() -> None:
    buffer = PlayoutBuffer()
    buffer.add_audio(b"\x01" * 800)
    buffer.add_mark("a")
    buffer.add_audio(b"\x01" * 800)
    buffer.add_mark("b")
    buffer.tick(160)
    assert buffer.clear() == (1440, ["a", "b"])
    assert not buffer.is_playing


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\x00", wire.BINARY_FRAME),
        (
            '{"event":"media","streamSid":"MZ","media":{"payload":"AA==","track":"x"}}',
            wire.BAD_MESSAGE,
        ),
        (
            '{"event":"mark","streamSid":"MZ","mark":{"name":"a"},"sequenceNumber":"1"}',
            wire.BAD_MESSAGE,
        ),
        ('{"event":"clear"}', wire.BAD_MESSAGE),
        ('{"event":"media","streamSid":"MZ","media":{"payload":"%%"}}', wire.BAD_MESSAGE),
        ('{"event":"stop","streamSid":"MZ"}', wire.BAD_MESSAGE),
    ],
)
def test_outbound_strictness_like_twilio(raw: str | bytes, code: int) -> None:
    with pytest.raises(wire.TwilioStreamError) as error:
        wire.parse_outbound(raw)
    assert error.value.code == code


def test_outbound_valid_messages() -> None:
    assert wire.parse_outbound('{"event":"clear","streamSid":"MZ"}') == Clear("MZ")
    assert wire.parse_outbound('{"event":"mark","streamSid":"MZ","mark":{"name":"x"}}') == SendMark(
        "MZ", "x"
    )
    assert wire.parse_outbound(
        '{"event":"media","streamSid":"MZ","media":{"payload":"AAE="}}'
    ) == SendMedia("MZ", b"\x00\x01")


def test_script_json_and_wav_of_any_rate(tmp_path: Path) -> None:
    path = tmp_path / "caller.wav"
    tone = (0.3 * np.sin(np.linspace(0, 2 * np.pi * 440, 22050))).astype(np.float32)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(float_to_pcm16(np.repeat(tone, 2)))
    script = tmp_path / "call.json"
    script.write_text(
        json.dumps(
            {
                "steps": [
                    {"wait_agent": {"quiet_ms": 500}},
                    {"say_wav": "caller.wav"},
                    {"say": "hello"},
                    {"silence_ms": 300},
                    {"dtmf": "12#"},
                    {"interrupt": {"after_ms": 400, "say": {"wav": "caller.wav"}}},
                    {"hangup": True},
                ]
            }
        )
    )
    steps = sc.load_script(script)
    assert steps[0] == sc.WaitAgent(quiet_ms=500)
    assert steps[1] == sc.Say(wav=str(path)) and steps[2] == sc.Say(text="hello")
    assert steps[4] == sc.Dtmf("12#") and isinstance(steps[5], sc.Interrupt)
    assert abs(len(sc.wav_to_ulaw(path)) - 8000) <= 8  # 1 s at 8 kHz
    with pytest.raises(ValueError):
        sc.parse_script([{"shout": "x"}])
