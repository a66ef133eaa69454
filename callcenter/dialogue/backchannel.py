"""Which caller sounds, heard while the agent speaks, are not a bid for the floor.

"mm-hmm", "yeah", "okay", "right" say "go on"; a cough or line noise transcribes to
nothing. Such a candidate barge-in lets the agent resume where it paused. Anything else
(words that are not a backchannel) is a real interruption.
"""

from __future__ import annotations

import re

BACKCHANNEL_WORDS = frozenset(
    {
        "mm", "mmm", "mhm", "mm-hmm", "mm-hm", "hmm", "uh-huh", "uh", "huh", "um", "ah",
        "oh", "yeah", "yes", "yep", "yup", "ya", "okay", "ok", "right", "sure", "alright",
        "i", "see", "got", "it", "fine", "good", "great", "cool", "aha", "ahh", "ooh",
    }
)  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Hums however the ASR spells them: "mm-mm-mm", "mhm", "hmm", "uh-huh", "ahh".
_HUM = re.compile(r"^(?:m+|h*m+h*m*|u+h+|a+h+|o+h+|h+u+h+)(?:-(?:m+|h*m+h*m*|u+h+|h+u+h+))*$")
MAX_BACKCHANNEL_WORDS = 3


def is_backchannel(text: str) -> bool:
    """True for an empty transcript (noise, a cough) or a few backchannel words only."""
    words = _WORD.findall(text.lower())
    return len(words) <= MAX_BACKCHANNEL_WORDS and all(
        w in BACKCHANNEL_WORDS or _HUM.match(w) for w in words
    )
