"""The logs partitioned by month on real databases: the partitions migration 0019 made, maintain()
and `learnstore maintain` (months ahead, rows moved out of the default partition, retention),
doctor's warning, partitions closed to learnstore_app, pruning in the plans of the queries that
read the logs, a partition's errors named for the parent, and convert_live on a table with rows
while a writer keeps writing."""

from __future__ import annotations

import io
import json
import re
import threading
from contextlib import redirect_stdout
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg

import learnstore
from learnstore import partitions
from learnstore._resources import queries_dir
from learnstore.cli import main
from learnstore.doctor import Target, partitioned_logs
from learnstore.errors import AlreadyExists, InvalidValue, NotFound, translate
from learnstore.partitions import PARTITIONED, convert_live, default_rows, list_partitions, maintain
from learnstore.queries._loader import parse_dir

Conn = psycopg.Connection[Any]
NOW = datetime.now(UTC)
THIS_MONTH = NOW.date().replace(day=1)


def month_after(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def rows(dsn: str, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query.encode(), params)
        return cur.fetchall() if cur.description else []


def users(dsn: str, *names: str) -> None:
    for name in names:
        rows(dsn, "INSERT INTO users (clerk_id, first_name) VALUES (%s, %s)", [name, name.title()])


def card(dsn: str, owner: str) -> Any:
    set_id = rows(
        dsn, "INSERT INTO flashcard_sets (owner_clerk_id, title) VALUES (%s, 'S') RETURNING id", [owner]
    )
    return rows(
        dsn, "INSERT INTO flashcards (set_id, front, back) VALUES (%s, 'f', 'b') RETURNING id", [set_id[0][0]]
    )[0][0]


# ---- what migration 0019 made ------------------------------------------------------------------------


@pytest.mark.parametrize("table", sorted(PARTITIONED))
def test_each_log_is_partitioned_by_month_with_history_months_ahead_and_a_default(
    fresh_db: str, table: str
) -> None:
    column = PARTITIONED[table].column
    assert rows(
        fresh_db,
        "SELECT a.attname FROM pg_partitioned_table p JOIN pg_attribute a"
        " ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] WHERE p.partrelid = %s::regclass",
        [table],
    ) == [(column,)]
    with psycopg.connect(fresh_db) as conn:
        parts = list_partitions(conn, table)
    history, *months, default = parts
    assert (history.name, history.lower, history.upper) == (
        f"{table}_history",
        None,
        month_after(THIS_MONTH, 2),
    )
    assert default.name == f"{table}_default" and default.upper is None
    # contiguous months from the end of the history on, at least DEFAULT_AHEAD of them
    assert [p.lower for p in months] == [
        month_after(history.upper or THIS_MONTH, i) for i in range(len(months))
    ]
    assert all(p.upper == month_after(p.lower or THIS_MONTH, 1) for p in months)
    assert len(months) >= partitions.DEFAULT_AHEAD
    assert months[0].name == f"{table}_p{history.upper:%Y%m}"


def test_old_and_current_rows_land_in_history_and_future_ones_in_their_month(fresh_db: str) -> None:
    users(fresh_db, "ana")
    rows(
        fresh_db,
        "INSERT INTO login_days (user_clerk_id, day) VALUES ('ana', '2019-05-01'), ('ana', %s), ('ana', %s)",
        [NOW.date(), month_after(THIS_MONTH, 3)],
    )
    found = rows(fresh_db, "SELECT tableoid::regclass::text, day FROM login_days ORDER BY day")
    assert [name for name, _ in found] == [
        "login_days_history",
        "login_days_history",
        f"login_days_p{month_after(THIS_MONTH, 3):%Y%m}",
    ]
    with psycopg.connect(fresh_db) as conn:
        assert default_rows(conn) == {"login_days": 0, "flashcard_reviews": 0}


# ---- learnstore_app reaches the logs through their parents only ------------------------------------


def as_app(conn: Conn, clerk_id: str) -> None:
    conn.execute(
        "SELECT set_config('role', 'learnstore_app', true), set_config('learnstore.clerk_id', %s, true)",
        [clerk_id],
    )


@pytest.mark.parametrize("table", sorted(PARTITIONED))
def test_partitions_are_closed_to_learnstore_app_and_the_parents_policies_hold(
    fresh_db: str, table: str
) -> None:
    users(fresh_db, "ana", "bo")
    if table == "login_days":
        rows(
            fresh_db, "INSERT INTO login_days (user_clerk_id, day) VALUES ('ana', %s), ('bo', %s)", [NOW, NOW]
        )
    else:
        for who in ("ana", "bo"):
            with learnstore.connect(fresh_db, max_size=1) as store:
                store.flashcards.review(who, card(fresh_db, who), "good")
    with psycopg.connect(fresh_db) as conn:
        names = [p.name for p in list_partitions(conn, table)]
    for name in names:
        for statement in (
            f"SELECT * FROM {name}",
            f"DELETE FROM {name}",
            f"UPDATE {name} SET updated_at = now()",
        ):
            with psycopg.connect(fresh_db) as conn:
                as_app(conn, "ana")
                with pytest.raises(pg.InsufficientPrivilege):
                    conn.execute(statement.encode())
    # Even granted a partition, learnstore_app sees none of it: row-level security with no policy.
    with psycopg.connect(fresh_db) as conn:
        conn.execute(f"GRANT SELECT ON {table}_history TO learnstore_app".encode())
        as_app(conn, "ana")
        assert conn.execute(f"SELECT count(*) FROM {table}_history".encode()).fetchone() == (0,)
        conn.rollback()
        # through the parent: the user's own rows, not the other user's
        as_app(conn, "ana")
        assert conn.execute(f"SELECT DISTINCT user_clerk_id FROM {table}".encode()).fetchall() == [("ana",)]
        assert conn.execute(f"DELETE FROM {table} WHERE user_clerk_id = 'bo'".encode()).rowcount == 0
        conn.rollback()
    assert rows(fresh_db, f"SELECT user_clerk_id FROM {table} ORDER BY 1") == [("ana",), ("bo",)]


def test_an_unrelated_user_cannot_write_another_users_login_day_under_as_user(fresh_db: str) -> None:
    users(fresh_db, "ana", "mallory")
    with psycopg.connect(fresh_db) as conn:
        as_app(conn, "mallory")
        with pytest.raises(pg.InsufficientPrivilege):  # the parent's WITH CHECK, on whichever partition
            conn.execute(
                "INSERT INTO login_days (user_clerk_id, day) VALUES ('ana', %s)", [month_after(THIS_MONTH, 3)]
            )
    assert rows(fresh_db, "SELECT count(*) FROM login_days") == [(0,)]


# ---- maintain(), `learnstore maintain`, doctor ---------------------------------------------------------


def test_maintain_creates_months_ahead_and_moves_rows_out_of_the_default_partition(fresh_db: str) -> None:
    users(fresh_db, "ana")
    far = month_after(THIS_MONTH, 9)
    rows(
        fresh_db, "INSERT INTO login_days (user_clerk_id, day) VALUES ('ana', %s)", [far + timedelta(days=4)]
    )
    assert rows(fresh_db, "SELECT count(*) FROM login_days_default") == [(1,)]
    check = partitioned_logs(psycopg.connect(fresh_db, autocommit=True), Target(fresh_db))
    assert (check.outcome, check.failed) == ("warn", False)
    assert "login_days 1" in check.detail and "learnstore maintain" in check.detail

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        done = maintain(conn, ahead=10)
        assert f"login_days_p{far:%Y%m}" in done.created
        assert f"flashcard_reviews_p{month_after(THIS_MONTH, 10):%Y%m}" in done.created
        assert done.dropped == []
        assert default_rows(conn) == {"login_days": 0, "flashcard_reviews": 0}
        assert maintain(conn, ahead=10).created == []  # idempotent
        assert partitioned_logs(conn, Target(fresh_db)).outcome == "pass"
    assert rows(fresh_db, "SELECT tableoid::regclass::text FROM login_days") == [(f"login_days_p{far:%Y%m}",)]
    # the moved row keeps the parent's rules: a duplicate of it is refused by the unique key
    with pytest.raises(pg.UniqueViolation):
        rows(
            fresh_db,
            "INSERT INTO login_days (user_clerk_id, day) VALUES ('ana', %s)",
            [far + timedelta(days=4)],
        )


def test_retention_drops_the_months_past_it_and_keeps_logs_kept_for_ever(fresh_db: str) -> None:
    users(fresh_db, "ana")
    rows(fresh_db, "INSERT INTO login_days (user_clerk_id, day) VALUES ('ana', '2020-01-01')")
    with learnstore.connect(fresh_db, max_size=1) as store:
        store.flashcards.review("ana", card(fresh_db, "ana"), "good")
    later = datetime.combine(month_after(THIS_MONTH, 20), datetime.min.time(), UTC)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        done = maintain(conn, now=later, retention={"flashcard_reviews": 12})
        kept = [p.name for p in list_partitions(conn, "flashcard_reviews")]
    cutoff = month_after(THIS_MONTH, 8)
    assert "flashcard_reviews_history" in done.dropped
    assert all(name.startswith("flashcard_reviews_") for name in done.dropped)
    assert f"flashcard_reviews_p{cutoff:%Y%m}" in kept and "flashcard_reviews_history" not in kept
    assert f"flashcard_reviews_p{month_after(cutoff, -1):%Y%m}" not in kept
    assert rows(fresh_db, "SELECT count(*) FROM flashcard_reviews") == [(0,)]
    assert rows(fresh_db, "SELECT count(*) FROM login_days") == [(1,)]  # login_days: kept for ever


def test_sixteen_maintainers_at_once_create_each_month_once_and_move_each_row_once(fresh_db: str) -> None:
    users(fresh_db, "ana")
    far = month_after(THIS_MONTH, 8)
    rows(
        fresh_db,
        "INSERT INTO login_days (user_clerk_id, day)"
        " SELECT 'ana', %s::date + n FROM generate_series(0, 20) AS n",
        [far],
    )
    barrier = threading.Barrier(16)
    created: list[list[str]] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                barrier.wait()
                created.append(maintain(conn, ahead=9).created)
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    made = [name for names in created for name in names]
    assert len(made) == len(set(made))  # each month by one maintainer
    assert f"login_days_p{far:%Y%m}" in made
    assert rows(fresh_db, "SELECT tableoid::regclass::text, count(*) FROM login_days GROUP BY 1") == [
        (f"login_days_p{far:%Y%m}", 21)
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"ahead": -1}, InvalidValue, "ahead"),
        ({"retention": {"users": 3}}, InvalidValue, "retention"),
        ({"retention": {"login_days": 0}}, InvalidValue, "retention"),
    ],
)
def test_maintain_refuses_bad_settings_and_changes_nothing(
    fresh_db: str, kwargs: dict[str, Any], error: type[Exception], field: str
) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        before = list_partitions(conn, "login_days")
        with pytest.raises(error) as caught:
            maintain(conn, **kwargs)
        assert getattr(caught.value, "field", None) == field
        assert list_partitions(conn, "login_days") == before
        with pytest.raises(NotFound):
            list_partitions(conn, "no_such_table")


