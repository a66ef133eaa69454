"""The languages the agent can speak, and a caller asking for one ("in English please",
"¿habla español?", "auf Deutsch bitte").

Plain code, never the model: a request to switch is read from the words, in any of the
languages, so a caller can ask in the language they want or in the one being spoken.
"""

from __future__ import annotations

import re
import unicodedata

# Languages with flow lines, keyword rules and parsers (prompts/<code>/, text/gloss.py).
KNOWN_LANGUAGES = ("en", "es", "de")
# How each language is named, in itself (what the caller hears when offered it).
NATIVE_NAMES = {"en": "English", "es": "español", "de": "Deutsch"}
# How each language is named in English (the console, prompts to the model).
ENGLISH_NAMES = {"en": "English", "es": "Spanish", "de": "German"}


def english_name(code: str) -> str:
    """ "Spanish" for "es"; an unknown code names itself."""
    return ENGLISH_NAMES.get(code, code)


# Names of each language as callers say them, in any of the known languages (accents
# folded: "español" -> "espanol").
_NAMES: dict[str, str] = {
    "english": "en", "ingles": "en", "englisch": "en",
    "spanish": "es", "espanol": "es", "castellano": "es", "spanisch": "es",
    "german": "de", "aleman": "de", "deutsch": "de",
}  # fmt: skip
_NAME = "|".join(sorted(_NAMES, key=len, reverse=True))
# "in English", "en español", "auf Deutsch", "speak Spanish", "habla español",
# "sprechen Sie Deutsch", "switch to German", "Spanish please".
_REQUEST = re.compile(
    rf"\b(?:in|en|auf|speak|speaks|speaking|talk|habla|hablas|hablan|hablar|hablame|"
    rf"sprechen|sprichst|spricht|switch to|change to|cambiar a|cambia a|wechseln zu|"
    rf"do you speak|you speak)\s+(?:sie\s+|usted\s+|ihr\s+|the\s+)?({_NAME})\b"
    rf"|\b({_NAME})\s+(?:please|por favor|bitte|sprechen|hablar)\b"
    rf"|^\s*({_NAME})\s*[?.!]*\s*$"
)


def fold(text: str) -> str:
    """Lower case without accents ("¿Habla ESPAÑOL?" -> "¿habla espanol?")."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def requested_language(text: str) -> str | None:
    """The language the caller asks to be spoken to in, or None."""
    match = _REQUEST.search(fold(text))
    if match is None:
        return None
    name = next(group for group in match.groups() if group)
    return _NAMES[name]


def strip_request(text: str) -> str:
    """The turn without its language request ("in Spanish please, my balance" -> "my
    balance"), to see whether the caller asked for anything else in the same breath."""
    rest = _REQUEST.sub(" ", fold(text))
    rest = re.sub(r"\b(please|por favor|bitte|puede|puedes|podria|konnen sie|can you|could "
                  r"you|yes|si|ja|hola|hallo|hello|hi|gracias|danke|thanks|thank you)\b",
                  " ", rest)  # fmt: skip
    return " ".join(re.findall(r"[a-z0-9']+", rest))
