"""`learnstore demo`: migrate, load the sample platform through the bulk path, and tour it in tables.

The demo owns one database: `learnstore_demo` on the embedded server, or the database of the DSN it is
given. A finished load leaves a marker on the database (a `COMMENT ON DATABASE`), so a re-run finds it
and *reuses* it: it says so and goes straight to the tour. A database without the marker is loaded
only if it is empty; the embedded demo database with a half-finished load is *reset* (dropped and
created again), a database of the user's with other data is refused. `--reset` drops the demo
database, and only one that carries the marker (or the embedded one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from learnstore import migrate, sample
from learnstore._console import Output
from learnstore.errors import Conflict, InvalidValue, translating
from learnstore.store import Store, connect

__all__ = ["DEMO_DATABASE", "TOUR", "Section", "TourContext", "drop", "prepare", "tour"]

#: the database the demo loads on the embedded server (the default database, `learnstore`, stays clean)
DEMO_DATABASE = "learnstore_demo"
#: the start of the marker a finished load writes as the database's comment
MARKER = "learnstore demo sample"
#: the advisory lock that makes concurrent demos load once (an arbitrary constant: "ls demo" in hex-ish)
LOCK_KEY = 0x15DE30


@dataclass(frozen=True)
class Section:
    """One stop of the tour: the Python call, and what it returned as a table."""

    title: str
    call: str
    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]
    caption: str | None = None
    right: tuple[str, ...] = ()


@dataclass(frozen=True)
class TourContext:
    """What the stops share: the featured learner and the course the tree is shown for."""

    learner: str
    course_id: Any


# -- the database -------------------------------------------------------------------------------


def _database(dsn: str) -> str:
    try:
        name = conninfo_to_dict(dsn).get("dbname")
    except psycopg.ProgrammingError as exc:  # libpq could not parse it
        raise InvalidValue(f"invalid DSN: {str(exc).strip()}", field="dsn") from exc
    if not name or name in ("postgres", "template0", "template1"):
        shown = repr(name) if name else "the default database"
        raise InvalidValue(f"the demo needs a database of its own, not {shown}", field="dsn")
    return str(name)


def _server_dsn(dsn: str) -> str:
    """The same server's `postgres` database, to create and drop the demo database from."""
    params: dict[str, Any] = dict(conninfo_to_dict(dsn))
    params["dbname"] = "postgres"
    return make_conninfo(**params)


def _marker(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()"
    ).fetchone()
    comment = row[0] if row else None
    return comment if isinstance(comment, str) and comment.startswith(MARKER) else None


def _holds_data(conn: psycopg.Connection[Any]) -> bool:
    """Whether learnstore's tables exist and hold a user or a course (a database of its own)."""
    row = conn.execute(
        "SELECT to_regclass('users') IS NOT NULL AND to_regclass('courses') IS NOT NULL"
    ).fetchone()
    if not row or not row[0]:
        return False
    row = conn.execute("SELECT EXISTS (SELECT FROM users) OR EXISTS (SELECT FROM courses)").fetchone()
    return bool(row and row[0])