def test_the_maintain_command_reports_as_json_and_refuses_a_bad_keep(fresh_db: str) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert (
            main(["maintain", "--dsn", fresh_db, "--ahead", "5", "--keep", "login_days=all", "--json"]) == 0
        )
    report = json.loads(out.getvalue())
    assert f"login_days_p{month_after(THIS_MONTH, 5):%Y%m}" in report["created"]
    assert report["default_rows"] == {"login_days": 0, "flashcard_reviews": 0}
    assert report["folded"] == 0  # no forum, no rollup to fold (tests/test_trending.py folds one)
    assert main(["maintain", "--dsn", fresh_db, "--keep", "login_days=soon"]) == 2


# ---- errors name the parent's constraint, whichever partition raised them ----------------------------


def test_a_duplicate_in_a_monthly_partition_is_named_for_the_parents_key(fresh_db: str) -> None:
    users(fresh_db, "ana")
    day = month_after(THIS_MONTH, 3)
    rows(fresh_db, "INSERT INTO login_days (user_clerk_id, day) VALUES ('ana', %s)", [day])
    with pytest.raises(pg.UniqueViolation) as caught:
        rows(fresh_db, "INSERT INTO login_days (user_clerk_id, day) VALUES ('ana', %s)", [day])
    assert caught.value.diag.constraint_name == f"login_days_p{day:%Y%m}_user_day_key"
    ours = translate(caught.value)
    assert isinstance(ours, AlreadyExists)
    assert (ours.constraint, ours.field) == ("login_days_user_day_key", "day")
    with pytest.raises(pg.CheckViolation) as check:
        rows(
            fresh_db,
            "INSERT INTO flashcard_reviews (user_clerk_id, flashcard_id, review_number, rating, reviewed_at,"
            " state_before, state_after, stability_after, difficulty_after, due_after)"
            " VALUES ('ana', %s, 1, 9, %s, 'new', 'review', 1, 1, %s)",
            [card(fresh_db, "ana"), NOW, NOW + timedelta(days=1)],
        )
    ours = translate(check.value)
    assert isinstance(ours, InvalidValue)
    assert (ours.constraint, ours.field) == ("flashcard_reviews_rating_range", "rating")


