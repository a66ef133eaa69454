"""Twilio's outbound playout buffer, as its docs describe it.

Media is queued and played in order in real time from arrival; a mark is echoed when
all audio queued before it has played; ``clear`` empties the buffer and every pending
mark is echoed at once. Pure: the simulator advances it one 20 ms frame per tick.
"""

from __future__ import annotations

from collections import deque


class PlayoutBuffer:
    def __init__(self) -> None:
        self._items: deque[bytearray | str] = deque()  # audio or a mark name
        self.buffered_bytes = 0

    @property
    def is_playing(self) -> bool:
        return self.buffered_bytes > 0

    @property
    def pending_marks(self) -> list[str]:
        return [item for item in self._items if isinstance(item, str)]

    def add_audio(self, ulaw: bytes) -> None:
        if not ulaw:
            return
        tail = self._items[-1] if self._items else None
        if isinstance(tail, bytearray):
            tail += ulaw
        else:
            self._items.append(bytearray(ulaw))
        self.buffered_bytes += len(ulaw)

    def add_mark(self, name: str) -> None:
        self._items.append(name)

    def tick(self, budget: int) -> tuple[bytes, list[str]]:
        """Play up to ``budget`` bytes; returns what played and the marks now due."""
        played = bytearray()
        echoed: list[str] = []
        while self._items:
            head = self._items[0]
            if isinstance(head, str):  # everything before it has played
                echoed.append(head)
                self._items.popleft()
                continue
            if len(played) >= budget:
                break
            take = min(budget - len(played), len(head))
            played += head[:take]
            del head[:take]
            self.buffered_bytes -= take
            if not head:
                self._items.popleft()
        return bytes(played), echoed

    def clear(self) -> tuple[int, list[str]]:
        """Drop unplayed audio; returns the dropped byte count and marks to echo now."""
        dropped, marks = self.buffered_bytes, self.pending_marks
        self._items.clear()
        self.buffered_bytes = 0
        return dropped, marks
