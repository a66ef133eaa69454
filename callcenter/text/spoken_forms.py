"""Numbers, digits, amounts and dates as a native speaker says them, per language.

English keeps its own forms (``digits.read_back``, ``money.say_amount``,
``dates.say_date``); Spanish and German are written out in words with ``num2words``, so
the voice never has to guess how to read "2.417,35" or "07.03.1984".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from num2words import num2words  # type: ignore[import-untyped]

from callcenter.text.dates import say_date
from callcenter.text.digits import read_back
from callcenter.text.money import say_amount

_DIGITS = {
    "es": ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"),
    "de": ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"),
}
_MONTHS = {
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"),
}  # fmt: skip
# (whole units, cents, "and") of the account currency (US dollars).
_CURRENCY = {"es": ("dólares", "centavos", "con"), "de": ("Dollar", "Cent", "und")}


def spell_digits_in(digits: str, language: str) -> str:
    names = _DIGITS.get(language)
    if names is None:
        return read_back(digits, len(digits) or 1)
    return " ".join(names[int(d)] for d in digits if d.isdigit())


def read_back_in(digits: str, language: str, group: int = 0) -> str:
    """Digits in groups for a read-back ("1001" -> "uno cero, cero uno")."""
    if language not in _DIGITS:
        return read_back(digits, group)
    if not digits:
        return ""
    size = group or (3 if len(digits) in (6, 9) else 4 if len(digits) > 4 else 2)
    if len(digits) <= 3:
        return spell_digits_in(digits, language)
    parts = [digits[i : i + size] for i in range(0, len(digits), size)]
    return ", ".join(spell_digits_in(part, language) for part in parts)


def number_in(value: int, language: str) -> str:
    return str(num2words(value, lang=language)) if language in _DIGITS else str(value)


def say_amount_in(amount: Decimal, language: str) -> str:
    """'dos mil cuatrocientos diecisiete dólares con treinta y cinco centavos'."""
    if language not in _CURRENCY:
        return say_amount(amount)
    units, cents_name, joiner = _CURRENCY[language]
    cents_total = int((abs(amount) * 100).quantize(Decimal(1)))
    whole, cents = divmod(cents_total, 100)
    sign = ("menos " if language == "es" else "minus ") if amount < 0 else ""
    spoken = f"{sign}{number_in(whole, language)} {units}"
    if cents:
        spoken += f" {joiner} {number_in(cents, language)} {cents_name}"
    return spoken


def say_date_in(value: date, language: str) -> str:
    """'siete de marzo de mil novecientos ochenta y cuatro' / 'siebter März
    neunzehnhundertvierundachtzig'."""
    if language not in _MONTHS:
        return say_date(value)
    month = _MONTHS[language][value.month - 1]
    year = str(num2words(value.year, lang=language, to="year"))
    if language == "es":
        day = "primero" if value.day == 1 else number_in(value.day, language)
        return f"{day} de {month} de {year}"
    day = str(num2words(value.day, lang="de", to="ordinal"))
    return f"{day}r {month} {year}"