# ---- pruning ---------------------------------------------------------------------------------------------


def plan(conn: Conn, name: str, params: dict[str, Any]) -> str:
    query = next(q for q in parse_dir(queries_dir()) if q.name == name)
    found = conn.execute(
        f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {query.psycopg_sql}".encode(), params
    ).fetchall()
    return "\n".join(row[0] for row in found)


def scanned(text: str, table: str) -> set[str]:
    """The partitions of `table` the executed plan read (a pruned one is absent or never executed)."""
    return {
        found.group(1)
        for line in text.splitlines()
        if "(never executed)" not in line and (found := re.search(rf" on ({table}_\w+)", line))
    }


def test_a_login_day_range_reads_only_its_months(fresh_db: str) -> None:
    users(fresh_db, "ana")
    first = month_after(THIS_MONTH, 2)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        maintain(conn, ahead=6)
        conn.execute(
            "INSERT INTO login_days (user_clerk_id, day) SELECT 'ana', d::date"
            " FROM generate_series(%s::date - 400, %s::date + 150, '1 day') AS d",
            [first, first],
        )
        conn.execute("ANALYZE login_days")
        text = plan(
            conn,
            "ListLoginDays",
            {"user_clerk_id": "ana", "since": first + timedelta(days=3), "until": first + timedelta(days=40)},
        )
    assert scanned(text, "login_days") == {
        f"login_days_p{first:%Y%m}",
        f"login_days_p{month_after(first, 1):%Y%m}",
    }, text


