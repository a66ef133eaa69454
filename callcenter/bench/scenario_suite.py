"""Build the shipped scenario suite from the benchmark's caller goals.

Each goal (:mod:`callcenter.bench.task_goals`) is played once on the scenarios' text path
by the benchmark's own reactive caller (:class:`CallerMind`, which picks its answer from
what the agent said) against the shipped prompts; what it said and keyed becomes the
scenario's steps, the goal's end state its expectation. Goals whose text run does not
pass are left out and listed. Run after changing the flows or the shipped prompts::

    python -m callcenter.bench.scenario_suite <database url>

(a migrated database; every call runs in a rolled-back transaction).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from callcenter.bench.task_caller import CallerMind
from callcenter.bench.task_goals import GOALS, Goal
from callcenter.scenarios.defaults import DEFAULT_SUITE_FILE
from callcenter.scenarios.runner import ScenarioRunner
from callcenter.scenarios.spec import Expectation, ScenarioSpec, Step
from callcenter.scenarios.target import Target

NAME = "Caller tasks (default)"
DESCRIPTION = (
    "Built from the task benchmark's caller goals: balance, transactions, card, address, "
    "payment, callback, handoff, policy and knowledge-base questions."
)
MAX_TURNS = 16


def expectation_of(goal: Goal) -> Expectation:
    want = goal.expected
    return Expectation(
        account=goal.persona.account,
        verified=want.verified,
        unverified=want.unverified,
        card_status=want.card_status,
        address=want.address,
        payment=want.payment,
        callback=want.callback,
        handoff=want.handoff,
        said=want.said,
    )


async def script_goal(runner: ScenarioRunner, goal: Goal) -> ScenarioSpec:
    """The steps the goal's caller takes against the published prompts, in text."""
    mind = CallerMind(goal)
    steps: list[Step] = []
    async with runner.open_call(Target()) as (call, _factory, _prompts, _floor):
        heard_from = 0
        while not call.ended and len(steps) < MAX_TURNS:
            heard = " ".join(
                line.text for line in call.lines[heard_from:] if line.speaker == "agent"
            )
            heard_from = len(call.lines)
            reply = mind.respond(heard)
            if reply.kind not in ("say", "press"):
                break
            step = Step("press" if reply.kind == "press" else "say", reply.text)
            steps.append(step)
            await call.step(step)
    return ScenarioSpec(goal.name, tuple(steps), expectation_of(goal))


def as_json(scenarios: list[ScenarioSpec]) -> dict[str, Any]:
    return {
        "name": NAME,
        "description": DESCRIPTION,
        "scenarios": [
            {
                "name": spec.name,
                "steps": [step.as_dict() for step in spec.steps],
                "expected": spec.expected.as_dict(),
            }
            for spec in scenarios
        ],
    }


async def build(database_url: str) -> tuple[list[ScenarioSpec], list[str]]:
    from callcenter.settings import load_settings
    from callcenter.store.db import make_engine

    engine = make_engine(database_url)
    runner = ScenarioRunner(engine, load_settings(database_url=database_url))
    kept: list[ScenarioSpec] = []
    dropped: list[str] = []
    try:
        for goal in GOALS:
            spec = await script_goal(runner, goal)
            result = await runner.run_scenario(spec, Target())
            if result.success:
                kept.append(spec)
            else:
                dropped.append(f"{goal.name}: {'; '.join(result.failures + result.violations)}")
    finally:
        engine.dispose()
    return kept, dropped


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m callcenter.bench.scenario_suite <database url>", file=sys.stderr)
        return 2
    kept, dropped = asyncio.run(build(argv[0]))
    DEFAULT_SUITE_FILE.write_text(json.dumps(as_json(kept), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(kept)} scenarios to {DEFAULT_SUITE_FILE.name}")
    for line in dropped:
        print(f"left out {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
