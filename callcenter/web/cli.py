"""`callcenter users create --role admin --username NAME --password-stdin` (and `list`).

How the first admin gets in: there is no sign-up page, on purpose. The password is read
from stdin so it never shows in `ps` or the shell history.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_users(args: argparse.Namespace, settings: Any) -> int:
    from callcenter.store import users as user_store
    from callcenter.store.db import make_engine, make_session_factory, transaction
    from callcenter.web import user_ops
    from callcenter.web.errors import OperationError

    engine = make_engine(settings.sqlalchemy_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            if args.users_command == "list":
                for user in user_store.list_users(session):
                    state = "active" if user.active else "inactive"
                    print(f"{user.id}\t{user.username}\t{user.role.value}\t{state}")
                return 0
            if not args.password_stdin:
                print("error: pass the password on stdin with --password-stdin", file=sys.stderr)
                return 2
            password = sys.stdin.readline().rstrip("\r\n")
            try:
                user = user_ops.create(session, None, args.username, password, args.role)
            except OperationError as error:
                print(f"error: {error.message}", file=sys.stderr)
                return 1
            print(f"created {user.role.value} {user.username} (id {user.id})")
            return 0
    finally:
        engine.dispose()


def register(commands: Any) -> None:
    users = commands.add_parser("users", help="console users (agents and admins)")
    sub = users.add_subparsers(dest="users_command", required=True)
    create = sub.add_parser("create", help="create a user; the password is read from stdin")
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=["admin", "agent"], required=True)
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    sub.add_parser("list", help="list users")
    users.set_defaults(handler=cmd_users)