def test_the_due_queues_count_of_todays_first_reviews_skips_the_months_before_today(fresh_db: str) -> None:
    # ListDueFlashcards caps new cards by `reviewed_at >= the start of the learner's day`: on a day in
    # a later month, every partition that ends before it is pruned. The day is a parameter here
    # (the query's now() cannot be moved): the same condition, planned as the query plans it.
    users(fresh_db, "ana")
    day_start = datetime.combine(month_after(THIS_MONTH, 3), datetime.min.time(), UTC) + timedelta(days=9)
    count = next(
        line.strip()
        for line in next(q for q in parse_dir(queries_dir()) if q.name == "ListDueFlashcards").sql.split("(")
        if "review_number = 1" in line
    )
    assert "reviewed_at >=" in count
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        found = conn.execute(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM flashcard_reviews r"
            " WHERE r.user_clerk_id = %s AND r.review_number = 1 AND r.reviewed_at >= %s",
            ["ana", day_start],
        ).fetchall()
    text = "\n".join(row[0] for row in found)
    assert scanned(text, "flashcard_reviews") == {
        f"flashcard_reviews_p{month_after(THIS_MONTH, 3):%Y%m}",
        f"flashcard_reviews_p{month_after(THIS_MONTH, 4):%Y%m}",
        "flashcard_reviews_default",
    }, text


# ---- convert_live: a big table partitioned while it is written ---------------------------------------


# A service's own log on the learnstore database, shaped as learnstore's are: a key, a unique key, a
# foreign key to users, a check, the updated_at trigger, a comment, grants and row-level security.
ACTIVITY_LOG = """
CREATE TABLE activity_log (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_clerk_id text NOT NULL,
    at timestamptz NOT NULL,
    kind text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT activity_log_pkey PRIMARY KEY (id),
    CONSTRAINT activity_log_user_at_kind_key UNIQUE (user_clerk_id, at, kind),
    CONSTRAINT activity_log_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT activity_log_kind_valid CHECK (kind IN ('view', 'answer'))
);
COMMENT ON TABLE activity_log IS 'What a learner did, when.';
CREATE INDEX activity_log_at_idx ON activity_log (at);
CREATE TRIGGER activity_log_set_updated_at BEFORE UPDATE ON activity_log
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
GRANT SELECT ON activity_log TO learnstore_app;
GRANT INSERT (user_clerk_id, at, kind) ON activity_log TO learnstore_app;
ALTER TABLE activity_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY activity_log_own_select ON activity_log FOR SELECT
    USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY activity_log_own_insert ON activity_log FOR INSERT
    WITH CHECK (user_clerk_id = (select learnstore_actor()));
"""


