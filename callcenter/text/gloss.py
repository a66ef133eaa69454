"""Spanish and German caller words, read as the English words the parsers and rules know.

The task flows' exact parsers (digits, yes/no, dates, amounts) and keyword rules are
written for English. Rather than a second copy of each per language, a caller turn in
another language is first *glossed*: the words and phrases that carry meaning for a
flow ("saldo", "tarjeta robada", "uno cero cero uno", "nein", "15 de marzo de 1985",
"Kontonummer") become their English counterparts, everything else passes through
unchanged (folded to lower case without accents). The read stays exact and cheap; what
the caller said is stored as said. Tables are plain data: extend them per language.
"""

from __future__ import annotations

import re

from callcenter.text.languages import fold

# Longest phrases first (the compiled pattern tries alternatives in order).
_SPANISH: dict[str, str] = {
    # identity
    "mi numero de cuenta es": "my account number is", "numero de cuenta": "account number",
    "mi pin es": "my pin is", "mi clave es": "my pin is", "mi codigo es": "my pin is",
    "mi nip es": "my pin is", "clave": "pin", "nip": "pin",
    "fecha de nacimiento": "date of birth", "naci el": "born", "naci": "born",
    "verificar": "verify", "identidad": "identity",
    "no tengo": "don't have", "no lo tengo": "don't have", "no se": "don't know",
    "no recuerdo": "don't remember", "no me acuerdo": "don't remember",
    # tasks
    "cuanto dinero tengo": "how much money do i have", "cuanto tengo": "how much do i have",
    # "saldo" is often heard as "salvo" ("except") on the phone: only in this phrase.
    "salvo de mi cuenta": "balance of my account",
    "saldo": "balance", "tarjeta de credito": "card", "tarjeta de debito": "card",
    "tarjetas": "cards", "tarjeta": "card", "me la robaron": "stolen",
    "me robaron": "stolen", "robaron": "stolen", "robada": "stolen", "robado": "stolen",
    "robo": "theft", "perdi": "lost", "perdida": "lost", "perdido": "lost",
    "extravie": "lost", "extraviada": "lost", "bloquear": "block", "bloquea": "block",
    "bloqueen": "block", "bloqueo": "block", "ultimos movimientos": "recent transactions",
    "movimientos": "transactions", "transacciones": "transactions",
    "operaciones": "transactions", "cambiar mi direccion": "change my address",
    "direccion": "address", "domicilio": "address", "me mude": "i moved",
    "pagar": "pay", "pago": "payment", "factura": "bill", "recibo": "bill",
    "transferir dinero": "transfer money", "que me llamen": "call me back",
    "me llamen": "call me back", "llamenme": "call me back", "llamarme": "call me back",
    "devolver la llamada": "call me back",
    # a person
    "hablar con una persona": "speak to a person", "hablar con alguien": "speak to someone",
    "una persona real": "a real person", "un agente": "an agent", "agente": "agent",
    "representante": "representative", "asesor": "agent", "operador": "operator",
    # yes, no, done
    "es correcto": "correct", "eso es correcto": "correct", "asi es": "right",
    "correcto": "correct", "exacto": "exactly", "exactamente": "exactly",
    "de acuerdo": "okay", "vale": "okay", "claro": "sure", "perfecto": "perfect",
    "si": "yes", "incorrecto": "wrong", "no es correcto": "wrong",
    "no gracias": "no thanks", "eso es todo": "that's all", "nada mas": "nothing else",
    "es todo": "that's all", "adios": "goodbye", "hasta luego": "goodbye", "chao": "bye",
    "por favor": "please", "gracias": "thanks", "en realidad": "actually",
    "olvidalo": "never mind", "mejor": "instead", "eso": "that", "es": "is",
    # numbers
    "cero": "zero", "uno": "one", "una": "one", "dos": "two", "tres": "three",
    "cuatro": "four", "cinco": "five", "seis": "six", "siete": "seven", "ocho": "eight",
    "nueve": "nine", "diez": "ten", "once": "eleven", "doce": "twelve", "trece": "thirteen",
    "catorce": "fourteen", "quince": "fifteen", "dieciseis": "sixteen",
    "diecisiete": "seventeen", "dieciocho": "eighteen", "diecinueve": "nineteen",
    "veinte": "twenty", "treinta": "thirty", "cien": "one hundred", "ciento": "one hundred",
    "mil": "thousand", "euros": "dollars", "euro": "dollars", "dolares": "dollars",
    "centimos": "cents", "centavos": "cents",
    # months
    "enero": "january", "febrero": "february", "marzo": "march", "abril": "april",
    "mayo": "may", "junio": "june", "julio": "july", "agosto": "august",
    "septiembre": "september", "setiembre": "september", "octubre": "october",
    "noviembre": "november", "diciembre": "december",
    # questions
    "que": "what", "cual": "which", "cuando": "when", "donde": "where", "como": "how",
    "cuanto": "how much", "cuanta": "how much",
}  # fmt: skip

