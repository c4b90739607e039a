"""`learnstore doctor`: is this database ready for learnstore? One pass/fail line per check.

Each check is a function (connection, Target) -> Check, listed in CHECKS; a check that does
not apply (no row-level security in the schema, no checksums recorded) is skipped, not failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict
from yoyo import default_migration_table

from learnstore import migrate, security
from learnstore._resources import migrations_dir
from learnstore.errors import Unavailable

__all__ = ["CHECKS", "DERIVED_SAMPLE_PERCENT", "MIN_SERVER_VERSION", "Check", "Target", "diagnose"]

#: the oldest PostgreSQL learnstore is tested on (CI runs 15 on the local server, 18 embedded)
MIN_SERVER_VERSION = 15

_EXTENSION = re.compile(r"CREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?([\w-]+)\"?", re.I)


@dataclass(frozen=True)
class Check:
    """The outcome of one check: `pass`, `fail`, `warn` (works, but needs attention) or `skip`,
    and what was found."""

    name: str
    outcome: Literal["pass", "fail", "warn", "skip"]
    detail: str

    @property
    def failed(self) -> bool:
        return self.outcome == "fail"


@dataclass(frozen=True)
class Target:
    """What the checks look at: the database's DSN and the migrations folder (None: learnstore's own)."""

    dsn: str
    migrations: Path | None = None


Probe = Callable[[psycopg.Connection[Any], Target], Check]


def _one(conn: psycopg.Connection[Any], query: str, *params: object) -> Any:
    row = conn.execute(query, params or None).fetchone()
    return row[0] if row else None


def server_version(conn: psycopg.Connection[Any], _: Target) -> Check:
    number = int(_one(conn, "SHOW server_version_num"))
    text = str(_one(conn, "SHOW server_version")).split()[0]
    if number // 10_000 < MIN_SERVER_VERSION:
        return Check(
            "server version", "fail", f"PostgreSQL {text}: learnstore needs {MIN_SERVER_VERSION} or newer"
        )
    return Check("server version", "pass", f"PostgreSQL {text} (learnstore needs {MIN_SERVER_VERSION}+)")


def extensions(conn: psycopg.Connection[Any], target: Target) -> Check:
    folder = target.migrations or migrations_dir()
    needed = sorted(
        {name.lower() for path in folder.glob("*.sql") if not path.name.endswith(".rollback.sql")
         for name in _EXTENSION.findall(path.read_text())}
    )  # fmt: skip
    installed = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
    if not needed:
        return Check("extensions", "pass", f"none needed (installed: {', '.join(sorted(installed))})")
    missing = [name for name in needed if name not in installed]
    if not missing:
        return Check("extensions", "pass", f"installed: {', '.join(needed)}")
    available = {row[0] for row in conn.execute("SELECT name FROM pg_available_extensions")}
    absent = [name for name in missing if name not in available]
    if absent:
        return Check("extensions", "fail", f"not available on this server: {', '.join(absent)}")
    return Check(
        "extensions", "fail", f"not installed yet: {', '.join(missing)} (learnstore migrate installs them)"
    )


def migrations_applied(conn: psycopg.Connection[Any], target: Target) -> Check:
    states = migrate.status(target.dsn, migrations=target.migrations)
    pending = [s.id for s in states if not s.applied]
    known = sum(s.applied for s in states)
    table = _one(conn, "SELECT to_regclass(%s)::text", default_migration_table)
    recorded = int(_one(conn, f'SELECT count(*) FROM "{default_migration_table}"')) if table else 0
    if recorded > known:
        return Check(
            "migrations",
            "fail",
            f"{recorded - known} applied migration(s) unknown to this learnstore (a newer version's?)",
        )
    if pending:
        more = f" and {len(pending) - 3} more" if len(pending) > 3 else ""
        return Check(
            "migrations",
            "fail",
            f"{len(pending)} pending: {', '.join(pending[:3])}{more} (run learnstore migrate)",
        )
    return Check("migrations", "pass", f"all {known} applied")


def migration_checksums(conn: psycopg.Connection[Any], target: Target) -> Check:
    if not _one(conn, "SELECT to_regclass(%s) IS NOT NULL", migrate.CHECKSUM_TABLE):
        return Check("migration checksums", "skip", "none recorded yet (learnstore migrate records them)")
    recorded = dict(conn.execute(f"SELECT migration_id, sha256 FROM {migrate.CHECKSUM_TABLE}").fetchall())
    files = migrate.file_checksums(target.migrations)
    changed = sorted(id_ for id_, sha in recorded.items() if id_ in files and files[id_] != sha)
    if changed:
        return Check(
            "migration checksums",
            "fail",
            f"changed after they were applied: {', '.join(changed)} (restore them; put changes in a new "
            "migration)",
        )
    return Check("migration checksums", "pass", f"{len(recorded)} applied migration(s) match their files")


def migration_lock(conn: psycopg.Connection[Any], _: Target) -> Check:
    if not _one(conn, "SELECT to_regclass('yoyo_lock') IS NOT NULL"):
        return Check("migration lock", "pass", "free")
    row = conn.execute("SELECT pid, ctime FROM yoyo_lock LIMIT 1").fetchone()
    if row is None:
        return Check("migration lock", "pass", "free")
    return Check(
        "migration lock",
        "fail",
        f"held by pid {row[0]} since {row[1]:%Y-%m-%d %H:%M:%S} UTC: if no migration is running, a crashed "
        "run left it behind (learnstore break-lock)",
    )


def row_level_security(conn: psycopg.Connection[Any], _: Target) -> Check:
    rows = conn.execute(
        """
        SELECT c.relname, count(p.polname), array_remove(array_agg(DISTINCT r.rolname), NULL)
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
        LEFT JOIN pg_policy p ON p.polrelid = c.oid
        LEFT JOIN LATERAL unnest(p.polroles) AS role(oid) ON true
        LEFT JOIN pg_roles r ON r.oid = role.oid
        -- a partition has row-level security and no policy on purpose: it is read through its
        -- parent, whose policies apply (sql/schema/96_partitions.sql)
        WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT c.relispartition
        GROUP BY c.relname ORDER BY c.relname
        """
    ).fetchall()
    if not rows:
        return Check("row-level security", "skip", "no table has row-level security enabled")
    bare = [name for name, policies, _ in rows if policies == 0]
    if bare:
        return Check(
            "row-level security",
            "fail",
            f"enabled without a policy (only the owner sees rows): {', '.join(bare)}",
        )
    # With the permission model in place (migration 0013), every table it names that a user may
    # touch at all must have row-level security: one without would be open to as_user().
    secured = {name for name, *_ in rows}
    if _one(conn, "SELECT to_regclass('site_roles') IS NOT NULL"):
        open_tables = sorted(
            table
            for table, rule in security.MODEL.items()
            if table not in secured
            and any(audiences != ("nobody",) for audiences in rule.values())
            and _one(conn, "SELECT to_regclass(%s) IS NOT NULL", table)
        )
        if open_tables:
            return Check(
                "row-level security",
                "fail",
                f"tables of the permission model without row-level security: {', '.join(open_tables)}",
            )
    roles = sorted({role for *_, names in rows for role in names})
    app_role = _one(conn, "SELECT rolname FROM pg_roles WHERE rolname = %s", security.APP_ROLE)
    if app_role is None and _rls_migration_applied(conn):
        return Check(
            "row-level security",
            "fail",
            f"{len(rows)} table(s) with policies but no role {security.APP_ROLE} for as_user() "
            "(learnstore roles --apply)",
        )
    return Check(
        "row-level security",
        "pass",
        f"{len(rows)} table(s) with policies"
        + (f" for roles {', '.join(roles)}" if roles else "")
        + (f"; role {app_role} present" if app_role else ""),
    )


def _rls_migration_applied(conn: psycopg.Connection[Any]) -> bool:
    """Whether learnstore's own row-level security migration (which as_user() relies on) is applied."""
    if not _one(conn, "SELECT to_regclass(%s) IS NOT NULL", default_migration_table):
        return False
    query = f"SELECT count(*) FROM {default_migration_table} WHERE migration_id = %s"
    return bool(_one(conn, query, security.MIGRATION_ID))


