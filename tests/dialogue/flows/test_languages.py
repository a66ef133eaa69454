"""Task flows in Spanish and German, against the real tools: the caller's words read by
the parsers through the gloss, the agent's lines, values and tool results in the call's
language, and a caller who asks to switch mid-call."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from callcenter.dialogue.flows.languages import FlowLanguages
from callcenter.dialogue.language import CallLanguage
from callcenter.dialogue.prompts import default_prompt_set
from callcenter.store.models import CardStatus
from tests.dialogue.flows.harness import FlowCall, Reply, open_flow_call
from tests.tools.helpers import account

LANGUAGES = ("en", "es", "de")


def multilingual_call(factory: sessionmaker[Session], start: str) -> tuple[FlowCall, CallLanguage]:
    call = open_flow_call(factory, flow_intent_model=False)
    language = CallLanguage(LANGUAGES, start)
    call.replier.languages = FlowLanguages(default_prompt_set(), language)
    return call, language


def heard(call: FlowCall, language: CallLanguage, text: str) -> Reply:
    """What the session does per caller turn: observe the words, then reply."""
    language.observe(text)
    return call.say(text)


def test_a_spanish_caller_verifies_and_hears_the_balance_in_spanish(
    db_factory: sessionmaker[Session],
) -> None:
    call, language = multilingual_call(db_factory, "es")
    reply = heard(call, language, "Quiero saber mi saldo, por favor.")
    assert "número de cuenta" in reply.text, reply.text
    reply = heard(call, language, "uno cero cero uno")
    assert "Cuenta uno cero, cero uno" in reply.text and "PIN" in reply.text, reply.text
    reply = heard(call, language, "cuatro tres dos uno")
    assert "Gracias, Dana" in reply.text, reply.text
    expected = "dos mil cuatrocientos diecisiete dólares con treinta y cinco centavos"
    assert f"Su saldo actual es de {expected}." in reply.text, reply.text
    assert reply.text.endswith("¿Puedo ayudarle en algo más?"), reply.text
    reply = heard(call, language, "No, gracias. Adiós.")
    assert "Adiós" in reply.text and reply.result.action == "end_call"
    assert language.current == "es"


def test_a_german_caller_blocks_a_lost_card(db_factory: sessionmaker[Session]) -> None:
    call, language = multilingual_call(db_factory, "de")
    reply = heard(call, language, "Ich habe meine Karte verloren.")
    assert "Kontonummer" in reply.text, reply.text
    heard(call, language, "eins null null eins")
    reply = heard(call, language, "vier drei zwei eins")
    assert "als verloren gemeldet. Ist das richtig?" in reply.text, reply.text
    reply = heard(call, language, "Ja, das ist richtig.")
    assert "gesperrt" in reply.text, reply.text
    assert account(db_factory, "1001").card_status == CardStatus.blocked_lost


def test_an_english_caller_asks_for_spanish_and_is_answered_in_spanish(
    db_factory: sessionmaker[Session],
) -> None:
    call, language = multilingual_call(db_factory, "en")
    reply = heard(call, language, "What's my balance?")
    assert "account number" in reply.text
    reply = heard(call, language, "Can you speak Spanish, please?")
    assert language.current == "es"
    assert "le atiendo en español" in reply.text, reply.text
    assert "¿Cuál es su número de cuenta?" in reply.text, reply.text  # the pending question
    reply = heard(call, language, "uno cero cero uno")
    assert "Ahora dígame su PIN" in reply.text, reply.text
    # Asked for, so kept: English words later do not switch the call back.
    language.observe("I would like to hear my balance please", "en", 0.99)
    assert language.current == "es"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Quiero bloquear mi tarjeta, me la robaron.", "es"),
        ("Guten Tag, ich möchte meinen Kontostand wissen.", "de"),
        ("Hello, I would like to know my balance please.", "en"),
    ],
)
def test_the_first_words_set_the_language(text: str, expected: str) -> None:
    language = CallLanguage(LANGUAGES, "en")
    assert language.observe(text, expected, 0.9) == expected


def test_short_or_contradicted_turns_do_not_switch_a_call_under_way() -> None:
    language = CallLanguage(LANGUAGES, "en")
    language.observe("I would like to know my balance please.", "en", 0.95)
    assert language.observe("1 0 0 1", "es", 0.8) == "en"  # digits: no text to agree
    assert language.observe("Sí.", "es", 0.9) == "en"  # too short to switch on
    # The audio says Spanish, the words are plainly English: the words win.
    assert language.observe("Yes, that is exactly right, thank you.", "es", 0.6) == "en"
    # Both agree, several words: the caller switched.
    assert language.observe("Perdone, prefiero hablar de mi tarjeta robada.", "es", 0.9) == "es"


def test_english_only_deployments_never_switch() -> None:
    language = CallLanguage(("en",), "en")
    assert language.observe("¿Habla español? Quiero mi saldo.", "es", 0.99) == "en"