def test_convert_live_partitions_a_table_with_rows_while_a_writer_writes(fresh_db: str) -> None:
    users(fresh_db, "ana", "bo", "writer")
    rows(fresh_db, ACTIVITY_LOG)
    rows(
        fresh_db,
        "INSERT INTO activity_log (user_clerk_id, at, kind)"
        " SELECT u, now() - n * interval '17 minutes', 'view'"
        " FROM unnest(ARRAY['ana', 'bo']) AS u, generate_series(1, 50000) AS n",
    )
    before = rows(fresh_db, "SELECT count(*) FROM activity_log")[0][0]
    steps: list[str] = []
    stop = threading.Event()
    written: list[datetime] = []
    failures: list[BaseException] = []

    def write() -> None:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            while not stop.is_set():
                at = datetime.now(UTC)
                try:
                    conn.execute(
                        "INSERT INTO activity_log (user_clerk_id, at, kind) VALUES ('writer', %s, 'answer')",
                        [at],
                    )
                    written.append(at)
                except psycopg.Error as exc:  # pragma: no cover - the assertion below reports it
                    failures.append(exc)
                    return

    writer = threading.Thread(target=write)
    writer.start()
    try:
        bound = convert_live(fresh_db, "activity_log", "at", on_progress=steps.append)
        while len(written) < 3:  # the writer goes on writing through the new parent
            threading.Event().wait(0.01)
    finally:
        stop.set()
        writer.join()
    assert failures == []
    assert steps == ["index", "check", "validate", "swap"]
    assert bound == month_after(THIS_MONTH, 2)
    assert rows(fresh_db, "SELECT count(*) FROM activity_log") == [(before + len(written),)]
    assert rows(fresh_db, "SELECT count(*) FROM ONLY activity_log_history") == [(before + len(written),)]
    with psycopg.connect(fresh_db) as conn:
        parts = list_partitions(conn, "activity_log")
        assert [p.name for p in parts][:2] == ["activity_log_history", f"activity_log_p{bound:%Y%m}"]
        assert parts[-1].name == "activity_log_default"
        as_app(conn, "ana")
        assert conn.execute("SELECT DISTINCT user_clerk_id FROM activity_log").fetchall() == [("ana",)]
        conn.execute("INSERT INTO activity_log (user_clerk_id, at, kind) VALUES ('ana', %s, 'view')", [NOW])
        with pytest.raises(pg.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO activity_log (user_clerk_id, at, kind) VALUES ('bo', %s, 'view')", [NOW]
            )
        conn.rollback()
        as_app(conn, "ana")
        with pytest.raises(pg.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM activity_log_history")
    # keys, foreign key, check, index, trigger and comment are the parent's
    assert rows(
        fresh_db,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        # contype 'n': a NOT NULL, in pg_constraint from PostgreSQL 18 on
        " WHERE conrelid = 'activity_log'::regclass AND contype <> 'n' ORDER BY 1",
    ) == [
        ("activity_log_kind_valid", "CHECK ((kind = ANY (ARRAY['view'::text, 'answer'::text])))"),
        ("activity_log_pkey", "PRIMARY KEY (id, at)"),
        ("activity_log_user_at_kind_key", "UNIQUE (user_clerk_id, at, kind)"),
        (
            "activity_log_user_clerk_id_fkey",
            "FOREIGN KEY (user_clerk_id) REFERENCES users(clerk_id) ON UPDATE CASCADE ON DELETE CASCADE",
        ),
    ]
    assert rows(fresh_db, "SELECT to_regclass('activity_log_at_idx')::text") == [("activity_log_at_idx",)]
    assert rows(
        fresh_db,
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'activity_log'::regclass AND NOT tgisinternal",
    ) == [("activity_log_set_updated_at",)]
    assert rows(fresh_db, "SELECT obj_description('activity_log'::regclass, 'pg_class')") == [
        ("What a learner did, when.",)
    ]
    # a user's new clerk id follows into every partition, through the parent's foreign key
    rows(fresh_db, "UPDATE users SET clerk_id = 'ana2' WHERE clerk_id = 'ana'")
    assert rows(fresh_db, "SELECT count(*) FROM activity_log WHERE user_clerk_id = 'ana2'") == [(50000,)]


def test_convert_live_refuses_what_it_cannot_convert(fresh_db: str) -> None:
    with pytest.raises(InvalidValue, match="partitioned already"):
        convert_live(fresh_db, "login_days", "day")
    with pytest.raises(NotFound):
        convert_live(fresh_db, "no_such_table", "day")
    with pytest.raises(InvalidValue) as caught:
        convert_live(fresh_db, "courses", "no_such_column")
    assert caught.value.field == "column"
    # a unique key without the time column: notifications' like-once key must change first
    with pytest.raises(InvalidValue, match="notifications_like_once_key"):
        convert_live(fresh_db, "notifications", "created_at")
    # refused before anything was built
    assert rows(fresh_db, "SELECT relkind FROM pg_class WHERE oid = 'notifications'::regclass") == [("r",)]
    assert rows(fresh_db, "SELECT to_regclass('notifications_history_pkey')") == [(None,)]
