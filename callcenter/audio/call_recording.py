"""A call's recording: a stereo 16-bit 8 kHz WAV, written as the call goes.

Left is the caller as received, right is the agent as played. Both are placed on the
inbound stream's timeline: every caller frame (20 ms, stamped by Twilio) writes that
much of both channels, and the agent channel takes the same amount from the audio the
agent sent and the phone has not yet played. Twilio plays outbound audio in real time,
so this puts each agent word where the caller heard it; a ``clear`` (barge-in) drops
what was sent but never played, exactly as Twilio does. Nothing but that short unplayed
backlog is held in memory; the file's header is finished on :meth:`close` (a crash
leaves the samples on disk with a header that under-states them).
"""

from __future__ import annotations

import array
import logging
import wave
from pathlib import Path

from callcenter.audio.g711 import ulaw_to_pcm16

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
ULAW_SILENCE = b"\xff"
# A gap in the caller's timestamps longer than this is filled with silence once, not
# trusted (a jump of hours would otherwise write hours of silence).
MAX_GAP_MS = 10_000
# The agent may queue a long answer at once; beyond this much unplayed audio the
# oldest is dropped rather than growing without bound.
MAX_BACKLOG_BYTES = SAMPLE_RATE * 120


def recording_path(directory: Path, call_id: str) -> Path:
    safe = "".join(ch for ch in call_id if ch.isalnum() or ch == "-")
    if not safe:
        raise ValueError("call id has no usable characters")
    return directory / f"{safe}.wav"


def _interleave(left_ulaw: bytes, right_ulaw: bytes) -> bytes:
    left = array.array("h", ulaw_to_pcm16(left_ulaw))
    right = array.array("h", ulaw_to_pcm16(right_ulaw))
    both = array.array("h", bytes(4 * len(left)))
    both[0::2] = left
    both[1::2] = right
    return both.tobytes()


class CallRecording:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = wave.open(str(path), "wb")  # noqa: SIM115 - lives as long as the call
        self._file.setnchannels(2)
        self._file.setsampwidth(2)
        self._file.setframerate(SAMPLE_RATE)
        self._backlog = bytearray()  # agent audio sent, not yet played
        self._written = 0  # samples per channel
        self.closed = False

    @property
    def duration_ms(self) -> int:
        return self._written * 1000 // SAMPLE_RATE

    def caller(self, ulaw: bytes, timestamp_ms: int | None = None) -> None:
        """One inbound frame; its Twilio timestamp places it on the call's timeline."""
        if self.closed or not ulaw:
            return
        if timestamp_ms is not None:
            gap = timestamp_ms * SAMPLE_RATE // 1000 - self._written
            if gap > 0:
                gap = min(gap, MAX_GAP_MS * SAMPLE_RATE // 1000)
                self._write(ULAW_SILENCE * gap)
        self._write(ulaw)

    def agent(self, ulaw: bytes) -> None:
        """Audio the agent sent; it is written as the caller's frames advance time."""
        if self.closed:
            return
        self._backlog += ulaw
        if len(self._backlog) > MAX_BACKLOG_BYTES:
            del self._backlog[: len(self._backlog) - MAX_BACKLOG_BYTES]

    def clear(self) -> None:
        """Barge-in: what the agent sent but the phone had not played is never heard."""
        self._backlog.clear()

    def _write(self, caller_ulaw: bytes) -> None:
        n = len(caller_ulaw)
        played = bytes(self._backlog[:n])
        del self._backlog[:n]
        played += ULAW_SILENCE * (n - len(played))
        try:
            self._file.writeframesraw(_interleave(caller_ulaw, played))
        except OSError:
            log.exception("recording %s: write failed; recording stopped", self.path.name)
            self.close()
            return
        self._written += n

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._backlog.clear()
        try:
            self._file.close()  # patches the header with the real length
        except OSError:
            log.exception("recording %s: could not finish the file", self.path.name)
