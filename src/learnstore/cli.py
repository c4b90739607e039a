"""The `learnstore` command: migrations against any DSN (apply, roll back, list, create, break a stale
lock), the roles of row-level security, doctor, demo."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from learnstore import _migrate_locks as locks
from learnstore import migrate, security
from learnstore.embedded import DSN_ENV
from learnstore.errors import LearnstoreError, translating

__all__ = ["main"]


class _RefusedError(LearnstoreError):
    """The user (or the lack of one) did not confirm a destructive command."""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    # The connection options are accepted before and after the command: `learnstore --dsn X status`
    # and `learnstore status --dsn X`. SUPPRESS keeps a later default from erasing an earlier value.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dsn",
        default=argparse.SUPPRESS,
        help=f"libpq DSN or URL of the database (default: ${DSN_ENV}, else the embedded PostgreSQL)",
    )
    common.add_argument(
        "--migrations",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="folder of yoyo migrations (default: learnstore's own)",
    )
    parser = argparse.ArgumentParser(
        prog="learnstore",
        description=(
            "learnstore's command: database migrations (yoyo, safe to run concurrently), a readiness "
            "check (doctor), and a demo on a sample platform."
        ),
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # How long a migration may wait for a lock or run a statement: every wait on a live database ends.
    limits = argparse.ArgumentParser(add_help=False)
    limits.add_argument(
        "--lock-timeout",
        metavar="DURATION",
        help="longest wait for a table lock per statement, e.g. 3s, 500ms (default: "
        f"${locks.LOCK_TIMEOUT_ENV}, else {locks.DEFAULT_LOCK_TIMEOUT:g}s); a migration that waits this "
        "long is rolled back and retried",
    )
    limits.add_argument(
        "--lock-retries",
        type=int,
        metavar="N",
        help=f"retries after a lock timeout, with backoff (default: ${locks.LOCK_RETRIES_ENV}, else "
        f"{locks.DEFAULT_LOCK_RETRIES})",
    )
    limits.add_argument(
        "--statement-timeout",
        metavar="DURATION",
        help=f"longest run of one statement, or off (default: ${locks.STATEMENT_TIMEOUT_ENV}, else "
        f"{locks.DEFAULT_STATEMENT_TIMEOUT / 60:g}min); a migration may declare its own in its header",
    )

    up = commands.add_parser(
        "migrate",
        parents=[common, limits],
        help="apply pending migrations",
        description="Apply pending migrations, oldest first, each in its own transaction, every statement "
        "under a lock timeout (retried with backoff) and a statement timeout.",
    )
    up.add_argument("--dry-run", action="store_true", help="list what would be applied, change nothing")
    up.add_argument(
        "--plan",
        action="store_true",
        help="list each pending statement with the lock it takes and whether it rewrites or scans the "
        "table; change nothing",
    )
    up.add_argument("--json", action="store_true", help="print the result as JSON, for scripts")

    down = commands.add_parser(
        "rollback",
        parents=[common, limits],
        help="roll back applied migrations",
        description="Roll back applied migrations, newest first (one by default).",
    )
    which = down.add_mutually_exclusive_group()
    which.add_argument("--steps", type=_positive, metavar="N", help="roll back the last N migrations")
    which.add_argument("--to", metavar="REVISION", help="roll back every migration applied after REVISION")
    which.add_argument("--all", action="store_true", help="roll back every migration (asks first)")
    down.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    down.add_argument("--dry-run", action="store_true", help="list what would be rolled back, change nothing")

    state = commands.add_parser(
        "status",
        parents=[common],
        help="list applied and pending migrations",
        description="List every migration, applied (with when) or pending.",
    )
    state.add_argument("--json", action="store_true", help="print the migrations as JSON, for scripts")

    commands.add_parser(
        "break-lock",
        parents=[common],
        help="remove a migration lock left behind by a crashed run",
        description="Remove yoyo's migration lock row, which a crashed yoyo client leaves behind "
        "(learnstore removes one a crashed learnstore run left by itself). Refused while a learnstore "
        "migration is running.",
    )

    create = commands.add_parser(
        "new",
        parents=[common],
        help="create a new migration and its rollback",
        description="Create NNNN_NAME.sql and NNNN_NAME.rollback.sql in the migrations folder.",
    )
    create.add_argument("name", metavar="NAME", help="snake_case name, e.g. add_course_slug")

    roles = commands.add_parser(
        "roles",
        parents=[common],
        help="print or apply the SQL of the role as_user() runs under",
        description="Print the SQL that creates the NOLOGIN role learnstore_app (idempotent) and lets"
        " the given login roles switch to it; --apply runs it (as a role with CREATEROLE). See"
        " docs/security.md.",
    )
    roles.add_argument(
        "--login",
        action="append",
        default=[],
        metavar="ROLE",
        help="a role that may switch to learnstore_app: the service's login role and, unless it is a"
        " superuser, the role that runs the migrations (repeatable)",
    )
    roles.add_argument(
        "--apply", action="store_true", help="run the SQL against --dsn instead of printing it"
    )
    roles.add_argument(
        "--drop", action="store_true", help="print the SQL that removes the role (run it in each database)"
    )

    site_role = commands.add_parser(
        "site-role",
        parents=[common],
        help="grant, revoke or list the site-wide roles (moderator, admin)",
        description="Grant or revoke a user's site-wide role, or list the grants, on the service path"
        " (the first admin is granted here). See docs/security.md.",
    )
    site_role.add_argument("action", choices=("grant", "revoke", "list"))
    site_role.add_argument(
        "user", nargs="?", metavar="CLERK_ID", help="the user (list: all users when omitted)"
    )
    site_role.add_argument("role", nargs="?", choices=("moderator", "admin"), help="the role (grant, revoke)")
    site_role.add_argument("--by", metavar="CLERK_ID", help="the admin who grants it, recorded as granted_by")

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="load a sample learning platform and tour it",
        description=(
            "Migrate, load a realistic sample platform through the bulk path, and print a tour of it. "
            "Without a DSN it uses the database learnstore_demo on the embedded PostgreSQL. "
            "A re-run reuses a finished load; --reset drops the demo database."
        ),
    )
    demo.add_argument("--reset", action="store_true", help="drop the demo database, and do nothing else")

    doctor = commands.add_parser(
        "doctor",
        parents=[common],
        help="check that the database is ready for learnstore",
        description=(
            "Check the server version, extensions, migrations, the migration lock and row-level "
            "security; one PASS/FAIL/SKIP line each, exit code 1 if any check fails."
        ),
    )
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON, for scripts")

    check = commands.add_parser(
        "check",
        parents=[common],
        help="recompute every derived value and report (or repair) drift",
        description=(
            "Recompute every derived value (awards, points, enrolment progress, streaks, flashcard "
            "schedules, like notifications, dense positions) from its base rows and report the drift "
            "per value with its first examples; exit code 1 if any value drifts. --repair fixes the "
            "drift in short batches, then checks again. Run it after an import, a restore or a "
            "manual fix. See docs/derived-state.md."
        ),
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON, for scripts")
    check.add_argument("--repair", action="store_true", help="fix the drift found, in short batches")
    check.add_argument(
        "--sample", type=float, metavar="PERCENT", help="read only this percentage of the rows (no --repair)"
    )
    maintain = commands.add_parser(
        "maintain",
        parents=[common],
        help="create the logs' partitions ahead, drop those past retention, fold past rollup shards",
        description=(
            "For each log partitioned by month (learnstore.partitions.PARTITIONED): create the "
            "partitions of the coming months, moving any rows the default partition holds for them, "
            "and drop the months older than the log's retention. Then fold the shards of trending's "
            "past hours into one row each (learnstore.rollups). Idempotent: run it daily (cron). "
            "See docs/scaling.md."
        ),
    )
    maintain.add_argument(
        "--ahead",
        type=int,
        default=None,
        metavar="MONTHS",
        help="months to keep ready after this one (default 3)",
    )
    maintain.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="TABLE=MONTHS",
        help="a log's retention in months, or TABLE=all (repeatable; default: each log's own)",
    )
    maintain.add_argument("--json", action="store_true", help="print what was done as JSON, for scripts")
    return parser


def _maintain(args: argparse.Namespace) -> int:
    from learnstore import partitions, rollups
    from learnstore._console import Output

    retention: dict[str, int | None] = {}
    for item in args.keep:
        table, _, months = item.partition("=")
        if not months or not (months == "all" or months.isdigit()):
            print(f"learnstore: --keep wants TABLE=MONTHS or TABLE=all, not {item!r}", file=sys.stderr)
            return 2
        retention[table] = None if months == "all" else int(months)
    ahead = partitions.DEFAULT_AHEAD if args.ahead is None else args.ahead
    with psycopg.connect(_dsn(args), autocommit=True) as conn:
        done = partitions.maintain(conn, ahead=ahead, retention=retention)
        waiting = partitions.default_rows(conn)
        folded = rollups.fold_activity(conn)
    if args.json:
        print(json.dumps({**dataclasses.asdict(done), "default_rows": waiting, "folded": folded}, indent=2))
        return 0
    out = Output()
    for name in done.created:
        out.line(f"created  {name}")
    for name in done.dropped:
        out.line(f"dropped  {name}")
    for table, count in waiting.items():
        if count:
            out.line(f"{table}: {count} row(s) in the default partition (past the last month)", "yellow")
    out.line(
        f"{len(done.created)} created, {len(done.dropped)} dropped, {folded} rollup row(s) folded", "bold"
    )
    return 0


def _dsn(args: argparse.Namespace) -> str:
    given: str | None = getattr(args, "dsn", None) or os.environ.get(DSN_ENV)
    if given:
        return given
    from learnstore.embedded import default_dsn, embedded_data_dir

    print(f"learnstore: using the embedded PostgreSQL in {embedded_data_dir()}", file=sys.stderr)
    return default_dsn()


class _Progress:
    """Prints `applying 0002_x ... ok`, one line per migration, as it happens."""

    line_open = False

    def __call__(self, event: str, migration_id: str) -> None:
        if event == "waiting":
            print("learnstore: waiting for another migration run to finish", file=sys.stderr)
        elif event == "stale lock":
            died = f"learnstore: removed the lock of a migration run that died ({migration_id})"
            print(died, file=sys.stderr)
        elif event == "lock timeout":
            print("waited for a lock; rolled back, retrying ...", end=" ", flush=True)
        elif event == "invalid index":
            print(f"dropped the INVALID index {migration_id} a cancelled build left ...", end=" ", flush=True)
        elif event in ("applying", "rolling back"):
            print(f"{event} {migration_id} ...", end=" ", flush=True)
            self.line_open = True
        else:
            print("ok", flush=True)
            self.line_open = False


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise _RefusedError("rollback --all asks for confirmation, and there is no terminal: pass --yes")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:  # Ctrl-D is a no
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _demo(args: argparse.Namespace) -> int:
    from learnstore import demo
    from learnstore._console import Output

    given: str | None = getattr(args, "dsn", None) or os.environ.get(DSN_ENV)
    if given:
        dsn, owned = given, False
    else:
        from learnstore.embedded import embedded_data_dir, embedded_dsn

        print(f"learnstore: using the embedded PostgreSQL in {embedded_data_dir()}", file=sys.stderr)
        dsn, owned = embedded_dsn(demo.DEMO_DATABASE), True
    out = Output()
    if args.reset:
        demo.drop(out, dsn, owned=owned)
        return 0
    demo.prepare(out, dsn, owned=owned)
    demo.show(out, dsn, demo.tour(dsn))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from learnstore._console import Output
    from learnstore.doctor import diagnose

    checks = diagnose(_dsn(args), migrations=getattr(args, "migrations", None))
    failed = sum(check.failed for check in checks)
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [dataclasses.asdict(c) for c in checks]}, indent=2))
    else:
        out = Output()
        for check in checks:
            out.check(check.outcome, f"{check.name}: {check.detail}")
        out.line(
            f"{failed} check(s) failed" if failed else "learnstore is ready", "bold red" if failed else "bold"
        )
    return 1 if failed else 0


def _check(args: argparse.Namespace) -> int:
    import learnstore
    from learnstore._console import Output

    with learnstore.connect(_dsn(args), max_size=1) as store:
        report = store.check(repair=args.repair, sample=args.sample)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        out = Output()
        for value in report.values:
            left = value.drifted if value.remaining is None else value.remaining
            out.check("fail" if left else "pass", value.describe(examples=3))
        out.line(
            f"{report.drift} drift" if report.drift else "no drift", "bold red" if report.drift else "bold"
        )
    return 1 if report.drift else 0


#: commands that run on their own, without the migration progress printer
_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _check,
    "demo": _demo,
    "doctor": _doctor,
    "maintain": _maintain,
}


def _run(args: argparse.Namespace, progress: _Progress) -> int:
    command = _COMMANDS.get(args.command)
    if command is not None:
        return command(args)
    folder: Path | None = getattr(args, "migrations", None)
    if args.command == "new":
        forward, backward = migrate.new(args.name, migrations=folder)
        print(forward)
        print(backward)
        print("remember: change sql/schema/ in the same commit, so it describes where this migration leads")
        return 0
    if args.command == "roles":
        return _roles(args)
    if args.command == "site-role":
        return _site_role(args)
    dsn = _dsn(args)
    if args.command == "status":
        _status(migrate.status(dsn, migrations=folder), as_json=args.json)
        return 0
    if args.command == "break-lock":
        removed = migrate.break_lock(dsn)
        for holder in removed:
            print(f"removed the migration lock {holder}")
        if not removed:
            print("no migration lock to break")
        return 0
    if args.command == "migrate" and args.plan:
        return _plan(dsn, folder, as_json=args.json)
    if args.command == "migrate":
        quiet = args.json  # JSON alone on stdout: no progress lines
        ids = migrate.upgrade(
            dsn,
            migrations=folder,
            dry_run=args.dry_run,
            on_progress=None if quiet else progress,
            **_limits(args),
        )
        if args.json:
            print(json.dumps({"dry_run": args.dry_run, "would_apply" if args.dry_run else "applied": ids}))
            return 0
        verb = "would apply" if args.dry_run else "applied"
        _summary(ids, verb, args.dry_run, "the database is up to date")
        return 0
    # rollback
    steps: int | None = None if args.all or args.to is not None else (args.steps or 1)
    if args.all and not args.yes and not args.dry_run:
        pending = migrate.rollback(dsn, migrations=folder, steps=None, dry_run=True)
        if pending and not _confirm(f"roll back all {len(pending)} applied migration(s)?"):
            print("nothing rolled back", file=sys.stderr)
            return 1
    ids = migrate.rollback(
        dsn,
        migrations=folder,
        steps=steps,
        to=args.to,
        dry_run=args.dry_run,
        on_progress=progress,
        **_limits(args),
    )
    _summary(ids, "would roll back" if args.dry_run else "rolled back", args.dry_run, "nothing to roll back")
    return 0


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    """The limits given on the command line, as durations in seconds; the rest come from the
    environment or the defaults (learnstore.migrate)."""
    given = locks.limits(
        lock_timeout=None
        if args.lock_timeout is None
        else locks.duration(args.lock_timeout, "--lock-timeout"),
        lock_retries=args.lock_retries,
        statement_timeout=None
        if args.statement_timeout is None
        else locks.duration(args.statement_timeout, "--statement-timeout"),
    )
    return {
        "lock_timeout": given.lock_timeout,
        "lock_retries": given.lock_retries,
        "statement_timeout": given.statement_timeout,
    }


def _plan(dsn: str, folder: Path | None, *, as_json: bool) -> int:
    from learnstore.migrate_plan import plan

    planned = plan(dsn, migrations=folder)
    if as_json:
        print(json.dumps({"plan": [dataclasses.asdict(p) for p in planned]}, indent=2))
        return 0
    from learnstore._console import Output

    out = Output()
    out.table(
        ("migration", "statement", "lock", "blocks", "rewrites", "scans", "note"),
        [
            (
                p.migration,
                p.statement if len(p.statement) <= 60 else p.statement[:57] + "...",
                p.lock + (f" on {p.table}" if p.table else ""),
                p.blocks,
                "yes" if p.rewrites else "no",
                "yes" if p.scans else "no",
                p.note,
            )
            for p in planned
        ],
        styles=["red" if p.rewrites or p.lock == "ACCESS EXCLUSIVE" else "" for p in planned],
    )
    out.line(f"{len(planned)} statement(s) pending" if planned else "the database is up to date", "bold")
    return 0


def _roles(args: argparse.Namespace) -> int:
    if args.drop:
        if args.apply:
            raise _RefusedError("roles --drop only prints: run its SQL in every database that uses the role")
        print(security.drop_role_sql(), end="")
        return 0
    statements = security.role_sql(args.login)
    if not args.apply:
        print(statements, end="")
        return 0
    try:
        with translating(), psycopg.connect(_dsn(args), autocommit=True) as conn:
            conn.execute(statements.encode())
    except psycopg.Error as exc:  # one learnstore does not map, e.g. a login role that does not exist
        raise LearnstoreError(f"roles: {exc.diag.message_primary or exc}") from exc
    granted = f", granted to {', '.join(args.login)}" if args.login else ""
    print(f"role {security.APP_ROLE} is in place{granted}")
    return 0


def _site_role(args: argparse.Namespace) -> int:
    from learnstore.store import connect

    if args.action != "list" and (args.user is None or args.role is None):
        raise _RefusedError(f"site-role {args.action} needs a CLERK_ID and a ROLE (moderator or admin)")
    with connect(_dsn(args)) as store:
        if args.action == "grant":
            granted = store.users.grant_role(args.user, args.role, granted_by=args.by)
            print(f"{granted.user_clerk_id} is {granted.role}")
        elif args.action == "revoke":
            held = store.users.revoke_role(args.user, args.role)
            print(f"{args.user} is no longer {args.role}" if held else f"{args.user} was not {args.role}")
        else:
            for grant in store.users.list_roles(args.user):
                by = grant.granted_by or "-"
                print(f"{grant.user_clerk_id}\t{grant.role}\t{by}\t{grant.created_at:%Y-%m-%d}")
    return 0


def _status(states: list[migrate.MigrationState], *, as_json: bool) -> None:
    applied = sum(s.applied for s in states)
    if as_json:
        rows = [
            {
                "id": s.id,
                "applied": s.applied,
                "applied_at": s.applied_at.isoformat() if s.applied_at else None,
            }
            for s in states
        ]
        print(
            json.dumps({"migrations": rows, "applied": applied, "pending": len(states) - applied}, indent=2)
        )
        return
    from learnstore._console import Output

    out = Output()
    out.table(
        ("migration", "state", "applied at"),
        [
            (
                s.id,
                "applied" if s.applied else "pending",
                f"{s.applied_at:%Y-%m-%d %H:%M:%S} UTC" if s.applied_at else "",
            )
            for s in states
        ],
        styles=["green" if s.applied else "yellow" for s in states],
    )
    out.line(f"{applied} applied, {len(states) - applied} pending", "bold")


def _summary(ids: list[str], verb: str, dry_run: bool, when_none: str) -> None:
    if dry_run:  # a real run has already printed each one as it went
        for migration_id in ids:
            print(f"{verb} {migration_id}")
    print(f"{verb} {len(ids)} migration(s)" if ids else when_none)


def main(argv: list[str] | None = None) -> int:
    """Run the `learnstore` command; the exit code (0 ok, 1 error, 2 usage error)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else 2
    progress = _Progress()
    try:
        return _run(args, progress)
    except LearnstoreError as exc:
        if progress.line_open:
            print("failed", flush=True)
        print(f"learnstore: error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("learnstore: interrupted", file=sys.stderr)
        return 130
