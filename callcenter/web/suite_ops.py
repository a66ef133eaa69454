"""Scenario suites as the consoles and the API use them: edit, run, and gate publishing.

A draft (a prompt or tool version not yet published) may be published when every
required suite's latest run against that very draft passed, and the suite has not
changed since. Otherwise the publish is refused (409) unless the admin gives a reason
to override; the override, the reason and each suite's state go to the audit log.
Rollbacks (publishing an archived version) are not gated: they restore what ran before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from callcenter.scenarios.runner import ScenarioRunner, SuiteResult
from callcenter.scenarios.spec import (
    ScenarioSpec,
    SpecError,
    expectation_from_json,
    parse_steps,
    spec_from_json,
)
from callcenter.scenarios.target import Target, TargetError
from callcenter.store import audit
from callcenter.store import suites as suite_store
from callcenter.store.models import (
    ScenarioRun,
    ScenarioSuite,
    User,
    VersionStatus,
)
from callcenter.web.errors import Conflict, Invalid, NotFound

GateState = Literal["passed", "failed", "not_run", "stale"]
MAX_REASON = 500


@dataclass(frozen=True)
class SuiteGate:
    suite: ScenarioSuite
    run: ScenarioRun | None
    state: GateState

    def as_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "suite_id": self.suite.id,
            "suite": self.suite.name,
            "state": self.state,
            "run_id": run.id if run else None,
            "passed": run.scenario_count - run.failed_count if run else None,
            "scenarios": run.scenario_count if run else len(self.suite.scenarios),
            "ran_at": run.started_at.isoformat() if run else None,
        }

    @property
    def words(self) -> str:
        run = self.run
        if self.state == "not_run" or run is None:
            return "never run against this version"
        counts = f"{run.scenario_count - run.failed_count} of {run.scenario_count} passed"
        if self.state == "stale":
            return f"changed since its last run ({counts})"
        return counts


def gates(session: Session, target: Target) -> list[SuiteGate]:
    """Each required suite's latest result against ``target``."""
    out = []
    for suite in suite_store.required_suites(session):
        run = suite_store.last_run(session, suite.id, target.kind, target.name, target.version)
        state: GateState
        if run is None:
            state = "not_run"
        elif _aware(run.started_at) < _aware(suite.updated_at):
            state = "stale"
        else:
            state = "passed" if run.passed else "failed"
        out.append(SuiteGate(suite, run, state))
    return out


def check_publish(
    session: Session,
    actor: User,
    target: Target,
    status: VersionStatus,
    override_reason: str | None,
) -> list[SuiteGate]:
    """Raise :class:`Conflict` when a required suite has not passed against the draft
    and no reason was given; with a reason, record the override."""
    if status != VersionStatus.draft:
        return []
    states = gates(session, target)
    blocking = [gate for gate in states if gate.state != "passed"]
    if not blocking:
        return states
    reason = (override_reason or "").strip()
    if not reason:
        names = "; ".join(f"{gate.suite.name!r}: {gate.words}" for gate in blocking)
        raise Conflict(
            f"{target.label} has not passed its scenario suites ({names}). Run them, or "
            "publish with an override reason."
        )
    if len(reason) > MAX_REASON:
        raise Invalid(f"override_reason: at most {MAX_REASON} characters")
    audit.record(
        session,
        actor=actor,
        action="publish.override",
        target_type=target.kind,
        target_id=target.name,
        details={
            "version": target.version,
            "reason": reason,
            "suites": [gate.as_dict() for gate in blocking],
        },
    )
    return states


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value  # SQLite is naive


# --- suites and scenarios ------------------------------------------------------------------


def get_suite(session: Session, suite_id: int) -> ScenarioSuite:
    suite = suite_store.get_suite(session, suite_id)
    if suite is None:
        raise NotFound(f"no scenario suite {suite_id}")
    return suite


def find_suite(session: Session, key: str) -> ScenarioSuite:
    """A suite by id or by name (the CLI takes either)."""
    suite = suite_store.get_suite(session, int(key)) if key.isdigit() else None
    suite = suite or suite_store.suite_by_name(session, key)
    if suite is None:
        raise NotFound(f"no scenario suite {key!r}")
    return suite


def create_suite(
    session: Session, actor: User, name: str, description: str, required: bool
) -> ScenarioSuite:
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid("name: 1 to 100 characters")
    if suite_store.suite_by_name(session, name) is not None:
        raise Conflict(f"a suite named {name!r} exists")
    suite = suite_store.create_suite(
        session, name, description.strip(), required=required, user_id=actor.id
    )
    audit.record(
        session,
        actor=actor,
        action="suite.create",
        target_type="suite",
        target_id=suite.id,
        details={"name": name, "required": required},
    )
    return suite


