"""`callcenter suites list | run SUITE [--target ...]`: scenario suites from the shell.

A run is stored like one from the console (the publish gate reads it) and the command
exits 1 when a scenario fails, so CI can guard a draft before it is published.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any


def cmd_suites(args: argparse.Namespace, settings: Any) -> int:
    from callcenter.scenarios.defaults import seed_default_suite
    from callcenter.store import suites as suite_store
    from callcenter.store.db import make_engine, make_session_factory, transaction
    from callcenter.store.prompts import seed_default_prompts
    from callcenter.web import suite_ops
    from callcenter.web.errors import OperationError

    engine = make_engine(settings.sqlalchemy_url)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as session:
            seed_default_prompts(session)
            seed_default_suite(session)
        if args.suites_command == "list":
            with factory() as session:
                for suite in suite_store.list_suites(session):
                    flag = "required" if suite.required else "optional"
                    print(f"{suite.id}\t{suite.name}\t{flag}\t{len(suite.scenarios)} scenarios")
            return 0
        try:
            target = suite_ops.parse_target(args.target)
            with factory() as session:
                suite = suite_ops.find_suite(session, args.suite)
                suite_id, specs = suite.id, suite_ops.specs_of(suite)
            if args.only:
                wanted = {name.strip() for name in args.only.split(",")}
                specs = [spec for spec in specs if spec.name in wanted]
            result = asyncio.run(_run(engine, settings, specs, target, model=args.model))
            with transaction(factory) as session:
                run = suite_ops.save_run(session, suite_id, result, None, "cli")
                run_id = run.id
        except OperationError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return 2
        for item in result.results:
            mark = "ok  " if item.success else "FAIL"
            why = "; ".join(item.failures + item.violations)
            print(f"[{mark}] {item.name}{'  ' + why if why else ''}")
        verdict = "passed" if result.passed else "FAILED"
        print(
            f"suite run {run_id} {verdict} against {target.label}: "
            f"{len(result.results) - result.failed} of {len(result.results)} scenarios passed "
            f"in {result.duration_ms / 1000:.1f} s (text path)"
        )
        if args.json:
            print(json.dumps([r.as_dict() for r in result.results], indent=2))
        return 0 if result.passed else 1
    finally:
        engine.dispose()


async def _run(engine: Any, settings: Any, specs: Any, target: Any, *, model: bool) -> Any:
    from callcenter.scenarios.runner import ScenarioRunner

    chat = None
    if model:
        from callcenter.llm import make_chat_model

        chat = await asyncio.to_thread(make_chat_model, settings)
    try:
        return await ScenarioRunner(engine, settings, chat).run(specs, target)
    finally:
        if chat is not None:
            await chat.close()


def register(commands: Any) -> None:
    suites = commands.add_parser("suites", help="scenario suites that guard each publish")
    sub = suites.add_subparsers(dest="suites_command", required=True)
    sub.add_parser("list", help="list the suites")
    run = sub.add_parser("run", help="run a suite in text against the published set or a draft")
    run.add_argument("suite", help="the suite's id or name")
    run.add_argument(
        "--target",
        default="published",
        help="published (default), prompt:<name>:<version> or tool:<name>:<version>",
    )
    run.add_argument("--only", help="comma-separated scenario names")
    run.add_argument(
        "--no-model",
        dest="model",
        action="store_false",
        help="do not load the language model: turns no rule places are not understood",
    )
    run.add_argument("--json", action="store_true", help="also print every transcript as JSON")
    suites.set_defaults(handler=cmd_suites)
