"""The handoff summary of a Spanish and of a German call, written by the embedded model
(the 0.5B one a new user runs), comes out in the human agents' language (English): the
job translates the transcript first and summarises from the translation, and notes the
model still writes in the caller's language are translated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from callcenter.languages.text_id import text_language
from callcenter.llm.llama_cpp import LlamaCppChatModel
from callcenter.settings import load_settings
from callcenter.store import migrate
from callcenter.store.db import make_engine, make_session_factory, transaction
from callcenter.store.models import Handoff
from callcenter.store.translations import translations_of_call
from callcenter.tasks.handoff import run_summary
from callcenter.tasks.summary import create_handoff
from tests.support.calls import stored_call

CALLS = {
    "es": [
        ("agent", "Hola, gracias por llamar a Harbor Bank. ¿En qué puedo ayudarle?"),
        ("caller", "Hay un cargo en mi tarjeta que no reconozco, de una tienda en Miami."),
        ("agent", "Entiendo. Le paso con un compañero que puede revisar ese cargo."),
        ("caller", "Sí, por favor, quiero hablar con una persona."),
    ],
    "de": [
        ("agent", "Hallo, danke für Ihren Anruf bei Harbor Bank. Wie kann ich Ihnen helfen?"),
        ("caller", "Ich möchte meine Adresse ändern, ich bin nach Hamburg umgezogen."),
        ("agent", "Gerne. Ich verbinde Sie mit einem Mitarbeiter."),
        ("caller", "Danke, ich möchte lieber mit einem Menschen sprechen."),
    ],
}


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'summary.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def handed_off(factory: sessionmaker[Session], language: str) -> tuple[str, int]:
    call_id = stored_call(factory, language, CALLS[language])
    with transaction(factory) as session:
        return call_id, create_handoff(session, call_id, "caller_request", "queue:support").id


def embedded_model() -> LlamaCppChatModel:
    settings = load_settings()
    model = LlamaCppChatModel.from_settings(settings)
    model.temperature = 0.0  # the same notes every run
    return model


@pytest.mark.parametrize("language", ["es", "de"])
def test_the_embedded_model_writes_the_handoff_notes_in_english(
    factory: sessionmaker[Session], language: str
) -> None:
    call_id, handoff_id = handed_off(factory, language)
    assert run_summary(factory, handoff_id, embedded_model, "en", model_name="embedded") == "llm"
    with factory() as session:
        handoff = session.get(Handoff, handoff_id)
        assert handoff is not None and handoff.summary_source == "llm"
        summary = handoff.summary
        translated = translations_of_call(session, call_id, "en")
    # Every turn was translated for the human agent's page on the way.
    assert sorted(translated) == [1, 2, 3, 4], translated
    written = " ".join([summary["intent"], summary["notes"], *summary["open_items"]])
    found = text_language(written, ("en", "es", "de"))
    assert found is not None and found[0] == "en", (found, summary)
