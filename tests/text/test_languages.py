"""Spanish and German words read by the English parsers, values said natively, and
requests to switch language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from callcenter.text.dates import parse_date
from callcenter.text.digits import digit_runs
from callcenter.text.gloss import gloss
from callcenter.text.languages import requested_language, strip_request
from callcenter.text.money import parse_amount
from callcenter.text.spoken_forms import read_back_in, say_amount_in, say_date_in
from callcenter.text.yes_no import yes_or_no


@pytest.mark.parametrize(
    ("said", "language", "digits"),
    [
        ("uno cero cero uno", "es", "1001"),
        ("Mi número de cuenta es uno, cero, cero, uno.", "es", "1001"),
        ("cuatro tres dos uno", "es", "4321"),
        ("Uno, té, o té, uno", "es", "1001"),  # Whisper base on a Castilian "cero"
        ("cuatro, tres, más uno", "es", "4321"),  # ... and on "dos"
        ("eins null null eins", "de", "1001"),
        ("Meine PIN ist vier drei zwei eins.", "de", "4321"),
    ],
)
def test_spoken_digits(said: str, language: str, digits: str) -> None:
    assert "".join(digit_runs(gloss(said, language))) == digits


@pytest.mark.parametrize(
    ("said", "language", "answer"),
    [
        ("Sí.", "es", "yes"),
        ("Sí, es correcto.", "es", "yes"),
        ("No.", "es", "no"),
        ("Ja, das ist richtig.", "de", "yes"),
        ("Ja, genau.", "de", "yes"),
        ("Nein.", "de", "no"),
        ("Nein, das stimmt nicht.", "de", "no"),
    ],
)
def test_yes_and_no(said: str, language: str, answer: str) -> None:
    assert yes_or_no(gloss(said, language)) == answer


def test_dates_and_amounts() -> None:
    assert parse_date(gloss("el 7 de marzo de 1984", "es")) == date(1984, 3, 7)
    assert parse_date(gloss("am 7. März 1984", "de")) == date(1984, 3, 7)
    assert parse_amount(gloss("120 euros", "es")) == Decimal(120)


def test_english_and_keyed_turns_are_left_alone() -> None:
    assert gloss("No, it's one zero zero two", "en") == "No, it's one zero zero two"
    assert gloss("(keyed on the phone) 1001", "es") == "(keyed on the phone) 1001"


@pytest.mark.parametrize(
    ("said", "language"),
    [
        ("¿Habla español?", "es"),
        ("Can you speak Spanish, please?", "es"),
        ("In English please.", "en"),
        ("Auf Deutsch bitte.", "de"),
        ("Sprechen Sie Deutsch?", "de"),
        ("¿Puede hablar en inglés?", "en"),
        ("Español.", "es"),
    ],
)
def test_requests_to_switch(said: str, language: str) -> None:
    assert requested_language(said) == language


def test_no_request_in_ordinary_turns() -> None:
    for said in ("I lost my card in Spain", "Mi tarjeta, por favor", "Ich bin aus Deutschland"):
        assert requested_language(said) is None
    assert strip_request("In Spanish please") == ""
    assert "balance" in strip_request("Spanish please, what is my balance")


def test_values_said_as_a_native_speaker_says_them() -> None:
    assert read_back_in("1001", "es") == "uno cero, cero uno"
    assert read_back_in("1001", "de") == "eins null, null eins"
    assert say_amount_in(Decimal("2417.35"), "es") == (
        "dos mil cuatrocientos diecisiete dólares con treinta y cinco centavos"
    )
    assert say_amount_in(Decimal("120"), "de") == "einhundertzwanzig Dollar"
    assert (
        say_date_in(date(1984, 3, 7), "es") == "siete de marzo de mil novecientos ochenta y cuatro"
    )
    assert say_date_in(date(1984, 3, 7), "de") == "siebter März neunzehnhundertvierundachtzig"


def test_saldo_heard_as_salvo_is_still_the_balance_in_its_phrase() -> None:
    from callcenter.text.gloss import gloss

    assert "balance" in gloss("Quiero saber el salvo de mi cuenta, por favor.", "es")
    assert "balance" not in gloss("Todo bien, salvo la tarjeta.", "es")


def test_a_glossary_prompt_keeps_the_language_priming_of_a_multilingual_decode() -> None:
    from dataclasses import replace
    from types import SimpleNamespace

    from callcenter.asr.faster_whisper import PLAIN, WhisperEngine
    from callcenter.asr.priming import priming

    engine = object.__new__(WhisperEngine)
    engine.model = SimpleNamespace(is_multilingual=True)  # type: ignore[assignment]
    glossary = replace(PLAIN, initial_prompt="Harbor Bank, Harbor Lane.")
    for language in ("es", "de"):
        text = engine._prompt_text(language, glossary)
        assert text == f"{priming(language, 'plain')} Harbor Bank, Harbor Lane.", text
    assert engine._prompt_text("es", PLAIN) == priming("es", "plain")
    assert engine._prompt_text("en", glossary) == "Harbor Bank, Harbor Lane."  # as before
    engine.model = SimpleNamespace(is_multilingual=False)  # type: ignore[assignment]
    assert engine._prompt_text("en", glossary) == "Harbor Bank, Harbor Lane."
    assert engine._prompt_text("en", PLAIN) is None
