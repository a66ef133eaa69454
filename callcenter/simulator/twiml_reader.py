"""Read the TwiML our webhook answered, the way Twilio would act on it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    kind: str  # "stream" | the first verb in lower case ("enqueue", "dial", "say", ...)
    stream_url: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    connect_action: str = ""
    status_callback: str = ""


def read_answer(twiml: str) -> Answer:
    root = ET.fromstring(twiml)
    if root.tag != "Response":
        raise ValueError(f"TwiML root is <{root.tag}>, expected <Response>")
    connect = root.find("Connect")
    stream = connect.find("Stream") if connect is not None else None
    if connect is not None and stream is not None:
        url = stream.get("url", "")
        if "?" in url:  # Twilio rejects query strings here; <Parameter> is the way
            raise ValueError(f"Stream url must not carry a query string: {url}")
        params = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
        return Answer(
            kind="stream",
            stream_url=url,
            parameters=params,
            connect_action=connect.get("action", ""),
            status_callback=stream.get("statusCallback", ""),
        )
    verbs = [child.tag.lower() for child in root]
    # A leading <Say> is the line before a transfer; what matters is where the call goes.
    for verb in verbs:
        if verb in ("enqueue", "dial", "hangup", "reject", "redirect"):
            return Answer(kind=verb)
    return Answer(kind=verbs[0] if verbs else "empty")