def add_scenario(
    session: Session, actor: User, suite_id: int, name: str, steps: Any, expected: Any
) -> ScenarioSpec:
    """``steps``: the console's lines (text) or the API's list; ``expected``: an object."""
    suite = get_suite(session, suite_id)
    try:
        parsed = parse_steps(steps) if isinstance(steps, str) else None
        spec = spec_from_json(
            name, [s.as_dict() for s in parsed] if parsed is not None else steps, expected
        )
    except SpecError as error:
        raise Invalid(str(error)) from None
    if any(s.name == spec.name for s in suite.scenarios):
        raise Conflict(f"the suite already has a scenario named {spec.name!r}")
    suite_store.add_scenario(
        session,
        suite,
        spec.name,
        [step.as_dict() for step in spec.steps],
        spec.expected.as_dict(),
    )
    audit.record(
        session,
        actor=actor,
        action="suite.scenario_add",
        target_type="suite",
        target_id=suite.id,
        details={"scenario": spec.name, "steps": len(spec.steps)},
    )
    return spec


def delete_scenario(session: Session, actor: User, suite_id: int, scenario_id: int) -> str:
    suite = get_suite(session, suite_id)
    scenario = next((s for s in suite.scenarios if s.id == scenario_id), None)
    if scenario is None:
        raise NotFound(f"suite {suite_id} has no scenario {scenario_id}")
    suite.scenarios.remove(scenario)
    suite_store.touch(suite)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="suite.scenario_delete",
        target_type="suite",
        target_id=suite.id,
        details={"scenario": scenario.name},
    )
    return scenario.name


def specs_of(suite: ScenarioSuite) -> list[ScenarioSpec]:
    out = []
    for row in suite.scenarios:
        try:
            out.append(spec_from_json(row.name, row.steps, row.expected))
        except SpecError as error:  # stored before a rule changed: say which and why
            raise Invalid(f"scenario {row.name!r}: {error}") from None
    return out


def parse_target(spec: str) -> Target:
    try:
        return Target.parse(spec)
    except TargetError as error:
        raise Invalid(str(error)) from None


def expectation_dict(data: Any) -> dict[str, Any]:
    try:
        return expectation_from_json(data).as_dict()
    except SpecError as error:
        raise Invalid(str(error)) from None


# --- runs ----------------------------------------------------------------------------------


async def run_suite(
    runner: ScenarioRunner, specs: list[ScenarioSpec], target: Target
) -> SuiteResult:
    if not specs:
        raise Invalid("the suite has no scenarios yet: add one first")
    try:
        return await runner.run(specs, target)
    except TargetError as error:
        raise NotFound(str(error)) from None


def save_run(
    session: Session, suite_id: int, result: SuiteResult, actor: User | None, actor_name: str
) -> ScenarioRun:
    target = result.target
    run = suite_store.record_run(
        session,
        ScenarioRun(
            suite_id=suite_id,
            target_kind=target.kind,
            target_name=target.name,
            target_version=target.version,
            mode="text",
            passed=result.passed,
            scenario_count=len(result.results),
            failed_count=result.failed,
            results=[r.as_dict() for r in result.results],
            started_by=actor.id if actor else None,
            actor=actor.username if actor else actor_name,
            duration_ms=result.duration_ms,
        ),
    )
    audit.record(
        session,
        actor=actor,
        action="suite.run",
        target_type="suite",
        target_id=suite_id,
        details={
            "target": target.spec,
            "passed": result.passed,
            "failed": result.failed,
            "scenarios": len(result.results),
        },
    )
    return run


def run_dict(run: ScenarioRun, *, with_results: bool = False) -> dict[str, Any]:
    target = Target(run.target_kind, run.target_name, run.target_version)  # type: ignore[arg-type]
    out: dict[str, Any] = {
        "id": run.id,
        "suite_id": run.suite_id,
        "target": target.spec,
        "target_label": target.label,
        "mode": run.mode,
        "passed": run.passed,
        "scenarios": run.scenario_count,
        "failed": run.failed_count,
        "actor": run.actor,
        "started_at": run.started_at.isoformat(),
        "duration_ms": run.duration_ms,
    }
    if with_results:
        out["results"] = run.results
    return out


def suite_dict(suite: ScenarioSuite) -> dict[str, Any]:
    return {
        "id": suite.id,
        "name": suite.name,
        "description": suite.description,
        "required": suite.required,
        "updated_at": suite.updated_at.isoformat(),
        "scenarios": [
            {"id": s.id, "name": s.name, "steps": s.steps, "expected": s.expected}
            for s in suite.scenarios
        ],
    }


# What each expectation key reads as on the console, in this order.
EXPECTATION_LABELS = {
    "account": "Caller's account",
    "verified": "Verified account",
    "unverified": "Nobody verified",
    "card_status": "Card at the end",
    "address": "New address (street word, city, postal code)",
    "payment": "Payment (amount, payee word)",
    "callback": "Callback scheduled",
    "handoff": "Handed off to a person",
    "tools": "Tools that must run",
    "said": "The agent must say",
}


def expectation_rows(expected: dict[str, Any]) -> list[tuple[str, str]]:
    """A stored expectation as (label, words) rows, in a fixed order."""
    rows = []
    for key, label in EXPECTATION_LABELS.items():
        value = expected.get(key)
        if value in (None, False, [], ""):
            continue
        if value is True:
            words = "yes"
        elif key == "said":
            words = "; ".join(" or ".join(f"“{p}”" for p in group) for group in value)
        elif isinstance(value, list):
            words = ", ".join(str(item) for item in value)
        else:
            words = str(value).replace("_", " ")
        rows.append((label, words))
    return rows
