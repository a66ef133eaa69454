"""Requests about the call itself, not the caller's task: "slower", "speak up", "say that
again", "I can't speak", "give me a moment", "forget my preferences".

They work at any moment of the call, spoken or keyed as a star code (``*`` then one key;
``*`` alone asks which codes there are). Spoken requests are read conservatively: the
whole turn must be the request (a few words, no numbers), so "wait, my account number is
1001" is an answer, not a request for more time.
"""

from __future__ import annotations

import re
from typing import Literal

CallerRequest = Literal[
    "slower", "faster", "louder", "softer", "repeat", "keypad", "speech", "more_time",
    "help", "forget_preferences",
]  # fmt: skip

# Star codes: "*" then one key. Keys, not words, so they work for callers who cannot speak.
STAR_CODES: dict[str, CallerRequest] = {
    "*": "help",
    "*1": "repeat",
    "*2": "slower",
    "*3": "louder",
    "*4": "keypad",
    "*5": "more_time",
    "*6": "faster",
    "*7": "softer",
    "*8": "speech",
    "*9": "forget_preferences",
}

_KEYED_STAR = re.compile(r"^\(keyed on the phone\)\s*(\*\d?)#?$")
_MAX_WORDS = 9

_PATTERNS: tuple[tuple[CallerRequest, str], ...] = (
    ("forget_preferences", r"\bforget (my|all my|about my) (preferences|settings)\b"
                           r"|\b(delete|remove|clear|erase) my (preferences|settings)\b"
                           r"|\bdon'?t remember my (preferences|settings)\b"),
    ("keypad", r"\bi (can'?t|cannot|can not|am unable to|'m unable to) (speak|talk)\b"
               r"|\b(use|try) (the|my) (keypad|keys|phone keys|dial ?pad)\b"
               r"|\bi'?d rather (type|use the keypad|press)\b|^keypad( please)?$"),
    ("speech", r"\bi('?ll| will| want to| can) (speak|talk) (now|instead|again)\b"
               r"|\bstop (using )?the keypad\b"),
    ("slower", r"\bslow(er| down)\b|\bmore slowly\b|\btoo fast\b|\bslowly\b"),
    ("faster", r"\bfaster\b|\bspeed up\b|\btoo slow\b|\bmore quickly\b"),
    ("louder", r"\blouder\b|\bspeak up\b|\bturn (it )?up\b|\btoo quiet\b|\btoo soft\b"
               r"|\b(can'?t|cannot|can not) hear (you|that|it)\b|\bhard to hear\b"),
    ("softer", r"\b(quieter|softer)\b|\btoo loud\b|\bturn (it )?down\b"),
    ("repeat", r"\brepeat\b|\bsay (that|it|this) again\b|\bsay again\b|\bcome again\b"
               r"|\bone more time\b|\bwhat did you (just )?say\b|^(pardon|sorry|what|huh)"
               r"( me)?$|\bi didn'?t (catch|hear|get) (that|it|you)\b|\bagain please\b"),
    ("more_time", r"^(please )?(wait|hold on|hang on)( please| a (sec|second|moment|minute)"
                  r"| one (sec|second|moment|minute))*$"
                  r"|\bgive me (a|one) (sec|second|moment|minute)\b"
                  r"|\b(just )?(a|one) (sec|second|moment|minute)( please)?$"
                  r"|\bi need (more )?time\b|\blet me (find|get|look)\b"),
)  # fmt: skip
_SPOKEN = tuple((request, re.compile(pattern)) for request, pattern in _PATTERNS)


def caller_request(text: str) -> CallerRequest | None:
    """The request a caller turn makes about the call, or None (a turn for the task)."""
    keyed = _KEYED_STAR.match(text.strip())
    if keyed is not None:
        return STAR_CODES.get(keyed.group(1))
    said = " ".join(re.findall(r"[a-z']+|\d+", text.lower().replace("’", "'")))
    if not said or any(ch.isdigit() for ch in said) or len(said.split()) > _MAX_WORDS:
        return None
    for request, pattern in _SPOKEN:
        if pattern.search(said):
            return request
    return None