#: the share of rows doctor's check of derived state reads: a quick look, not the full check
DERIVED_SAMPLE_PERCENT = 5.0


def derived_state(conn: psycopg.Connection[Any], _: Target) -> Check:
    """A sampled, read-only `learnstore check`: derived values against their base rows."""
    from learnstore.check import run_check
    from learnstore.database import Database

    if not _one(conn, "SELECT to_regprocedure('streak_of(text)') IS NOT NULL"):
        return Check("derived state", "skip", "the schema predates the check (migrate first)")
    report = run_check(Database(conn), sample=DERIVED_SAMPLE_PERCENT, examples=1)
    if report.drift:
        drifting = ", ".join(f"{d.name} ({d.drifted})" for d in report.values if d.drifted)
        return Check("derived state", "fail", f"drift in a {DERIVED_SAMPLE_PERCENT:g}% sample: {drifting};"
                     " run `learnstore check --repair`")  # fmt: skip
    return Check("derived state", "pass", f"no drift in a {DERIVED_SAMPLE_PERCENT:g}% sample of each value")


def partitioned_logs(conn: psycopg.Connection[Any], _: Target) -> Check:
    """Rows in a log's default partition (past its last month: `learnstore maintain` has not run) warn."""
    from learnstore import partitions

    present = [
        t
        for t in partitions.PARTITIONED
        if _one(conn, "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", t) == "p"
    ]
    if not present:
        return Check("partitioned logs", "skip", "no log is partitioned (migrate first)")
    waiting = {table: n for table, n in partitions.default_rows(conn).items() if n}
    if waiting:
        rows = ", ".join(f"{table} {n}" for table, n in waiting.items())
        return Check(
            "partitioned logs", "warn", f"rows in a default partition ({rows}): run `learnstore maintain`"
        )
    ready = []
    for table in present:
        ends = [p.upper for p in partitions.list_partitions(conn, table) if p.upper is not None]
        ready.append(f"{table} to {max(ends)}" if ends else table)
    return Check("partitioned logs", "pass", f"default partitions empty; months ready: {', '.join(ready)}")