def _recreate(dsn: str) -> None:
    name = _database(dsn)
    with translating(), psycopg.connect(_server_dsn(dsn), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop(out: Output, dsn: str, *, owned: bool) -> None:
    """Drop the demo database; one that is not `owned` (the embedded one) must carry the marker."""
    name = _database(dsn)
    with translating():
        with psycopg.connect(_server_dsn(dsn), autocommit=True, connect_timeout=10) as server:
            found = server.execute("SELECT FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            out.line(f"there is no demo database {name!r}: nothing to drop")
            return
        if not owned:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
                if _marker(conn) is None:
                    raise Conflict(
                        f"database {name!r} was not loaded by `learnstore demo`: the demo drops only its own",
                        field="dsn",
                    )
        with psycopg.connect(_server_dsn(dsn), autocommit=True, connect_timeout=10) as server:
            server.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    out.line(f"dropped the demo database {name!r}; `learnstore demo` loads it again")


@contextmanager
def _exclusive(out: Output, dsn: str, *, owned: bool) -> Iterator[None]:
    """One demo at a time loads a database: a session advisory lock, taken on the server's `postgres`
    database for the embedded demo database (which a reset drops), else on the database itself."""
    where = _server_dsn(dsn) if owned else dsn
    with translating(), psycopg.connect(where, autocommit=True, connect_timeout=10) as conn:
        migrate.take_advisory_lock(
            conn, LOCK_KEY, lambda: out.line("waiting for another `learnstore demo` to finish loading")
        )
        yield  # closing the connection releases the lock


def prepare(out: Output, dsn: str, *, owned: bool) -> str:
    """Make `dsn` hold the sample: 'reused', 'loaded' or 'reset' (a half-finished load started over).

    `owned` is true for the embedded demo database, which the demo may drop and create at will.
    Concurrent calls load once: the others wait, then reuse.
    """
    _database(dsn)  # a DSN that is not one, or names no database of its own, fails before any lock
    with _exclusive(out, dsn, owned=owned):
        return _prepare(out, dsn, owned=owned)


def _prepare(out: Output, dsn: str, *, owned: bool) -> str:
    name = _database(dsn)
    with translating(), psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        marker = _marker(conn)
        if marker is not None:
            out.line(f"reusing the demo database {name!r} ({marker}); `learnstore demo --reset` drops it")
            return "reused"
        dirty = _holds_data(conn)
    outcome = "loaded"
    if dirty:
        if not owned:
            raise Conflict(
                f"database {name!r} holds data and no learnstore demo sample: give `learnstore demo` an "
                "empty database, or no --dsn for the embedded one",
                field="dsn",
            )
        out.line(f"resetting the demo database {name!r}: a load into it did not finish")
        _recreate(dsn)
        outcome = "reset"
    applied = migrate.upgrade(dsn)
    out.line(
        f"migrated {name!r}: {len(applied)} migration(s) applied" if applied else f"{name!r} is migrated"
    )
    started = time.perf_counter()
    with out.progress("loading the sample") as bar:

        def on_rows(table: str, rows: int, total: int) -> None:
            bar.set_total(total)
            bar.advance(rows, table)

        # The history ends now, so that "last activity" and the streak read as this week's.
        report = sample.load(dsn, now=datetime.now(UTC).replace(second=0, microsecond=0), on_rows=on_rows)
        bar.advance(0, "loaded")
    awarded = _award(dsn)
    loaded_at = datetime.now(UTC)
    total = sum(report.rows.values()) + awarded
    with translating(), psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        comment = f"{MARKER}: scale small, seed {sample.SEED}, loaded {loaded_at:%Y-%m-%d %H:%M} UTC"
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(comment))
        )
    out.line(f"loaded {total:,} rows into {name!r} in {time.perf_counter() - started:.1f} s")
    return outcome


#: What the demo's learners can earn: (code, title, rule, points). Created after the load and
#: backfilled in one set-based statement each, so that the tour has a leaderboard.
ACHIEVEMENTS: tuple[tuple[str, str, dict[str, object], int], ...] = (
    ("first_steps", "First steps", {"kind": "lessons_completed", "threshold": 1}, 10),
    ("committed", "Committed", {"kind": "lessons_completed", "threshold": 25}, 50),
    ("on_a_roll", "On a roll", {"kind": "streak_days", "threshold": 7}, 30),
    ("graduate", "Graduate", {"kind": "courses_completed", "threshold": 1}, 100),
)


def _award(dsn: str) -> int:
    """Create the demo's achievements and backfill each for every learner; how many were awarded."""
    with connect(dsn, max_size=1) as store:
        awarded = 0
        for code, title, rule, points in ACHIEVEMENTS:
            achievement = store.achievements.create(code, title, rule, points=points)
            awarded += store.achievements.backfill(achievement.id)
        return awarded


# -- the tour -----------------------------------------------------------------------------------


def _bar_text(percent: int) -> str:
    filled = round(percent / 10)
    return f"{'#' * filled}{'.' * (10 - filled)} {percent:>3}%"


def dashboard(store: Store, ctx: TourContext) -> Section:
    """The learner's courses with progress, most recent activity first."""
    rows = store.progress.list_courses(ctx.learner)
    return Section(
        title="A learner's dashboard",
        call=f"store.progress.list_courses({ctx.learner!r})",
        columns=("course", "progress", "enrolled", "last activity"),
        rows=[
            (
                r.title,
                _bar_text(r.progress),
                f"{r.enrolled_at:%Y-%m-%d}",
                f"{r.last_activity_at:%Y-%m-%d %H:%M}",
            )
            for r in rows
        ],
        caption=f"{len(rows)} courses; `store.progress.get_next_lesson(...)` continues where they left off",
    )


