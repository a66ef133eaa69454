"""The shipped suite, "Caller tasks (default)": built from the task benchmark's caller goals
(by ``python -m callcenter.bench.scenario_suite``) into ``default_suite.json``, and created
on a fresh install so the first publish of a draft is already guarded.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from callcenter.scenarios.spec import ScenarioSpec, expectation_from_json, steps_from_json
from callcenter.store import suites as suite_store

DEFAULT_SUITE_FILE = Path(__file__).with_name("default_suite.json")


def load_default_suite(path: Path = DEFAULT_SUITE_FILE) -> list[ScenarioSpec]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        ScenarioSpec(
            item["name"], steps_from_json(item["steps"]), expectation_from_json(item["expected"])
        )
        for item in data["scenarios"]
    ]


def seed_default_suite(session: Session, path: Path = DEFAULT_SUITE_FILE) -> bool:
    """Create the shipped suite when there is no suite at all (a fresh install)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return suite_store.seed_suite(session, data["name"], data["description"], data["scenarios"])
