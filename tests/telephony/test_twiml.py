"""The TwiML we answer with."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from callcenter.settings import load_settings
from callcenter.telephony.twiml import answer_twiml, busy_twiml, fallback_twiml, transfer_twiml


def test_answer_connects_a_stream_without_query_string() -> None:
    settings = load_settings(public_url="https://agent.example.com")
    root = ET.fromstring(answer_twiml(settings, "call-1", "123.abc"))
    connect = root.find("Connect")
    assert connect is not None
    assert connect.get("action") == "https://agent.example.com/twilio/connect-action?call_id=call-1"
    stream = connect.find("Stream")
    assert stream is not None
    assert stream.get("url") == "wss://agent.example.com/twilio/media"
    assert stream.get("statusCallback") == "https://agent.example.com/twilio/status"
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert params == {"call_id": "call-1", "token": "123.abc"}


@pytest.mark.parametrize(
    ("destination", "verb", "child", "target"),
    [
        ("queue:support", "Enqueue", None, "support"),
        ("tel:+15550009999", "Dial", "Number", "+15550009999"),
        ("sip:agent@pbx.example.com", "Dial", "Sip", "sip:agent@pbx.example.com"),
        ("client:alice", "Dial", "Client", "alice"),
    ],
)
def test_transfer_destinations(destination: str, verb: str, child: str | None, target: str) -> None:
    settings = load_settings(public_url="https://a.example", human_destination=destination)
    root = ET.fromstring(transfer_twiml(settings, "c1"))
    say, action = root[0], root[1]
    assert say.tag == "Say" and say.text
    assert action.tag == verb
    assert action.get("action") == "https://a.example/twilio/dial-result?call_id=c1"
    node = action if child is None else action.find(child)
    assert node is not None
    assert node.text == target
    assert "colleague" in ET.tostring(ET.fromstring(busy_twiml(settings)), encoding="unicode")


def test_fallback_dials_once_then_apologises() -> None:
    settings = load_settings(human_fallback_number="+15550007777")
    first = ET.fromstring(fallback_twiml(settings, "c1", already_fell_back=False))
    dial = first.find("Dial")
    assert dial is not None and "fallback=1" in (dial.get("action") or "")
    last = ET.fromstring(fallback_twiml(settings, "c1", already_fell_back=True))
    assert [child.tag for child in last] == ["Say", "Hangup"]
    no_number = ET.fromstring(fallback_twiml(load_settings(), "c1", already_fell_back=False))
    assert [child.tag for child in no_number] == ["Say", "Hangup"]


def test_the_recording_notice_is_said_before_the_stream_only_when_recording() -> None:
    notice = "Calls to Harbor Bank are recorded for training."
    recorded = load_settings(public_url="https://a.example", recording_notice=notice)
    root = ET.fromstring(answer_twiml(recorded, "c1", "1.a"))
    assert [child.tag for child in root] == ["Say", "Connect"]
    assert root[0].text == notice

    off = load_settings(public_url="https://a.example", recording_notice=notice,
                        recording_enabled=False)  # fmt: skip
    assert [child.tag for child in ET.fromstring(answer_twiml(off, "c1", "1.a"))] == ["Connect"]
    silent = load_settings(public_url="https://a.example", recording_notice="  ")
    assert [child.tag for child in ET.fromstring(answer_twiml(silent, "c1", "1.a"))] == ["Connect"]
