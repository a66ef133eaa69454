"""PlayoutTracker against Twilio's playout model (the simulator's PlayoutBuffer)."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.dialogue.playout import PlayoutTracker, mark_name, parse_mark_name
from callcenter.simulator.twilio_buffer import PlayoutBuffer


class LoopbackTwilio:
    """A StreamOutput that feeds Twilio's buffer model directly (no socket)."""

    def __init__(self) -> None:
        self.buffer = PlayoutBuffer()
        self.echoes: list[str] = []
        self.sent: list[tuple[str, object]] = []

    async def send_audio(self, ulaw: bytes) -> None:
        self.sent.append(("media", len(ulaw)))
        self.buffer.add_audio(ulaw)

    async def send_mark(self, name: str) -> None:
        self.sent.append(("mark", name))
        self.buffer.add_mark(name)

    async def clear(self) -> None:
        self.sent.append(("clear", None))
        self.echoes += self.buffer.clear()[1]

    def play(self, ms: int) -> None:
        for _ in range(ms // 20):
            self.echoes += self.buffer.tick(160)[1]


def deliver(twilio: LoopbackTwilio, tracker: PlayoutTracker) -> None:
    for name in twilio.echoes:
        tracker.on_mark(name)
    twilio.echoes.clear()


def test_mark_names_round_trip() -> None:
    assert parse_mark_name(mark_name("t1", 480)) == ("t1", 480)
    assert parse_mark_name("dtmf-1") is None and parse_mark_name("pt:x:y") is None


async def test_heard_position_follows_playback() -> None:
    twilio = LoopbackTwilio()
    tracker = PlayoutTracker(twilio, mark_interval_ms=160)
    tracker.begin("u1")
    await tracker.send_audio(b"\x00" * 8 * 500)  # 500 ms
    await tracker.end()
    marks = [item for kind, item in twilio.sent if kind == "mark"]
    assert marks == ["pt:u1:160", "pt:u1:320", "pt:u1:480", "pt:u1:500"]
    assert tracker.is_playing and tracker.heard_ms("u1") == 0
    twilio.play(200)
    deliver(twilio, tracker)
    assert tracker.heard_ms("u1") == 160
    waiter = asyncio.create_task(tracker.wait_played("u1"))
    twilio.play(300)
    deliver(twilio, tracker)
    assert await waiter is True
    assert tracker.heard_ms("u1") == 500 and not tracker.is_playing


async def test_clear_freezes_heard_position_and_ignores_flushed_echoes() -> None:
    twilio = LoopbackTwilio()
    tracker = PlayoutTracker(twilio)
    tracker.begin("u1")
    await tracker.send_audio(b"\x00" * 8 * 1000)
    waiter = asyncio.create_task(tracker.wait_played("u1"))
    twilio.play(340)
    deliver(twilio, tracker)
    assert tracker.heard_ms("u1") == 320
    await tracker.clear()
    # Twilio echoes every pending mark at once after clear; none of them played.
    assert twilio.echoes == [f"pt:u1:{ms}" for ms in (480, 640, 800, 960)]
    deliver(twilio, tracker)
    assert tracker.heard_ms("u1") == 320
    assert tracker.was_cleared("u1") and not tracker.is_playing
    assert await waiter is False
    # The next utterance is unaffected by the old one's late echoes.
    tracker.begin("u2")
    await tracker.send_audio(b"\x00" * 8 * 200)
    await tracker.end()
    twilio.play(400)
    deliver(twilio, tracker)
    assert await tracker.wait_played("u2") is True and tracker.heard_ms("u2") == 200


async def test_misuse_is_reported() -> None:
    tracker = PlayoutTracker(LoopbackTwilio())
    with pytest.raises(RuntimeError):
        await tracker.send_audio(b"\x00")
    tracker.begin("a")
    with pytest.raises(RuntimeError):
        tracker.begin("b")
    await tracker.end()
    with pytest.raises(ValueError):
        tracker.begin("a")
    with pytest.raises(ValueError):
        tracker.begin("x:y")
    assert tracker.on_mark("someone-elses-mark") is False


async def test_audio_still_in_flight_after_a_clear_is_dropped_not_an_error() -> None:
    # A reply may be mid-chunk when the barge-in clears its utterance: what it still
    # sends must not reach Twilio, and must not fail the reply (which would escalate).
    twilio = LoopbackTwilio()
    tracker = PlayoutTracker(twilio)
    tracker.begin("a1")
    await tracker.send_audio(b"\xff" * 1600)
    await tracker.clear()
    sent_before = list(twilio.sent)
    await tracker.send_audio(b"\xff" * 1600)
    await tracker.end()
    assert twilio.sent == sent_before
    assert tracker.was_cleared("a1") and not tracker.has_open_utterance
    tracker.begin("a2")  # the next reply starts cleanly
    await tracker.send_audio(b"\xff" * 160)
    assert twilio.sent[-1][0] in ("media", "mark")
