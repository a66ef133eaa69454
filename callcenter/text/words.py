"""Words of an utterance, as the rules that read caller text compare them."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z']+|\d+")


def words(text: str) -> list[str]:
    """Lower-case words and digit runs ("It's 42!" -> ["it's", "42"])."""
    return _WORD.findall(text.lower().replace("’", "'"))
