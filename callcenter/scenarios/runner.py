"""Run scenarios against a target, each in a rolled-back sandbox, and judge them.

Per scenario: the demo accounts are reset as seeded, a call row is opened, the caller's
steps are played on a :class:`~callcenter.scenarios.text_call.TextCall`, the end state is
read back and judged by the benchmark's judge (end state and policy), then everything is
rolled back. The same path answers the console's text-chat tester (replaying its steps).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from callcenter.dialogue.flows import flow_replier
from callcenter.dialogue.prompts import PromptSet
from callcenter.dialogue.replying import llm_replier
from callcenter.llm.base import ChatModel, LLMUnavailable
from callcenter.scenarios.call_state import account_states, tool_uses
from callcenter.scenarios.demo_state import (
    demo_baseline,
    demo_transactions,
    reset_demo_accounts,
)
from callcenter.scenarios.judge import CallRecord, Spoken, judge
from callcenter.scenarios.sandbox import sandbox
from callcenter.scenarios.spec import ScenarioSpec, Step
from callcenter.scenarios.target import Target, resolve
from callcenter.scenarios.text_call import TextCall
from callcenter.settings import Settings
from callcenter.store.models import Call, Callback, Transaction
from callcenter.store.seed import DEMO_CUSTOMERS
from callcenter.tools.context import CallContext
from callcenter.tools.executor import ToolExecutor
from callcenter.tools.service import CallTools

# The caller's number in a scenario: the first demo customer's phone (callbacks use it).
SCENARIO_CALLER = DEMO_CUSTOMERS[0].phone


class NoChat:
    """The model when none is loaded: a turn only the model could place gets a clear
    "not understood" from the flows (their fallback), never a hidden call elsewhere."""

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        raise LLMUnavailable("no language model is loaded for scenario runs")

    async def complete_json(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise LLMUnavailable("no language model is loaded for scenario runs")

    async def warm(self, *args: Any, **kwargs: Any) -> None:
        return None

    def forget(self, session_key: str) -> None:
        return None

    async def close(self) -> None:
        return None


@dataclass
class ScenarioResult:
    name: str
    success: bool
    failures: list[str]
    violations: list[str]
    transcript: list[dict[str, Any]]
    ended: str | None  # hangup | handoff | None (the steps ran out first)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "success": self.success,
            "failures": self.failures,
            "violations": self.violations,
            "ended": self.ended,
            "transcript": self.transcript,
        }


@dataclass
class SuiteResult:
    target: Target
    results: list[ScenarioResult] = field(default_factory=list)
    duration_ms: int = 0

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(result.success for result in self.results)

    @property
    def failed(self) -> int:
        return sum(not result.success for result in self.results)


class ScenarioRunner:
    """Plays scenarios with the process's model (or none) on its database."""

    def __init__(self, engine: Engine, settings: Settings, chat: ChatModel | None = None):
        self.engine = engine
        self.model: ChatModel = chat or NoChat()
        # Without a model, turns no rule places are not understood (as on a model outage).
        self.settings = (
            settings if chat else settings.model_copy(update={"flow_intent_model": False})
        )

    async def run(self, scenarios: Sequence[ScenarioSpec], target: Target) -> SuiteResult:
        started = time.monotonic()
        suite = SuiteResult(target)
        for scenario in scenarios:
            suite.results.append(await self.run_scenario(scenario, target))
        suite.duration_ms = round((time.monotonic() - started) * 1000)
        return suite

    async def run_scenario(self, scenario: ScenarioSpec, target: Target) -> ScenarioResult:
        async with self.open_call(target) as (call, factory, prompts, tx_floor):
            said = 0
            for step in scenario.steps:
                if call.ended:
                    break
                await call.step(step)
                said += 1
            record = await asyncio.to_thread(_record, factory, call, tx_floor)
        known = [*prompts.bodies.values(), *prompts.variables.values()]
        expected = scenario.expected
        verdict = judge(expected.goal(), record, demo_baseline(), demo_transactions(), known)
        failures = list(verdict.failures)
        if said < len(scenario.steps):
            failures.append(
                f"the call ended ({call.ended}) before step {said + 1}: "
                f"{scenario.steps[said].line()!r}"
            )
        ran = {tool.name for tool in record.tools if tool.status == "ok"}
        failures += [
            f"tool {name} never ran successfully" for name in expected.tools if name not in ran
        ]
        return ScenarioResult(
            scenario.name,
            not failures and not verdict.violations,
            failures,
            list(verdict.violations),
            [line.as_dict() for line in call.lines],
            call.ended,
        )

    async def chat(self, steps: Sequence[Step], target: Target) -> TextCall:
        """The text-chat tester: the greeting and every step so far, replayed in a fresh
        sandbox (nothing a test chat does stays in the database)."""
        async with self.open_call(target) as (call, _factory, _prompts, _floor):
            await call.play(steps)
        return call

    @asynccontextmanager
    async def open_call(
        self, target: Target
    ) -> AsyncIterator[tuple[TextCall, sessionmaker[Session], PromptSet, int]]:
        with sandbox(self.engine) as factory:
            prompts, toolset, call_id, tx_floor = await asyncio.to_thread(_open, factory, target)
            executor = ToolExecutor(factory, toolset, self.settings)
            ctx = CallContext(call_id=call_id, caller_number=SCENARIO_CALLER)
            make = flow_replier if self.settings.dialogue_mode == "flows" else llm_replier
            call = TextCall(
                call_id=call_id,
                settings=self.settings,
                prompts=prompts,
                chat=self.model,
                tools=CallTools(executor),
                ctx=ctx,
                make_replier=make,
            )
            await call.start()
            yield call, factory, prompts, tx_floor


def _open(factory: sessionmaker[Session], target: Target) -> tuple[PromptSet, Any, str, int]:
    with factory() as session, session.begin():
        prompts, toolset = resolve(session, target)
        reset_demo_accounts(session)
        call = Call(call_sid=f"scenario-{uuid.uuid4().hex}", from_number=SCENARIO_CALLER)
        session.add(call)
        session.flush()
        # Transactions after this id are the scenario's payments.
        floor = session.scalar(select(func.max(Transaction.id))) or 0
        return prompts, toolset, call.id, floor


def _record(factory: sessionmaker[Session], call: TextCall, tx_floor: int) -> CallRecord:
    with factory() as session:
        demo = {demo.account_number for demo in DEMO_CUSTOMERS}
        accounts, numbers = account_states(session, only=demo)
        payments = [
            (numbers.get(tx.account_id, "?"), str(-tx.amount), tx.description)
            for tx in session.scalars(select(Transaction).where(Transaction.id > tx_floor))
        ]
        callbacks = session.scalar(
            select(func.count()).select_from(Callback).where(Callback.call_id == call.call_id)
        )
        tools = tool_uses(session, call.call_id)
    verified = call.ctx.verified.account_number if call.ctx.verified else None
    turns = [Spoken(line.seq, line.speaker, line.text) for line in call.lines]
    handoffs = 1 if call.ended == "handoff" else 0
    return CallRecord(accounts, payments, callbacks or 0, handoffs, verified, tools, turns)