def course_tree(store: Store, ctx: TourContext, *, units: int = 2) -> Section:
    """The table of contents of a course: units and lessons in order, from one query."""
    tree = store.content.get_course_tree(ctx.course_id)
    rows: list[tuple[object, ...]] = []
    for unit in tree.units[:units]:
        for lesson in unit.lessons:
            minutes = round((lesson.duration_seconds or 0) / 60)
            first = lesson.position == unit.lessons[0].position
            rows.append((unit.title if first else "", lesson.title, lesson.content_type, f"{minutes} min"))
    lessons = tree.lessons()
    hours = sum(lesson.duration_seconds or 0 for lesson in lessons) / 3600
    more = len(tree.units) - units
    return Section(
        title=f"A course tree: {tree.course.title}",
        call=f"store.content.get_course_tree(UUID({str(ctx.course_id)!r}))",
        columns=("unit", "lesson", "type", "length"),
        rows=rows,
        caption=(f"... and {more} more units; " if more > 0 else "")
        + f"{len(lessons)} lessons, {hours:.1f} h in all, in one round trip",
        right=("length",),
    )


def discovery(store: Store, ctx: TourContext) -> Section:
    """Published courses matching a web-search style text query, best match first."""
    page = store.catalog.discover(text="data", order="relevance", limit=5)
    return Section(
        title="Discovery: a text search over published courses",
        call="store.catalog.discover(text='data', order='relevance', limit=5)",
        columns=("course", "level", "language", "rating", "tags"),
        rows=[
            (
                c.title,
                c.difficulty,
                c.language_code or "",
                f"{c.average_rating} ({c.rating_count})" if c.average_rating is not None else "-",
                ", ".join(c.tags),
            )
            for c in page.items
        ],
        caption="pass page.next_cursor as after= for the next page (keyset pagination)",
        right=("rating",),
    )


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def streak(store: Store, ctx: TourContext) -> Section:
    """Record today's activity on the learner's local calendar day: the streak comes back with it."""
    result = store.users.record_activity(ctx.learner)
    return Section(
        title="A streak: today's activity recorded",
        call=f"store.users.record_activity({ctx.learner!r})",
        columns=("learner", "current streak", "longest streak", "last active day"),
        rows=[
            (
                result.user_clerk_id,
                _days(result.current_streak),
                _days(result.longest_streak),
                str(result.last_active_date),
            )
        ],
        caption="idempotent per local day: run the demo again today and the streak stays put",
        right=("current streak", "longest streak"),
    )


def leaderboard(store: Store, ctx: TourContext) -> Section:
    """The points leaderboard of the learner's course: the top five, and the learner's own rank."""
    rows = store.achievements.leaderboard(ctx.learner, course_id=ctx.course_id, top=5)
    return Section(
        title="A leaderboard: points from achievements, in the learner's course",
        call=(
            f"store.achievements.leaderboard({ctx.learner!r}, course_id=UUID({str(ctx.course_id)!r}), top=5)"
        ),
        columns=("rank", "learner", "points", "achievements"),
        rows=[
            (
                row.rank,
                " ".join(filter(None, (row.first_name, row.last_name))) or row.user_clerk_id,
                row.points,
                row.achievements,
            )
            for row in rows
        ],
        caption="the asking learner's own row comes last when they are not in the top five",
        right=("rank", "points", "achievements"),
    )


#: the tour's stops, in order; a stop is a function (store, context) -> Section
TOUR: tuple[Callable[[Store, TourContext], Section], ...] = (
    dashboard,
    course_tree,
    discovery,
    streak,
    leaderboard,
)


def context(store: Store, learner: str = sample.DEMO_LEARNER) -> TourContext:
    """The featured learner, and the flagship course among theirs (their first course otherwise)."""
    courses = store.progress.list_courses(learner)
    chosen = next((c for c in courses if c.title == sample.FLAGSHIP_TITLE), courses[0] if courses else None)
    if chosen is None:
        raise Conflict(f"the demo learner {learner!r} has no courses: `learnstore demo --reset`", field="dsn")
    return TourContext(learner=learner, course_id=chosen.course_id)


def tour(dsn: str, stops: Sequence[Callable[[Store, TourContext], Section]] = TOUR) -> list[Section]:
    """Run each stop of the tour against the demo database."""
    with connect(dsn, max_size=2) as store:
        ctx = context(store)
        return [stop(store, ctx) for stop in stops]


def show(out: Output, dsn: str, sections: Sequence[Section]) -> None:
    """Print the tour: how to open the same store, then each call and its table."""
    out.line()
    out.line("The tour. Open the same store in Python and try each call yourself:", "bold")
    out.line("    import learnstore")
    out.line("    from uuid import UUID")
    out.line(f"    store = learnstore.connect({dsn!r})")
    out.line()
    for section in sections:
        out.line(f"== {section.title}", "bold")
        out.line(f">>> {section.call}", "cyan")
        out.table(section.columns, section.rows, right=section.right)
        if section.caption:
            out.line(section.caption, "dim")
        out.line()
    out.line("Next: docs/getting-started.md wires the same store into a FastAPI service.", "bold")
