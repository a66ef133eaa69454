"""Scenario suites, their scenarios and their runs (named queries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from callcenter.store.models import Scenario, ScenarioRun, ScenarioSuite


def list_suites(session: Session) -> list[ScenarioSuite]:
    return list(
        session.scalars(
            select(ScenarioSuite)
            .options(selectinload(ScenarioSuite.scenarios))
            .order_by(ScenarioSuite.name)
        )
    )


def required_suites(session: Session) -> list[ScenarioSuite]:
    """Suites that must pass before a draft is published (empty ones guard nothing)."""
    return [suite for suite in list_suites(session) if suite.required and suite.scenarios]


def get_suite(session: Session, suite_id: int) -> ScenarioSuite | None:
    return session.get(ScenarioSuite, suite_id, options=[selectinload(ScenarioSuite.scenarios)])


def suite_by_name(session: Session, name: str) -> ScenarioSuite | None:
    return session.scalar(
        select(ScenarioSuite)
        .where(ScenarioSuite.name == name)
        .options(selectinload(ScenarioSuite.scenarios))
    )


def create_suite(
    session: Session, name: str, description: str, *, required: bool, user_id: int | None
) -> ScenarioSuite:
    suite = ScenarioSuite(name=name, description=description, required=required, created_by=user_id)
    session.add(suite)
    session.flush()
    return suite


def touch(suite: ScenarioSuite) -> None:
    """The suite changed: runs before now no longer say whether it passes."""
    suite.updated_at = datetime.now(UTC)


def add_scenario(
    session: Session,
    suite: ScenarioSuite,
    name: str,
    steps: list[dict[str, Any]],
    expected: dict[str, Any],
) -> Scenario:
    position = max((s.position for s in suite.scenarios), default=0) + 1
    scenario = Scenario(name=name, steps=steps, expected=expected, position=position)
    suite.scenarios.append(scenario)
    touch(suite)
    session.flush()
    return scenario


def seed_suite(
    session: Session, name: str, description: str, scenarios: Sequence[dict[str, Any]]
) -> bool:
    """Create the shipped suite once (an admin may edit or delete it afterwards)."""
    if session.scalar(select(ScenarioSuite.id).limit(1)) is not None:
        return False  # suites exist: the admins own them
    suite = create_suite(session, name, description, required=True, user_id=None)
    for item in scenarios:
        add_scenario(session, suite, item["name"], item["steps"], item["expected"])
    return True


def record_run(session: Session, run: ScenarioRun) -> ScenarioRun:
    session.add(run)
    session.flush()
    return run


def last_run(
    session: Session, suite_id: int, kind: str, name: str, version: int | None
) -> ScenarioRun | None:
    return session.scalar(
        select(ScenarioRun)
        .where(
            ScenarioRun.suite_id == suite_id,
            ScenarioRun.target_kind == kind,
            ScenarioRun.target_name == name,
            ScenarioRun.target_version.is_(None)
            if version is None
            else ScenarioRun.target_version == version,
        )
        .order_by(ScenarioRun.id.desc())
        .limit(1)
    )


def recent_runs(session: Session, suite_id: int, limit: int = 20) -> list[ScenarioRun]:
    return list(
        session.scalars(
            select(ScenarioRun)
            .where(ScenarioRun.suite_id == suite_id)
            .order_by(ScenarioRun.id.desc())
            .limit(limit)
        )
    )


def get_run(session: Session, run_id: int) -> ScenarioRun | None:
    return session.get(ScenarioRun, run_id)
