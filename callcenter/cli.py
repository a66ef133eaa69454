"""`callcenter` command line: serve, worker, db, simulate, call, bench, users."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from callcenter.logs import configure_logging
from callcenter.settings import Settings, load_settings

Handler = Callable[[argparse.Namespace, Settings], int]


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from callcenter.app import create_app
    from callcenter.keys import secure_settings
    from callcenter.shutdown import DrainingServer
    from callcenter.tasks.cli import start_worker_process, stop_worker_process

    host = args.host or settings.host
    settings = secure_settings(settings, host, program="serve")
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=args.port or settings.port,
        log_level=settings.log_level.lower(),
        # uvicorn's own lines go through our handler too (call ids, JSON when asked).
        log_config=None,
        ws_max_size=1 << 20,
        # Calls can be long; let the app decide when a WebSocket is dead.
        ws_ping_interval=None,
        # Live calls were drained (or handed off) before uvicorn's own shutdown starts.
        timeout_graceful_shutdown=5,
    )
    grace = settings.shutdown_grace_s if args.grace is None else args.grace
    server = DrainingServer(config, app.state.runtime, grace)
    worker = start_worker_process(beat=True) if args.with_worker else None
    try:
        server.run()
    finally:
        if worker is not None:
            stop_worker_process(worker)
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.store import migrate
    from callcenter.store.db import make_engine, make_session_factory, transaction
    from callcenter.store.secrets import Pepper
    from callcenter.store.seed import count_identity_hashes, seed_demo

    url = settings.sqlalchemy_url
    if args.db_command == "upgrade":
        migrate.upgrade(url, args.revision)
        print(f"database at {args.revision}")
    elif args.db_command == "downgrade":
        migrate.downgrade(url, args.revision)
        print(f"database at {args.revision}")
    elif args.db_command == "seed-demo":
        pepper = Pepper.of(settings.identity_pepper, settings.identity_pepper_previous)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as session:
            added = seed_demo(session, pepper)
        engine.dispose()
        print(f"demo data: {added} customer(s) added")
    elif args.db_command == "identity-hashes":
        pepper = Pepper.of(settings.identity_pepper, settings.identity_pepper_previous)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as session:
            counts = count_identity_hashes(session, pepper)
        engine.dispose()
        for state, count in counts.items():
            print(f"{state}: {count}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcenter", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web app (webhooks, media streams, consoles)")
    serve.add_argument("--host", default=None, help="default: CALLCENTER_HOST (127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="default: CALLCENTER_PORT (8080)")
    serve.add_argument(
        "--grace",
        type=float,
        default=None,
        help="seconds live calls get on SIGTERM (default: CALLCENTER_SHUTDOWN_GRACE_S, 30)",
    )
    serve.add_argument(
        "--with-worker",
        action="store_true",
        help="also run `callcenter worker --beat` as a child process (one-machine setup)",
    )
    serve.set_defaults(handler=cmd_serve)

    db = commands.add_parser("db", help="database migrations and demo data")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    up = db_commands.add_parser("upgrade", help="migrate to a revision (default head)")
    up.add_argument("revision", nargs="?", default="head")
    down = db_commands.add_parser("downgrade", help="migrate down to a revision (default base)")
    down.add_argument("revision", nargs="?", default="base")
    db_commands.add_parser("seed-demo", help="load the demo customers (idempotent)")
    db_commands.add_parser(
        "identity-hashes",
        help="count PIN/date-of-birth hashes by pepper (current, previous, none) to follow "
        "the migration to CALLCENTER_IDENTITY_PEPPER",
    )
    db.set_defaults(handler=cmd_db)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(commands)
    return parser


# Modules that add sub-commands through a `register(commands)` function; each keeps its
# heavy imports inside its handlers so `callcenter --help` stays fast.
COMMAND_MODULES: list[str] = [
    "callcenter.web.cli",
    "callcenter.simulator.cli",
    "callcenter.remote.cli",
    "callcenter.bench.cli",
    "callcenter.tasks.cli",
    "callcenter.bench.load",
    "callcenter.web.suite_cli",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    handler: Handler = args.handler
    return handler(args, settings)


if __name__ == "__main__":
    sys.exit(main())
