"""The single writer: >= 40 ms messages, order kept, clear drops what is still queued."""

from __future__ import annotations

import asyncio
import json

from callcenter.telephony.stream_output import MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, StreamSender


async def test_rechunks_and_keeps_order() -> None:
    sent: list[dict[str, object]] = []

    async def send_text(text: str) -> None:
        sent.append(json.loads(text))

    sender = StreamSender("MZ1", send_text)
    writer = asyncio.create_task(sender.run())
    for _ in range(5):
        await sender.send_audio(b"\x01" * 160)  # 20 ms frames: batched into >= 40 ms
    await sender.send_mark("m1")  # flushes the last 20 ms padded to 40 ms
    await sender.send_audio(b"\x02" * 8000)
    await sender.send_mark("m2")
    sender.close()
    await writer
    kinds = [m["event"] for m in sent]
    assert kinds[-1] == "mark" and kinds.index("mark") == 3
    import base64

    sizes = [
        len(base64.b64decode(m["media"]["payload"]))
        for m in sent  # type: ignore[index]
        if m["event"] == "media"
    ]
    assert all(MIN_CHUNK_BYTES <= size <= MAX_CHUNK_BYTES + MIN_CHUNK_BYTES for size in sizes)
    assert sizes[:3] == [320, 320, 320]  # 2+2 frames, then the last one padded
    assert sum(sizes[3:]) == 8000


async def test_clear_drops_queued_output_and_reports_its_marks() -> None:
    sent: list[str] = []
    dropped: list[str] = []
    gate = asyncio.Event()

    async def slow_send(text: str) -> None:
        await gate.wait()
        sent.append(json.loads(text)["event"])

    sender = StreamSender("MZ1", slow_send, dropped.extend)
    writer = asyncio.create_task(sender.run())
    await sender.send_audio(b"\x01" * 800)
    await sender.send_mark("a")
    await asyncio.sleep(0)  # the writer takes the first message and blocks on the socket
    await sender.send_audio(b"\x01" * 800)
    await sender.send_mark("b")
    await sender.clear()
    gate.set()
    sender.close()
    await writer
    assert sent == ["media", "clear"]
    assert dropped == ["a", "b"]
