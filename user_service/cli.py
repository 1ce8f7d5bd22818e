"""python -m user_service serve | migrate | create-user | send-emails | release-expired-holds | reconcile."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from user_service.adapters.passwords import BcryptHasher
from user_service.config import ConfigError, Settings, load_settings
from user_service.domain.errors import UserServiceError
from user_service.domain.hold_sweeper import HoldSweeper
from user_service.domain.model import Role
from user_service.domain.reconciliation import reconcile
from user_service.domain.users import UsersHandler
from user_service.logs import configure_logging
from user_service.server.app import PortUnavailable, serve
from user_service.server.metrics_http import MetricsPortUnavailable
from user_service.server.wiring import email_dispatcher
from user_service.storage import migrate
from user_service.storage.database import open_database, service_role
from user_service.storage.embedded import EmbeddedPostgresUnavailable

log = logging.getLogger("user_service")

EXIT_FAILED = 1
EXIT_BAD_CONFIGURATION = 2


def _serve(settings: Settings, _args: argparse.Namespace) -> int:
    return serve(settings)


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    with open_database(settings, as_owner=True) as database:
        migrate.upgrade(database.engine, service_role=service_role(settings))
        log.info("database schema at revision %s", migrate.current_revision(database.engine))
    return 0


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else args.password
    roles = [Role(role) for role in args.role or [Role.USER]]
    with open_database(settings) as database:
        handler = UsersHandler(
            database.transactions, database.loop_statements, BcryptHasher(settings.bcrypt_rounds)
        )
        try:
            user = handler.create_user(args.email, password, roles, full_name=args.full_name, verified=True)
        except UserServiceError as error:
            print(f"create-user: {error.message}", file=sys.stderr)
            return EXIT_FAILED
    print(f"created user {user.id} <{user.email}> with roles {', '.join(user.roles)}")
    return 0


def _send_emails(settings: Settings, args: argparse.Namespace) -> int:
    """The email dispatcher as a worker of its own: until SIGTERM/SIGINT, or until nothing is due."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    with open_database(settings) as database:
        dispatcher = email_dispatcher(settings, database)
        log.info("sending email from the outbox%s", " until none is due" if args.once else "")
        while not stop.is_set():
            more = dispatcher.dispatch()
            if args.once and not more:
                break
            if not more:
                stop.wait(settings.email_dispatch_interval_seconds)
    return 0


def _release_expired_holds(settings: Settings, _args: argparse.Namespace) -> int:
    with open_database(settings) as database:
        released = HoldSweeper(database.transactions).release_all()
    print(f"released {released} expired holds")
    return 0


def _reconcile(settings: Settings, _args: argparse.Namespace) -> int:
    with open_database(settings) as database:
        report = reconcile(database.transactions)
    for disagreement in report.disagreements:
        print(disagreement)
    print(
        f"checked {report.accounts_checked} accounts and {report.holds_checked} holds:"
        f" {len(report.disagreements)} disagreements in {report.mismatched_accounts} accounts"
    )
    return 0 if report.clean else EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m user_service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve gRPC (health, reflection, UserAuth, Balance)").set_defaults(
        run=_serve
    )
    commands.add_parser("migrate", help="bring the database to the newest schema").set_defaults(run=_migrate)
    create = commands.add_parser("create-user", help="create a verified, active user (first admin, services)")
    create.add_argument("--email", required=True)
    secret = create.add_mutually_exclusive_group(required=True)
    secret.add_argument("--password")
    secret.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    create.add_argument(
        "--role", action="append", choices=[r.value for r in Role], help="repeat for several (default: user)"
    )
    create.add_argument("--full-name", default="")
    create.set_defaults(run=_create_user)
    emails = commands.add_parser("send-emails", help="deliver the email outbox (a worker beside the servers)")
    emails.add_argument("--once", action="store_true", help="send what is due now, then exit")
    emails.set_defaults(run=_send_emails)
    commands.add_parser(
        "release-expired-holds",
        help="give back the money of every hold past its ttl (the server does it too)",
    ).set_defaults(run=_release_expired_holds)
    commands.add_parser(
        "reconcile", help="check every balance against its ledger and holds; exit 1 on any disagreement"
    ).set_defaults(run=_reconcile)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"user-service: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION
    configure_logging(settings.log_level, settings.log_format)
    try:
        return int(args.run(settings, args))
    except (PortUnavailable, MetricsPortUnavailable, EmbeddedPostgresUnavailable) as error:
        log.error("%s", error)
        return EXIT_FAILED
