"""The console's machine translation: a human agent asks for an English translation of
a Spanish call, the job translates it (in-process here, against a scripted OpenAI-
compatible server), and the call page, the handoff page and the API show each
translation beside its turn, labelled as machine-made. The app runs on SQLite."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callcenter.store import migrate
from callcenter.store import users as user_store
from callcenter.store.db import make_engine, make_session_factory, transaction
from callcenter.store.models import Handoff
from callcenter.testing import Rule, ScriptedLLMServer
from tests.support.calls import stored_call
from tests.support.eager_jobs import eager_jobs
from tests.support.live_app import LiveApp, start_live_app
from tests.web.helpers import PASSWORD, login, unique

LABEL = "Machine translation (English)"


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLMServer]:
    rules = [
        Rule(match="saldo", reply='"I want to know my account balance."'),
        Rule(match="ayudarle", reply="Hello, how can I help you?"),
        Rule(match="tarjeta", status=503),  # stays untranslated
    ]
    with ScriptedLLMServer(rules, fallback=Rule(reply="")) as server:
        yield server


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def console(
    database: tuple[str, Engine], llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LiveApp, sessionmaker[Session]]]:
    url, engine = database
    factory = make_session_factory(engine)
    with eager_jobs(monkeypatch, url, llm.base_url):
        app = start_live_app(engine, factory, handoff_language="en")
        try:
            yield app, factory
        finally:
            app.stop()


def seed(factory: sessionmaker[Session], language: str, lines: list[tuple[str, str]]) -> str:
    return stored_call(factory, language, lines, from_number="+34600000001")


def add_handoff(factory: sessionmaker[Session], call_id: str) -> int:
    with transaction(factory) as session:
        handoff = Handoff(call_id=call_id, reason="caller_request", summary={})
        session.add(handoff)
        session.flush()
        return handoff.id


def logged_in(app: LiveApp, factory: sessionmaker[Session]) -> tuple[httpx.Client, str]:
    username = unique("agent")
    with transaction(factory) as session:
        user_store.create_user(session, username=username, password=PASSWORD, role="agent")
    client = httpx.Client(base_url=app.url, timeout=30, follow_redirects=False)
    return client, login(client, username)


def turn_item(html: str, seq: int) -> str:
    found = re.search(rf'<li class="turn [a-z]+" data-seq="{seq}".*?</li>', html, re.DOTALL)
    assert found, f"no turn {seq} in the page"
    return found.group(0)


def test_a_human_agent_reads_a_spanish_call_in_english(
    console: tuple[LiveApp, sessionmaker[Session]],
) -> None:
    app, factory = console
    call_id = seed(
        factory,
        "es",
        [
            ("agent", "Hola, ¿en qué puedo ayudarle?"),
            ("caller", "Quiero saber el saldo de mi cuenta."),
            ("caller", "Perdí mi tarjeta ayer."),
        ],
    )
    handoff_id = add_handoff(factory, call_id)
    client, csrf = logged_in(app, factory)
    with closing(client):
        page = client.get(f"/calls/{call_id}").text
        assert "Translate to English" in page and LABEL not in page
        # Like every console form, the button needs the session's CSRF token.
        forged = client.post(f"/calls/{call_id}/translate", data={})
        assert forged.status_code == 403
        asked = client.post(f"/calls/{call_id}/translate", data={"csrf_token": csrf})
        assert asked.status_code == 303 and asked.headers["location"] == f"/calls/{call_id}"

        deadline = time.monotonic() + 20
        while LABEL not in page and time.monotonic() < deadline:
            time.sleep(0.1)
            page = client.get(f"/calls/{call_id}").text
        greeting, balance, card = (turn_item(page, seq) for seq in (1, 2, 3))
        for item, english in (
            (greeting, "Hello, how can I help you?"),
            (balance, "I want to know my account balance."),
        ):
            assert '<span class="original" lang="es">' in item
            assert f'lang="en"><span class="machine-label">{LABEL}</span>' in item
            assert f'<span class="translated">{english}</span>' in item
        # The model failed on this one: the original stands alone, and can be asked again.
        assert "Perdí mi tarjeta ayer." in card and LABEL not in card
        assert "Translate to English" in page

        data = client.get(f"/api/v1/calls/{call_id}").json()
        assert [t["translation"] for t in data["transcript"]] == [
            "Hello, how can I help you?",
            "I want to know my account balance.",
            None,
        ]
        assert [t["language"] for t in data["transcript"]] == ["es", "es", "es"]
        assert data["translation"] == {
            "language": "en",
            "language_name": "English",
            "pending": True,
        }

        handoff_page = client.get(f"/agent/handoffs/{handoff_id}").text
        assert f'<span class="machine-label">{LABEL}</span>' in handoff_page
        assert "I want to know my account balance." in turn_item(handoff_page, 2)
        assert 'lang="es"' in turn_item(handoff_page, 3)
        handoff = client.get(f"/api/v1/handoffs/{handoff_id}").json()
        assert handoff["transcript"][1]["translation"] == "I want to know my account balance."


def test_an_english_call_offers_no_translation(
    console: tuple[LiveApp, sessionmaker[Session]],
) -> None:
    app, factory = console
    call_id = seed(factory, "en", [("caller", "What's my balance?")])
    client, csrf = logged_in(app, factory)
    with closing(client):
        page = client.get(f"/calls/{call_id}").text
        assert "Translate to English" not in page and LABEL not in page
        assert '<span class="original" lang="en">' in page
        asked = client.post(f"/calls/{call_id}/translate", data={"csrf_token": csrf})
        assert asked.status_code == 303
        assert "already translated" in client.get(f"/calls/{call_id}").text
        missing = client.post(f"/calls/{uuid.uuid4()}/translate", data={"csrf_token": csrf})
        assert missing.status_code == 404
