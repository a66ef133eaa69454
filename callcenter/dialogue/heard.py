"""What the caller actually heard of an agent utterance, from how much audio was played.

An utterance is spoken clause by clause; each clause has a known audio duration. Given the
played duration (from mark echoes), the heard text is every fully played clause plus the
words of the partly played clause whose audio (estimated by character share) was played.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class SpokenClause:
    text: str
    duration_ms: float


@dataclass
class SpokenUtterance:
    clauses: list[SpokenClause] = field(default_factory=list)

    def add(self, text: str, duration_ms: float) -> None:
        self.clauses.append(SpokenClause(text=text, duration_ms=duration_ms))

    @property
    def text(self) -> str:
        return join_clauses(c.text for c in self.clauses)

    @property
    def duration_ms(self) -> float:
        return sum(c.duration_ms for c in self.clauses)

    def heard_text(self, played_ms: float) -> str:
        return heard_prefix(self.clauses, played_ms)


def join_clauses(parts: Iterable[str]) -> str:
    return " ".join(p.strip() for p in parts if p.strip())


def heard_prefix(clauses: list[SpokenClause], played_ms: float) -> str:
    heard: list[str] = []
    remaining = played_ms
    for clause in clauses:
        if remaining <= 0:
            break
        if remaining >= clause.duration_ms:
            heard.append(clause.text.strip())
            remaining -= clause.duration_ms
            continue
        partial = _partial_words(clause.text, remaining / max(clause.duration_ms, 1.0))
        if partial:
            heard.append(partial)
        break
    return " ".join(h for h in heard if h)


def _partial_words(text: str, fraction: float) -> str:
    """Words whose end falls within the played fraction of the clause (never a half word)."""
    words = text.split()
    total = sum(len(w) + 1 for w in words)
    if total == 0:
        return ""
    kept: list[str] = []
    position = 0
    for word in words:
        position += len(word) + 1
        if position / total <= fraction:
            kept.append(word)
        else:
            break
    return " ".join(kept)
