"""Scenarios played in text through the flows against the real tools, on PostgreSQL,
each in a sandbox that is rolled back; and the shipped default suite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from callcenter.scenarios.defaults import load_default_suite
from callcenter.scenarios.runner import ScenarioRunner
from callcenter.scenarios.spec import (
    Expectation,
    ScenarioSpec,
    SpecError,
    Step,
    parse_steps,
    spec_from_json,
)
from callcenter.scenarios.target import Target, TargetError
from callcenter.settings import load_settings
from callcenter.store import migrate
from callcenter.store import prompts as prompt_store
from callcenter.store.db import make_engine, make_session_factory, transaction
from callcenter.store.models import Account, Call, CardStatus, PromptVersion

BLOCK_CARD = parse_steps(
    """
    say: I lost my card and need to block it.
    say: one zero zero one
    say: four three two one
    say: Yes, please.
    say: No, that's all. Thank you, goodbye.
    """
)


@pytest.fixture
def runner(pg_engine: Engine) -> ScenarioRunner:
    return ScenarioRunner(pg_engine, load_settings())


def run(runner: ScenarioRunner, spec: ScenarioSpec, target: Target | None = None):  # type: ignore[no-untyped-def]
    return asyncio.run(runner.run_scenario(spec, target or Target()))


def test_a_scenario_reaches_its_end_state_and_leaves_nothing_behind(
    runner: ScenarioRunner, pg_engine: Engine
) -> None:
    factory = make_session_factory(pg_engine)
    with factory() as session:
        calls_before = session.scalar(select(func.count()).select_from(Call))
    spec = ScenarioSpec(
        "block",
        BLOCK_CARD,
        Expectation(verified="1001", card_status="blocked_lost", tools=("block_card",)),
    )
    result = run(runner, spec)
    assert result.success, result.failures + result.violations
    assert result.ended == "hangup"
    agent = [t for t in result.transcript if t["speaker"] == "agent"]
    assert "account number" in agent[1]["text"]
    assert agent[1]["decision"]["intent"] == "block_card"
    assert any(tool["name"] == "block_card" for t in agent for tool in t["tools"])
    with factory() as session:  # the sandbox was rolled back
        assert session.scalar(select(func.count()).select_from(Call)) == calls_before
        card = session.scalar(select(Account.card_status).where(Account.account_number == "1001"))
        assert card in (None, CardStatus.active)


def test_a_wrong_end_state_and_an_unfinished_script_fail(runner: ScenarioRunner) -> None:
    spec = ScenarioSpec(
        "wants a stolen card",
        (*BLOCK_CARD[:-1], BLOCK_CARD[-1], Step("say", "And my balance?")),
        Expectation(verified="1002", card_status="blocked_stolen", tools=("make_payment",)),
    )
    result = run(runner, spec)
    assert not result.success
    text = " | ".join(result.failures)
    assert "verified 1001, wanted 1002" in text
    assert "tool make_payment never ran" in text
    assert "before step 6" in text  # the agent hung up after the goodbye


def test_keys_and_the_operator_key(runner: ScenarioRunner) -> None:
    keyed = ScenarioSpec(
        "keyed",
        parse_steps("say: What's my balance?\npress: 1001#\npress: 4321#"),
        Expectation(verified="1001", said=(("2,417.35",),)),
    )
    assert run(runner, keyed).success
    operator = run(runner, ScenarioSpec("zero", (Step("press", "0"),), Expectation(handoff=True)))
    assert operator.success and operator.ended == "handoff"


def test_a_fact_before_verification_is_a_policy_violation(
    runner: ScenarioRunner, pg_engine: Engine
) -> None:
    """A greeting draft that reads out Dana's balance fails every scenario's policy check."""
    factory = make_session_factory(pg_engine)
    with transaction(factory) as session:
        draft = prompt_store.create_draft(
            session, "greeting", "Hello Dana, your balance is $2,417.35. How can I help?", None
        )
        target = Target("prompt", "greeting", draft.version)
    try:
        spec = ScenarioSpec("hours", (Step("say", "What are your opening hours?"),), Expectation())
        assert run(runner, spec).success
        leaked = run(runner, spec, target)
        assert not leaked.success
        assert any(v.startswith("fact_before_verification") for v in leaked.violations)
        assert leaked.transcript[0]["text"].startswith("Hello Dana")
    finally:
        with transaction(factory) as session:
            session.delete(session.get(PromptVersion, draft.id))


def test_targets_and_specs_say_what_is_wrong(runner: ScenarioRunner) -> None:
    assert Target.parse("prompt:flow_lines:3") == Target("prompt", "flow_lines", 3)
    assert Target.parse("published") == Target()
    with pytest.raises(TargetError, match="prompt:<name>:<version>"):
        Target.parse("prompt:flow_lines")
    with pytest.raises(TargetError, match="no version 999"):
        run(runner, ScenarioSpec("x", (Step("say", "hi"),)), Target("prompt", "greeting", 999))
    with pytest.raises(SpecError, match="line 2: start with 'say:' or 'press:'"):
        parse_steps("say: hello\nshout: HELLO")
    with pytest.raises(SpecError, match="keypad keys only"):
        parse_steps("press: 12a")
    with pytest.raises(SpecError, match="unknown key"):
        spec_from_json("x", [{"kind": "say", "text": "hi"}], {"balance": "1"})
    with pytest.raises(SpecError, match="card_status: one of"):
        spec_from_json("x", [{"kind": "say", "text": "hi"}], {"card_status": "gone"})


def test_the_shipped_suite_passes_on_the_shipped_prompts(runner: ScenarioRunner) -> None:
    suite = load_default_suite()
    assert len(suite) >= 15
    families = {spec.name.split("-")[0] for spec in suite}
    assert {"balance", "transactions", "payment", "callback"} <= families
    result = asyncio.run(runner.run(suite, Target()))
    failed = {r.name: r.failures + r.violations for r in result.results if not r.success}
    assert failed == {}


def test_on_sqlite_the_sandbox_is_rolled_back_too(tmp_path: Path) -> None:
    """The embedded (one-machine) database: a tool's commit must not escape the sandbox."""
    url = f"sqlite:///{tmp_path / 'one-machine.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        runner = ScenarioRunner(engine, load_settings(database_url=url))
        spec = ScenarioSpec("block", BLOCK_CARD, Expectation(card_status="blocked_lost"))
        assert run(runner, spec).success
        with make_session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Call)) == 0
            assert session.scalar(select(func.count()).select_from(Account)) == 0
    finally:
        engine.dispose()
