"""Hypothesis strategies for frames Twilio would never send (shared by the fuzz tests).

Every message generated here is malformed for a live stream whose streamSid is not
``OTHER_SID``: the edge must skip and count each one.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import strategies as st

OTHER_SID = "MZ-not-this-stream"
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_events = st.sampled_from(["media", "mark", "dtmf", "stop", "start", "clear", "MEDIA", "", "x"])


def _dump(message: Any) -> str:
    return json.dumps(message)


@st.composite
def _plausible(draw: st.DrawFn) -> str:
    """Twilio-shaped messages with one thing wrong (or for another stream)."""
    event = draw(_events)
    good_payload = base64.b64encode(b"\xff" * 160).decode()
    body: dict[str, Any] = {
        "track": draw(st.sampled_from(["inbound", "outbound", 5, None])),
        "chunk": draw(st.sampled_from(["1", "-1", "x", 3, None, 1.5])),
        "timestamp": draw(st.sampled_from(["20", "-20", "", None, True])),
        "payload": draw(st.sampled_from([good_payload, "@@@", "abc", "", 12, None])),
        "digit": draw(st.sampled_from(["1", "x", "12", "", None])),
        "name": draw(st.sampled_from(["m", 3, None])),
    }
    body = {k: v for k, v in body.items() if v is not None and draw(st.booleans())}
    message: dict[str, Any] = {"event": event, "streamSid": OTHER_SID}
    if draw(st.booleans()):
        message[event if event else "media"] = body
    if event == "start":  # a second start: skipped as a duplicate, whatever it carries
        message["start"] = {
            "streamSid": OTHER_SID,
            "callSid": "CA1",
            "accountSid": "AC1",
            "customParameters": {"call_id": "x", "token": "y"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        }
    if draw(st.booleans()):
        message.pop("streamSid")
    return _dump(message)


def malformed_messages() -> st.SearchStrategy[str | bytes]:
    return st.one_of(
        st.text(max_size=60),  # not JSON (or JSON scalars)
        st.binary(min_size=1, max_size=60),  # binary frames
        _json_values.map(_dump),
        st.dictionaries(st.text(max_size=10), _json_values, max_size=5).map(_dump),
        _plausible(),
        st.just("{" * 5000),
        st.just(
            _dump({"event": "media", "streamSid": OTHER_SID, "media": {"payload": "A" * 70000}})
        ),
    )
