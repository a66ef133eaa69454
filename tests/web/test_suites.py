"""Scenario suites over HTTP against a real server: a failing (or never-run) suite blocks a
publish, an override with a reason goes to the audit log, a passing suite lets it through;
the text-chat tester; and `callcenter suites run` from the command line."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, update

from callcenter.store import migrate
from callcenter.store import suites as suite_store
from callcenter.store.db import make_engine, make_session_factory, transaction
from callcenter.store.models import ScenarioSuite
from tests.support.paths import REPO_ROOT
from tests.support.postgres import temporary_database
from tests.support.servers import callcenter_command
from tests.web.helpers import WebServer, login

HOURS = {"kind": "say", "text": "What are your opening hours?"}


@pytest.fixture
def api(web_server: WebServer) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """An admin's client and bearer header; the shipped suite is set aside meanwhile (its
    own run is covered in tests/scenarios) and every suite made here is left optional."""
    with transaction(web_server.factory) as session:
        required = list(session.scalars(select(ScenarioSuite.id).where(ScenarioSuite.required)))
        session.execute(update(ScenarioSuite).values(required=False))
    with web_server.client() as client:
        csrf = login(client, web_server.create_user("admin"))
        token = client.post("/api/v1/me/token", headers={"X-CSRF-Token": csrf}).json()["token"]
        client.timeout = httpx.Timeout(180)
        yield client, {"Authorization": f"Bearer {token}"}
    with transaction(web_server.factory) as session:
        session.execute(update(ScenarioSuite).values(required=False))
        if required:
            session.execute(
                update(ScenarioSuite).where(ScenarioSuite.id.in_(required)).values(required=True)
            )


def _draft(client: httpx.Client, api: dict[str, str], body: str) -> int:
    made = client.post("/api/v1/prompts/greeting/drafts", headers=api, json={"body": body})
    assert made.status_code == 201, made.text
    return int(made.json()["version"])


def test_a_failing_suite_blocks_a_publish_and_an_override_is_audited(
    api: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, auth = api
    bank = f"Harbor {uuid.uuid4().hex[:6]} Bank"
    created = client.post("/api/v1/suites", headers=auth, json={"name": f"greeting {bank}"})
    assert created.status_code == 201, created.text
    suite = created.json()["id"]
    scenario = {"name": "says the bank's name", "steps": [HOURS], "expected": {"said": [[bank]]}}
    added = client.post(f"/api/v1/suites/{suite}/scenarios", headers=auth, json=scenario)
    assert added.status_code == 201, added.text
    live = client.get("/api/v1/prompts/greeting/versions", headers=auth).json()["versions"]
    published = next(v["version"] for v in live if v["status"] == "published")
    bad = _draft(client, auth, "Hello. How can I help you today?")
    good = _draft(client, auth, f"Welcome to {bank}. How can I help you today?")
    try:
        # Never run against the draft: blocked, and the answer says why.
        refused = client.post(f"/api/v1/prompts/greeting/versions/{bad}/publish", headers=auth)
        assert refused.status_code == 409
        assert "never run against this version" in refused.json()["error"]
        gate = client.get(f"/api/v1/publish-gate?target=prompt:greeting:{bad}", headers=auth)
        assert gate.json()["blocked"] is True
        assert [s["state"] for s in gate.json()["suites"]] == ["not_run"]

        run = client.post(
            f"/api/v1/suites/{suite}/runs", headers=auth, json={"target": f"prompt:greeting:{bad}"}
        )
        assert run.status_code == 201, run.text
        assert run.json()["passed"] is False and run.json()["failed"] == 1
        result = run.json()["results"][0]
        assert any("never said" in failure for failure in result["failures"])
        assert result["transcript"][0]["text"] == "Hello. How can I help you today?"
        refused = client.post(f"/api/v1/prompts/greeting/versions/{bad}/publish", headers=auth)
        assert refused.status_code == 409 and "0 of 1 passed" in refused.json()["error"]

        reason = "Hotfix approved by the on-call lead"
        forced = client.post(
            f"/api/v1/prompts/greeting/versions/{bad}/publish",
            headers=auth,
            json={"override_reason": reason},
        )
        assert forced.status_code == 200, forced.text
        assert forced.json()["suites"][0]["state"] == "failed"
        audit = client.get("/api/v1/audit?action=publish.override", headers=auth).json()
        entry = next(e for e in audit["entries"] if e["details"].get("version") == bad)
        assert entry["details"]["reason"] == reason and entry["target_id"] == "greeting"
        assert entry["details"]["suites"][0]["state"] == "failed"

        # A passing run lets the other draft through without any override.
        passed = client.post(
            f"/api/v1/suites/{suite}/runs", headers=auth, json={"target": f"prompt:greeting:{good}"}
        )
        assert passed.json()["passed"] is True, passed.json()["results"]
        through = client.post(f"/api/v1/prompts/greeting/versions/{good}/publish", headers=auth)
        assert through.status_code == 200, through.text
        assert through.json()["suites"][0]["state"] == "passed"
        overrides = client.get("/api/v1/audit?action=publish.override", headers=auth).json()
        assert not any(e["details"].get("version") == good for e in overrides["entries"])

        # Changing the suite makes its runs stale: the gate asks for a new run.
        scenario = {"name": "keyed zero", "steps": [{"kind": "press", "text": "0"}],
                    "expected": {"handoff": True}}  # fmt: skip
        client.post(f"/api/v1/suites/{suite}/scenarios", headers=auth, json=scenario)
        gate = client.get(f"/api/v1/publish-gate?target=prompt:greeting:{good}", headers=auth)
        assert [s["state"] for s in gate.json()["suites"]] == ["stale"]
    finally:
        # A rollback (publishing an archived version) is not gated.
        back = client.post(f"/api/v1/prompts/greeting/versions/{published}/publish", headers=auth)
        assert back.status_code == 200, back.text


def test_bad_scenarios_and_targets_get_clear_errors(
    api: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, auth = api
    suite = client.post("/api/v1/suites", headers=auth, json={"name": f"s {uuid.uuid4().hex}"})
    path = f"/api/v1/suites/{suite.json()['id']}"
    bad = client.post(
        path + "/scenarios",
        headers=auth,
        json={"name": "x", "steps": [{"kind": "press", "text": "12a"}]},
    )
    assert bad.status_code == 422 and "keypad keys only" in bad.json()["error"]
    empty = client.post(path + "/runs", headers=auth, json={})
    assert empty.status_code == 422 and "no scenarios" in empty.json()["error"]
    client.post(path + "/scenarios", headers=auth, json={"name": "hours", "steps": [HOURS]})
    wrong = client.post(path + "/runs", headers=auth, json={"target": "prompt:greeting"})
    assert wrong.status_code == 422 and "prompt:<name>:<version>" in wrong.json()["error"]
    missing = client.post(path + "/runs", headers=auth, json={"target": "prompt:greeting:999"})
    assert missing.status_code == 404 and "no version 999" in missing.json()["error"]


def test_the_chat_tester_answers_in_text_with_each_decision(
    api: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, auth = api
    steps = [
        {"kind": "say", "text": "What's my balance?"},
        {"kind": "press", "text": "1001#"},
        {"kind": "say", "text": "four three two one"},
    ]
    chat = client.post("/api/v1/chat", headers=auth, json={"steps": steps})
    assert chat.status_code == 200, chat.text
    body = chat.json()
    agent = [t for t in body["transcript"] if t["speaker"] == "agent"]
    assert "How can I help" in agent[0]["text"]  # the greeting
    assert "account number" in agent[1]["text"] and agent[1]["decision"]["intent"] == "balance"
    assert "$2,417.35" in agent[-1]["text"] and body["verified"] == "1001"
    assert agent[-1]["decision"]["source"] == "slot_parser"
    assert [t["name"] for t in agent[-1]["tools"]][-1] == "get_balance"
    keyed = [t for t in body["transcript"] if t["source"] == "dtmf"]
    assert keyed[0]["text"] == "(keyed on the phone) 1001"
    # Nothing stays: the same chat again starts from the same demo state.
    again = client.post("/api/v1/chat", headers=auth, json={"steps": steps}).json()
    assert again["transcript"] == body["transcript"]


def test_the_chat_tester_answers_with_a_draft_and_the_published_prompts_are_unchanged(
    api: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, auth = api
    tag = "k" + uuid.uuid4().hex[:6]  # a word no published prompt has
    bank = f"Lantern {tag} Bank"
    greeting = _draft(client, auth, f"Welcome to {bank}. How can I help you today?")
    hours = f"seven in the morning to ten at night, every single day ({tag})"
    article = client.post(
        "/api/v1/prompts/kb_opening_hours/drafts",
        headers=auth,
        json={"body": f"# Opening hours\nOur phone line and branches are open from {hours}."},
    )
    assert article.status_code == 201, article.text
    steps = [HOURS]

    def agent_lines(target: str) -> list[str]:
        chat = client.post("/api/v1/chat", headers=auth, json={"target": target, "steps": steps})
        assert chat.status_code == 200, chat.text
        assert chat.json()["target"] == target
        return [t["text"] for t in chat.json()["transcript"] if t["speaker"] == "agent"]

    # The greeting draft is what the agent says first; its answer is the published one's.
    drafted = agent_lines(f"prompt:greeting:{greeting}")
    published = agent_lines("published")
    assert bank in drafted[0] and bank not in published[0]
    assert drafted[1:] == published[1:]
    # The article draft changes the answer to the question, not the greeting.
    answered = agent_lines(f"prompt:kb_opening_hours:{article.json()['version']}")
    assert answered[0] == published[0]
    assert tag in " ".join(answered[1:]), answered
    assert tag not in " ".join(published), published
    # Trying drafts published nothing: the published prompts are still the same.
    assert agent_lines("published") == published
    versions = client.get("/api/v1/prompts/greeting/versions", headers=auth).json()["versions"]
    assert next(v["status"] for v in versions if v["version"] == greeting) == "draft"


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALLCENTER_DATABASE_URL": url, "CALLCENTER_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        callcenter_command("suites", *args),
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_cli_runs_a_suite_and_fails_on_a_failing_scenario() -> None:
    with temporary_database("callcenter_suites_cli") as url:
        migrate.upgrade(url)
        listed = _cli(url, "list")
        assert listed.returncode == 0, listed.stderr
        assert "Caller tasks (default)\trequired" in listed.stdout
        ok = _cli(url, "run", "Caller tasks (default)", "--no-model",
                  "--only", "balance,block-lost-card,opening-hours")  # fmt: skip
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "[ok  ] balance" in ok.stdout and "3 of 3 scenarios passed" in ok.stdout
        engine = make_engine(url)
        try:
            with transaction(make_session_factory(engine)) as session:
                suite = suite_store.create_suite(session, "wrong", "", required=True, user_id=None)
                suite_store.add_scenario(
                    session, suite, "expects a handoff", [HOURS], {"handoff": True}
                )
            failed = _cli(url, "run", "wrong", "--no-model")
            assert failed.returncode == 1, failed.stdout + failed.stderr
            assert "[FAIL] expects a handoff  no handoff" in failed.stdout
            with make_session_factory(engine)() as session:
                run = suite_store.last_run(session, suite.id, "published", "", None)
                assert run is not None and not run.passed and run.actor == "cli"
        finally:
            engine.dispose()
        unknown = _cli(url, "run", "no such suite", "--no-model")
        assert unknown.returncode == 2 and "no scenario suite" in unknown.stderr
