"""The logs partitioned by month: which tables, their retention, `maintain()` and `convert_live()`.

The SQL is sql/schema/96_partitions.sql's (the functions migration 0019 adds); docs/scaling.md says
why native partitioning and not pg_partman, and what changed in each table's keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import sql

from learnstore.errors import InvalidValue, NotFound

__all__ = [
    "DEFAULT_AHEAD",
    "PARTITIONED",
    "Log",
    "Maintenance",
    "Partition",
    "convert_live",
    "default_rows",
    "list_partitions",
    "maintain",
]

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Log:
    """A log partitioned by month on `column`; partitions older than `retention_months` are dropped
    by maintain() (None: kept for ever), and `why` says why that retention."""

    table: str
    column: str
    retention_months: int | None
    why: str


#: the partitioned logs, by table
PARTITIONED: dict[str, Log] = {
    "login_days": Log(
        "login_days",
        "day",
        None,
        "streaks are computed from every login day (the longest run reaches back to the first day), "
        "and `learnstore check` recomputes them: dropping days would make the stored streaks drift",
    ),
    "flashcard_reviews": Log(
        "flashcard_reviews",
        "reviewed_at",
        None,
        "the review log is what a replay of a card's schedule reads (ListFlashcardReviews), and the "
        "GDPR export hands it to its learner: a service that needs neither sets a retention",
    ),
}

#: months of partitions maintain() keeps ready after the current one
DEFAULT_AHEAD = 3

# A monthly partition's bound as PostgreSQL prints it: FROM ('2027-01-01') TO ('2027-02-01'), or
# the history partition's FROM (MINVALUE) TO (...). Timestamps print in UTC: the functions set it.
_UPPER = re.compile(r"TO \('(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class Partition:
    """One partition of a log: its name, its range (lower None: from the beginning; both None: the
    default partition) and its row count as the statistics estimate it (-1: never analyzed)."""

    table: str
    name: str
    lower: date | None
    upper: date | None
    estimated_rows: int


@dataclass
class Maintenance:
    """What maintain() did: the partitions it created and those it dropped, by name."""

    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _month_after(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def list_partitions(conn: Conn, table: str) -> list[Partition]:
    """The partitions of the log `table`, oldest first, the default partition last."""
    found = conn.execute(
        """
        SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass(%s)
        """,
        [table],
    ).fetchall()
    if not found and conn.execute("SELECT to_regclass(%s)", [table]).fetchone() == (None,):
        raise NotFound(f"no table {table!r}", field="table")
    parts = []
    for name, bound, estimate in found:
        dates = re.findall(r"'(\d{4}-\d{2}-\d{2})", bound)
        if bound == "DEFAULT":
            lower = upper = None
        elif len(dates) == 1:  # FROM (MINVALUE) TO (...)
            lower, upper = None, date.fromisoformat(dates[0])
        else:
            lower, upper = date.fromisoformat(dates[0]), date.fromisoformat(dates[1])
        parts.append(Partition(table, name, lower, upper, int(estimate)))
    return sorted(parts, key=lambda p: (p.upper is None, p.upper or date.max))


def default_rows(conn: Conn) -> dict[str, int]:
    """Per partitioned log, how many rows sit in its default partition (0 when maintain() keeps up)."""
    counts = {}
    for log in PARTITIONED.values():
        name = f"{log.table}_default"
        if conn.execute("SELECT to_regclass(%s)", [name]).fetchone() == (None,):
            continue
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()
        counts[log.table] = int(row[0]) if row else 0
    return counts


def maintain(
    conn: Conn,
    *,
    ahead: int = DEFAULT_AHEAD,
    retention: Mapping[str, int | None] | None = None,
    now: datetime | None = None,
) -> Maintenance:
    """Create each log's monthly partitions up to `ahead` months after the current one (moving any
    rows the default partition holds for them), and drop the partitions wholly older than the log's
    retention in months (`retention` overrides PARTITIONED's, per table; None keeps everything).
    Each log in its own transaction, each waiting at most 3 s for its locks. Idempotent."""
    if ahead < 0:
        raise InvalidValue("ahead must be 0 or more", field="ahead")
    unknown = sorted(set(retention or {}) - set(PARTITIONED))
    if unknown:
        raise InvalidValue(f"not a partitioned log: {', '.join(unknown)}", field="retention")
    keep = {name: log.retention_months for name, log in PARTITIONED.items()} | dict(retention or {})
    if any(months is not None and months < 1 for months in keep.values()):
        raise InvalidValue("a retention is 1 month or more", field="retention")
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    until = _month_after(today, ahead + 1)
    done = Maintenance()
    for table, months in keep.items():
        with conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '3s'")
            # Two maintainers (two cron hosts) take turns per log: the second finds the months made
            # and the default emptied, instead of failing on a partition the first just created.
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('learnstore.maintain ' || %s, 0))", [table]
            )
            if conn.execute(
                "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table]
            ).fetchone() != ("p",):
                continue
            rows = conn.execute("SELECT learnstore_add_month_partitions(%s, %s)", [table, until]).fetchall()
            done.created += [name for (name,) in rows]
            if months is None:
                continue
            cutoff = _month_after(today, -months)
            for part in list_partitions(conn, table):
                if part.upper is not None and part.upper <= cutoff:
                    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(part.name)))
                    done.dropped.append(part.name)
    return done


#: convert_live(on_progress=...) is told each step's name before it runs
Progress = Callable[[str], None]


def convert_live(
    dsn: str,
    table: str,
    column: str,
    *,
    ahead: int = DEFAULT_AHEAD,
    now: datetime | None = None,
    on_progress: Progress | None = None,
) -> date:
    """Partition the big, live plain table `table` by month on `column` (a date or timestamptz),
    keeping it writable: the (primary key, column) index is built CONCURRENTLY, a CHECK that every
    row is before the month after next is added NOT VALID and validated (neither blocks writes),
    then one short transaction renames the table to `<table>_history`, attaches it under a new
    partitioned parent without scanning it, and moves the grants, policies and triggers to the parent
    (learnstore_partition_by_month). Returns the history partition's upper bound. A unique key
    without `column` must be changed first; a rerun after a failure resumes."""
    say = on_progress or (lambda _step: None)
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    until = _month_after(today, 2)
    history = f"{table}_history"
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regproc('learnstore_partition_by_month')").fetchone() == (None,):
            raise InvalidValue(
                "the database predates migration 0019: run `learnstore migrate` first", field="dsn"
            )
        kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table]).fetchone()
        if kind is None:
            raise NotFound(f"no table {table!r}", field="table")
        if kind == ("p",):
            raise InvalidValue(f"{table} is partitioned already", field="table")
        pk = conn.execute(
            """
            SELECT array(SELECT a.attname::text FROM unnest(k.conkey) AS u(n)
                         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n)
            FROM pg_constraint k WHERE k.conrelid = %s::regclass AND k.contype = 'p'
            """,
            [table],
        ).fetchone()
        if pk is None:
            raise InvalidValue(f"{table} has no primary key", field="table")
        # What the swap would refuse, refused before anything is built.
        blocking = conn.execute(
            """
            SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = %s::regclass AND i.indisunique AND NOT i.indisprimary
              AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = i.indrelid
                              AND a.attnum = ANY (i.indkey) AND a.attname = %s)
            UNION ALL
            SELECT k.conname FROM pg_constraint k WHERE k.confrelid = %s::regclass AND k.contype = 'f'
            ORDER BY 1
            """,
            [table, column, table],
        ).fetchall()
        if blocking:
            names = ", ".join(name for (name,) in blocking)
            raise InvalidValue(
                f"{table}: a unique key without {column}, or a foreign key to the table, must change"
                f" first: {names}",
                field="column",
            )
        columns = [*pk[0], *([] if column in pk[0] else [column])]
        bound = conn.execute(
            "SELECT CASE format_type(atttypid, NULL) WHEN 'date' THEN %s::text"
            " ELSE %s::text || ' 00:00:00+00' END"
            " FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s AND NOT attisdropped",
            [until, until, table, column],
        ).fetchone()
        if bound is None:
            raise InvalidValue(f"{table} has no column {column!r}", field="column")
        index = sql.Identifier(f"{history}_pkey")
        invalid = conn.execute(
            "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [f"{history}_pkey"]
        ).fetchone()
        if invalid == (True,):  # a cancelled concurrent build leaves an invalid index behind
            conn.execute(sql.SQL("DROP INDEX CONCURRENTLY {}").format(index))
        say("index")
        conn.execute(
            sql.SQL("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} ({})").format(
                index, sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
        )
        check = sql.Identifier(f"{history}_bound")
        if (
            conn.execute(
                "SELECT FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s",
                [table, f"{history}_bound"],
            ).fetchone()
            is None
        ):
            say("check")
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({} < {}) NOT VALID").format(
                    sql.Identifier(table), check, sql.Identifier(column), sql.Literal(bound[0])
                )
            )
        say("validate")
        conn.execute(sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(sql.Identifier(table), check))
        say("swap")
        with conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '3s'")
            conn.execute(
                "SELECT learnstore_partition_by_month(%s::regclass, %s::name, NULL::date, %s::integer)",
                [table, column, ahead],
            )
        row = conn.execute(
            "SELECT substring(pg_get_expr(relpartbound, oid) FROM 'TO \\(''(\\d{4}-\\d{2}-\\d{2})')::date"
            " FROM pg_class WHERE oid = %s::regclass",
            [history],
        ).fetchone()
        assert row is not None
        result: date = row[0]
        return result