_GERMAN: dict[str, str] = {
    # identity
    "meine kontonummer ist": "my account number is", "kontonummer": "account number",
    "meine pin ist": "my pin is", "meine geheimzahl ist": "my pin is",
    "geheimzahl": "pin", "geburtsdatum": "date of birth", "geboren am": "born",
    "geboren": "born", "verifizieren": "verify", "identitat": "identity",
    "weiss ich nicht": "don't know", "ich weiss nicht": "don't know",
    "habe ich nicht": "don't have", "ich habe keine": "don't have",
    "vergessen": "forgot",
    # tasks
    "wie viel geld habe ich": "how much money do i have", "kontostand": "balance",
    "guthaben": "balance", "saldo": "balance", "kreditkarte": "card", "bankkarte": "card",
    "ec karte": "card", "girokarte": "card", "karten": "cards", "karte": "card",
    "verloren": "lost", "verlegt": "misplaced", "gestohlen": "stolen", "geklaut": "stolen",
    "diebstahl": "theft", "sperren": "block", "sperrung": "block", "blockieren": "block",
    "letzten umsatze": "recent transactions", "umsatze": "transactions",
    "buchungen": "transactions", "transaktionen": "transactions",
    "kontobewegungen": "transactions", "adresse": "address", "anschrift": "address",
    "umgezogen": "moved", "bezahlen": "pay", "zahlen": "pay", "zahlung": "payment",
    "uberweisung": "payment", "rechnung": "bill", "zuruckrufen": "call me back",
    "ruckruf": "callback",
    # a person
    "mit einem mitarbeiter": "to an agent", "mit einem menschen": "to a real person",
    "mit einer person": "to a person", "mitarbeiter": "agent", "berater": "agent",
    "sprechen": "speak",
    # yes, no, done
    "das stimmt": "correct", "stimmt": "correct", "richtig": "right", "korrekt": "correct",
    "genau": "exactly", "in ordnung": "okay", "jawohl": "yes", "ja": "yes", "nein": "no",
    "nee": "no", "falsch": "wrong", "nicht": "not", "nein danke": "no thanks",
    "das ist alles": "that's all", "das war alles": "that's all", "das wars": "that's it",
    "nichts weiter": "nothing else", "nichts mehr": "nothing else", "tschuss": "bye",
    "auf wiederhoren": "goodbye", "auf wiedersehen": "goodbye", "bitte": "please",
    "danke": "thanks", "eigentlich": "actually", "stattdessen": "instead",
    "das ist": "that is", "ist": "is", "das": "that", "ja ich mochte": "yes please",
    # numbers
    "null": "zero", "eins": "one", "eine": "one", "ein": "one", "zwei": "two",
    "zwo": "two", "drei": "three", "vier": "four", "funf": "five", "sechs": "six",
    "sieben": "seven", "acht": "eight", "neun": "nine", "zehn": "ten", "elf": "eleven",
    "zwolf": "twelve", "zwanzig": "twenty", "dreissig": "thirty", "hundert": "hundred",
    "tausend": "thousand", "euro": "dollars", "cent": "cents",
    # months
    "januar": "january", "februar": "february", "marz": "march", "mai": "may",
    "juni": "june", "juli": "july", "oktober": "october", "dezember": "december",
    # questions
    "wann": "when", "wo": "where", "wie": "how", "was": "what", "welche": "which",
    "welcher": "which",
}  # fmt: skip

_TABLES = {"es": _SPANISH, "de": _GERMAN}


def _compile(table: dict[str, str]) -> re.Pattern[str]:
    phrases = sorted(table, key=len, reverse=True)
    return re.compile(r"(?<![\w'])(" + "|".join(re.escape(p) for p in phrases) + r")(?![\w'])")


_PATTERNS = {language: _compile(table) for language, table in _TABLES.items()}
# "15 de marzo de 1985": the "de" of a date reads as English "of".
_DATE_DE = re.compile(r"(?<=\d) de (?=[a-z])|(?<=[a-z]) de (?=\d)")
_GERMAN_ORDINAL = re.compile(r"(\d{1,2})\.(?=\s)")  # "15. März" -> "15 März"


_DIGIT_WORDS = frozenset(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
)
# "cero" as small recognisers write it from a Castilian voice (/θeɾo/: "té, o", "sero"),
# read as zero only inside a run of other digits (a lone "te" stays a word).
_SPANISH_ZERO = frozenset(["te", "tero", "sero", "ce", "cer", "zero", "siro", "pero"])
_SPANISH_TWO = frozenset(["mas", "do"])  # "dos" heard as "más"


def _spanish_zeros(said: str) -> str:
    tokens = said.replace(",", " ").replace(".", " ").split()
    if sum(t in _DIGIT_WORDS for t in tokens) < 2:
        return said
    out: list[str] = []
    for token in tokens:
        if token in _SPANISH_ZERO:
            out.append("zero")
        elif token in _SPANISH_TWO:
            out.append("two")
        elif token == "o" and out and out[-1] == "zero":
            continue  # the "-ro" of "ce-ro" heard as a word of its own
        else:
            out.append(token)
    return " ".join(out)


def gloss(text: str, language: str) -> str:
    """The turn with its Spanish / German meaning words in English (unchanged for English
    or a language without a table). Keypad turns are never touched."""
    pattern = _PATTERNS.get(language)
    if pattern is None or text.lower().startswith("(keyed on the phone)"):
        return text
    table = _TABLES[language]
    said = fold(text).replace("¿", " ").replace("¡", " ").replace("-", " ")
    said = _GERMAN_ORDINAL.sub(r"\1", said) if language == "de" else said
    said = pattern.sub(lambda m: table[m.group(1)], said)
    if language == "es":
        said = _spanish_zeros(_DATE_DE.sub(" of ", said))
    return " ".join(said.split())


def has_table(language: str) -> bool:
    return language in _TABLES