#: the checks, in order; a new one is a function (connection, Target) -> Check
def replicas(conn: psycopg.Connection[Any], _: Target) -> Check:
    """Each streaming replica of this server, and how far behind it is: a read without a token on a
    replica may be that stale (docs/replicas.md). Read from pg_stat_replication on the primary."""
    if _one(conn, "SELECT pg_is_in_recovery()"):
        lag = _one(conn, "SELECT now() - pg_last_xact_replay_timestamp()")
        return Check("replicas", "skip", f"this server is itself a replica (last replayed commit {lag} ago)")
    rows = conn.execute(
        "SELECT coalesce(application_name, '?'), coalesce(host(client_addr), 'local'), state,"
        " extract(epoch FROM replay_lag) * 1000,"
        " pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)"
        " FROM pg_stat_replication ORDER BY application_name"
    ).fetchall()
    if not rows:
        return Check("replicas", "skip", "no streaming replica is connected")
    lines = []
    for name, host, state, lag_ms, behind in rows:
        lag = "unknown" if lag_ms is None else f"{float(lag_ms):.1f} ms"
        bytes_behind = "unknown" if behind is None else f"{int(behind)} bytes"
        lines.append(f"{name} ({host}): {state}, replay lag {lag}, {bytes_behind} behind")
    # Informational: a replica catching up still serves reads, and token reads never read stale.
    return Check("replicas", "pass", "; ".join(lines))


CHECKS: tuple[Probe, ...] = (
    server_version,
    extensions,
    migrations_applied,
    migration_checksums,
    migration_lock,
    row_level_security,
    derived_state,
    replicas,
    partitioned_logs,
)


def diagnose(dsn: str, *, migrations: Path | None = None, checks: tuple[Probe, ...] = CHECKS) -> list[Check]:
    """Run every check against `dsn`; a server that cannot be reached is one failed check."""
    try:
        name = conninfo_to_dict(dsn).get("dbname") or "?"
    except psycopg.ProgrammingError as exc:
        return [Check("connection", "fail", f"invalid DSN: {str(exc).strip()}")]
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Check("connection", "fail", f"cannot connect: {first}")]
    found = [Check("connection", "pass", f"database {name!r} as {conn.info.user!r}")]
    with conn:
        for check in checks:
            try:
                found.append(check(conn, Target(dsn, migrations)))
            except (psycopg.Error, Unavailable, migrate.MigrationError) as exc:
                message = getattr(exc, "message", None) or str(exc).strip().splitlines()[0]
                found.append(Check(check.__name__.replace("_", " "), "fail", message))
    return found
