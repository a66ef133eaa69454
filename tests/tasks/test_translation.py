"""Machine translation of a call's turns: the model's reply cleaned, one request per turn,
a failing turn left untranslated, the job on SQLite, and the handoff enqueueing it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.llm.base import LLMUnavailable
from callcenter.llm.openai_compat import OpenAICompatChatModel
from callcenter.store import migrate
from callcenter.store.db import make_engine, make_session_factory
from callcenter.store.models import OutboxJob, TurnTranslation
from callcenter.store.recorder import CallRecorder
from callcenter.store.translations import translations_of_call, turns_to_translate
from callcenter.tasks.handoff import HandoffOpener
from callcenter.tasks.summary import HandoffSummary
from callcenter.tasks.translation import (
    TranslationError,
    clean_translation,
    notes_in,
    run_translation,
    translate_call,
    translate_text,
)
from callcenter.testing import Rule, ScriptedLLMServer
from tests.support.calls import stored_call
from tests.support.eager_jobs import eager_jobs

SPANISH_CALL = [
    ("agent", "Hola, ¿en qué puedo ayudarle?"),
    ("caller", "Quiero saber el saldo de mi cuenta."),
    ("caller", "(keyed on the phone) 1001"),
    ("caller", "Perdí mi tarjeta ayer."),
    ("agent", "Gracias, un momento por favor."),
]


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLMServer]:
    rules = [
        # Small models wrap the line: a label and quotes must go.
        Rule(match="saldo", reply='Translation: "I want to know my account balance."'),
        Rule(match="tarjeta", status=503),  # this turn's request fails
        Rule(match="Gracias", reply="Thank you, one moment please.\n\n(Note: formal register.)"),
        Rule(match="ayudarle", reply="Hello, how can I help you?"),
        Rule(match="Kontostand", reply="I want to check my account balance."),
        Rule(match="cut short", reply="one two three four five six"),
        Rule(match="Kontonummer", reply="Your account number is 1234567890."),
        # A summary's notes a small model wrote in the call's language, translated.
        Rule(match="dirección postal", reply="change the postal address"),
        Rule(
            match="se ha mudado", reply="The customer moved to Valencia and wants the new address."
        ),
    ]
    with ScriptedLLMServer(rules, fallback=Rule(reply="")) as server:
        yield server


def model(server: ScriptedLLMServer, max_tokens: int = 160) -> OpenAICompatChatModel:
    return OpenAICompatChatModel(
        base_url=server.base_url,
        model="scripted",
        timeout_s=5.0,
        max_retries=0,
        max_tokens=max_tokens,
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'translations.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture
def factory(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sqlite_url)
    yield make_session_factory(engine)
    engine.dispose()


def spanish_call(factory: sessionmaker[Session], language: str = "es") -> str:
    return stored_call(factory, language, SPANISH_CALL)


# --- the model's reply ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("I lost my card.", "I lost my card."),
        ('"I lost my card."', "I lost my card."),
        ("“I lost my card.”", "I lost my card."),
        ("Translation: I lost my card.", "I lost my card."),
        ('English translation: "I lost my card."', "I lost my card."),
        ("Here is the translation: I lost my card.", "I lost my card."),
        ("```\nI lost my card.\n```", "I lost my card."),
        ("I lost my card.\n(Note: informal register.)", "I lost my card."),
        ("Caller: I lost my card.", "I lost my card."),
        ("  ", ""),
        # The instructions read back instead of a translation: no translation at all.
        ("No quotes, no labels, no notes, no explanation.", ""),
    ],
)
def test_clean_translation_strips_what_models_add(reply: str, expected: str) -> None:
    assert clean_translation(reply) == expected


# --- one turn against a real OpenAI-compatible server -----------------------------------


def test_one_line_is_asked_for_alone_with_a_translation_only_prompt(
    llm: ScriptedLLMServer,
) -> None:
    llm.clear()
    chat = model(llm)

    async def run() -> str:
        try:
            return await translate_text(
                chat, "Quiero saber el saldo de mi cuenta.", source="es", target="en"
            )
        finally:
            await chat.close()

    assert asyncio.run(run()) == "I want to know my account balance."
    [request] = llm.requests
    system, user = request.messages
    assert system["role"] == "system" and "into English" in system["content"]
    assert user == {
        "role": "user",
        "content": "Translate this Spanish line into English:\nQuiero saber el saldo de mi cuenta.",
    }


@pytest.mark.parametrize(
    ("line", "max_tokens", "error", "why"),
    [
        ("Perdí mi tarjeta ayer.", 160, LLMUnavailable, "503"),
        ("nothing matches this", 160, TranslationError, "no translation"),
        ("cut short", 3, TranslationError, "token limit"),
        ("Wie lautet Ihre Kontonummer?", 160, TranslationError, "numbers the line does not"),
    ],
)
def test_a_turn_without_a_usable_translation_raises(
    llm: ScriptedLLMServer,
    line: str,
    max_tokens: int,
    error: type[Exception],
    why: str,
) -> None:
    chat = model(llm, max_tokens)

    async def run() -> str:
        try:
            return await translate_text(chat, line, source="es", target="en")
        finally:
            await chat.close()

    with pytest.raises(error, match=why):
        asyncio.run(run())


# --- the job -------------------------------------------------------------------------------


def test_the_job_translates_each_turn_and_leaves_a_failed_one_untranslated(
    factory: sessionmaker[Session], llm: ScriptedLLMServer
) -> None:
    call_id = spanish_call(factory)
    llm.clear()
    report = run_translation(factory, call_id, "en", lambda: model(llm), model_name="scripted-7b")
    assert report.translated == [1, 2, 5]
    assert list(report.failed) == [4]  # the 503; the turns after it still went
    # One request per turn with words; the keyed digits were never sent.
    sent = [r.messages[-1]["content"] for r in llm.requests]
    assert [text.split("\n", 1)[1] for text in sent] == [SPANISH_CALL[i][1] for i in (0, 1, 3, 4)]
    with factory() as session:
        assert translations_of_call(session, call_id, "en") == {
            1: "Hello, how can I help you?",
            2: "I want to know my account balance.",
            5: "Thank you, one moment please.",
        }
        row = session.scalars(select(TurnTranslation)).first()
        assert row is not None and (row.made_by, row.model) == ("llm", "scripted-7b")
        # Only the failed turn is left; a rerun asks for it alone.
        assert [t.seq for t in turns_to_translate(session, call_id, "en")] == [4]
    llm.clear()
    again = run_translation(factory, call_id, "en", lambda: model(llm), model_name="x")
    assert again.translated == [] and list(again.failed) == [4]
    assert [str(r.messages[-1]["content"]).split("\n", 1)[1] for r in llm.requests] == [
        "Perdí mi tarjeta ayer."
    ]


def test_the_job_never_raises_when_the_model_cannot_be_built(
    factory: sessionmaker[Session],
) -> None:
    call_id = spanish_call(factory)

    def broken() -> OpenAICompatChatModel:
        raise RuntimeError("no model files")

    report = run_translation(factory, call_id, "en", broken, model_name="x")
    assert sorted(report.failed) == [1, 2, 4, 5] and report.translated == []


def test_the_celery_task_translates_a_call_on_sqlite(
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    factory: sessionmaker[Session],
    llm: ScriptedLLMServer,
) -> None:
    call_id = spanish_call(factory)
    with eager_jobs(monkeypatch, sqlite_url, llm.base_url):
        result = translate_call.apply(args=[call_id, "en"]).get()
    assert result["translated"] == [1, 2, 5] and list(result["failed"]) == [4]
    with factory() as session:
        assert translations_of_call(session, call_id, "en")[2] == (
            "I want to know my account balance."
        )


# --- the handoff enqueues it ------------------------------------------------------------


def open_handoff(factory: sessionmaker[Session], call_id: str) -> None:
    recorder = CallRecorder(factory)
    try:
        opener = HandoffOpener(recorder, "queue:support")
        asyncio.run(opener(call_id, "caller_request"))
    finally:
        recorder.close()


def jobs(factory: sessionmaker[Session], task: str) -> list[list[object]]:
    with factory() as session:
        return [
            job.args for job in session.scalars(select(OutboxJob).where(OutboxJob.task == task))
        ]


def test_a_handoff_of_a_spanish_call_translates_it_for_the_human_agent(
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    factory: sessionmaker[Session],
    llm: ScriptedLLMServer,
) -> None:
    with eager_jobs(monkeypatch, sqlite_url, llm.base_url):
        spanish = spanish_call(factory, "es")
        english = spanish_call(factory, "en")  # stored as English: nothing to translate
        open_handoff(factory, spanish)
        open_handoff(factory, english)
        # The summary job translates first (and summarises from the translation).
        assert len(jobs(factory, "callcenter.summarise_handoff")) == 2
        # The job ran after the commit (in-process here; a worker in production).
        deadline = time.monotonic() + 20
        found: dict[int, str] = {}
        while time.monotonic() < deadline and len(found) < 3:
            with factory() as session:
                found = translations_of_call(session, spanish, "en")
            time.sleep(0.05)
    assert found == {
        1: "Hello, how can I help you?",
        2: "I want to know my account balance.",
        5: "Thank you, one moment please.",
    }
    with factory() as session:
        assert translations_of_call(session, english, "en") == {}
    # The summary was asked for from the translated lines (the untranslated turn as said).
    asked = [
        r.messages[-1]["content"]
        for r in llm.requests
        if str(r.messages[0]["content"]).startswith("You write handoff notes")
    ]
    spanish_summary = next(text for text in asked if "Perdí mi tarjeta" in text)
    assert "I want to know my account balance." in spanish_summary, spanish_summary
    assert "Quiero saber" not in spanish_summary


def test_summary_notes_written_in_the_callers_language_are_translated(
    llm: ScriptedLLMServer,
) -> None:
    facts = HandoffSummary(
        reason="caller_request",
        verified=True,
        intent="cambiar su dirección postal",
        notes="El cliente se ha mudado a Valencia y quiere la nueva dirección.",
        open_items=[],
    )
    english = asyncio.run(notes_in(model(llm), facts, "en"))
    assert english.intent == "change the postal address"
    assert english.notes == "The customer moved to Valencia and wants the new address."
    assert english.verified and english.reason == "caller_request"  # facts untouched
    # Notes already in the agents' language are not sent to the model at all.
    llm.clear()
    kept = HandoffSummary(
        reason="caller_request", verified=False, intent="change the postal address"
    )
    assert asyncio.run(notes_in(model(llm), kept, "en")) == kept
    assert llm.requests == []
