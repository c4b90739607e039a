"""A realistic, deterministic learning platform to try learnstore on, loaded through its bulk path.

`learnstore demo` loads the small scale into the embedded server; the benchmark suite (`bench/`) loads
either scale into its own database. Users, courses (with units and lessons), enrolments, lesson
progress and login days go in through `store.imports` (binary COPY, validated); languages and tags
through `store.catalog`. The tables learnstore has no bulk path for (notifications, feedback) are
copied with plain binary COPY. The same seed, scale and `now` always give the same rows, ids included.
`stream` makes them in batches, which `load` writes as they come: the million scale's 20 million
lesson statuses are never in memory at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from functools import partial
from itertools import accumulate
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg

from learnstore.repositories.imports import CourseImport, EnrolmentRecord, LoginDayRecord, ProgressRecord
from learnstore.store import Store, connect

__all__ = [
    "DEMO_LEARNER",
    "FLAGSHIP_TITLE",
    "NOW",
    "SCALES",
    "SEED",
    "Batch",
    "Dataset",
    "LoadReport",
    "Scale",
    "clerk_id",
    "generate",
    "load",
    "stream",
]

SEED = 20240501
#: the instant the history ends: a fixed date, so that reruns give the same rows
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

#: the featured learner of the demo: enrolled in the flagship and nine other courses, like bench's learners
DEMO_LEARNER = "user_demo"
FLAGSHIP_TITLE = "Python for data engineering: the flagship course"


@dataclass(frozen=True)
class Scale:
    """How much of everything a dataset holds."""

    name: str
    users: int
    courses: int
    units: tuple[int, int]  # per course, inclusive range
    lessons: tuple[int, int]  # per unit
    enrolments: tuple[int, int]  # per user
    progress_rows: int  # roughly, in all
    login_days: int  # per user, on average
    notifications: int  # per user, on average
    tags: int
    feedback_share: float  # of enrolments that leave a rating
    import_learners: int  # enrolled without progress: what the import benchmark imports


SCALES = {
    "small": Scale("small", 1_000, 20, (3, 6), (3, 8), (1, 4), 20_000, 20, 10, 30, 0.2, 60),
    "large": Scale("large", 50_000, 1_000, (3, 7), (3, 9), (2, 6), 1_050_000, 12, 6, 200, 0.2, 1_000),
    # 20x the users and 10x the courses of large (a course's audience grows with the platform), 3
    # enrolments a learner (most of a million sign up for one or two courses) and ~6.7 statuses an
    # enrolment: 20M lesson statuses. A third of large's login days and notifications a user keeps the
    # logs (4M and 2M rows) next to the statuses, not ahead of them (docs/scaling.md#growth).
    "million": Scale("million", 1_000_000, 10_000, (3, 7), (3, 9), (1, 5), 20_000_000, 4, 2, 300, 0.2, 1_000),
}

_TOPICS = (
    "python", "sql", "rust", "statistics", "machine learning", "postgres", "typescript", "go",
    "linear algebra", "spanish", "french", "photography", "drawing", "music theory", "economics",
    "writing", "kubernetes", "networking", "security", "cooking",
)  # fmt: skip
_LEVELS = ("A gentle introduction to", "Practical", "Advanced", "The foundations of", "Hands-on", "Mastering")
_WORDS = (
    "data", "systems", "patterns", "projects", "exercises", "theory", "practice", "history", "tools",
    "performance", "design", "testing", "craft", "habits", "errors", "models", "queries", "pipelines",
)  # fmt: skip
_ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "America/Sao_Paulo", "Australia/Sydney")
_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Linus")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Perlman")
_LANGUAGES = (
    ("en", "English"),
    ("fr", "French"),
    ("de", "German"),
    ("es", "Spanish"),
    ("pt-BR", "Portuguese"),
)


def _uuid(rnd: random.Random) -> UUID:
    return UUID(int=rnd.getrandbits(128), version=4)


def clerk_id(i: int) -> str:
    return f"user_{i:06d}"


@dataclass
class Dataset:
    """Everything the generator decided, before any of it is written."""

    scale: Scale
    users: list[dict[str, Any]] = field(default_factory=list)
    courses: list[CourseImport] = field(default_factory=list)
    course_tags: list[tuple[UUID, list[str]]] = field(default_factory=list)
    enrolments: list[EnrolmentRecord] = field(default_factory=list)
    progress: list[ProgressRecord] = field(default_factory=list)
    login_days: list[LoginDayRecord] = field(default_factory=list)
    notifications: list[tuple[Any, ...]] = field(default_factory=list)
    feedback: list[tuple[Any, ...]] = field(default_factory=list)


def _lesson(rnd: random.Random, title: str, position: int) -> dict[str, Any]:
    kind = ("video", "text", "exercise", "audio")[position % 4]
    contents: dict[str, dict[str, Any]] = {
        "video": {"url": f"https://cdn.example.com/v/{rnd.getrandbits(48):x}.mp4", "duration_seconds": 300},
        "audio": {"url": f"https://cdn.example.com/a/{rnd.getrandbits(48):x}.mp3"},
        "text": {"body": f"# {title}\n\n" + " ".join(rnd.choices(_WORDS, k=60))},
        "exercise": {"prompt": f"Practise {title.lower()}.", "hints": ["Start small."]},
    }
    content = contents[kind]
    return {
        "id": _uuid(rnd),
        "title": title,
        "content_type": kind,
        "content": content,
        "duration_seconds": rnd.randint(120, 1800),
    }


def _course(
    rnd: random.Random, index: int, scale: Scale, author: str, language_ids: list[UUID], now: datetime
) -> CourseImport:
    topic = _TOPICS[index % len(_TOPICS)]
    flagship = index == 0
    n_units = 10 if flagship else rnd.randint(*scale.units)
    units = []
    for u in range(n_units):
        n_lessons = 5 if flagship else rnd.randint(*scale.lessons)
        lessons = [_lesson(rnd, f"{topic.title()} {u + 1}.{k + 1}", k) for k in range(n_lessons)]
        units.append({"id": _uuid(rnd), "title": f"Unit {u + 1}: {rnd.choice(_WORDS)}", "lessons": lessons})
    created = now - timedelta(days=400 + rnd.randint(0, 600))
    published = index % 10 != 9  # one course in ten is a draft
    return CourseImport.model_validate(
        {
            "id": _uuid(rnd),
            "author_clerk_id": author,
            "title": FLAGSHIP_TITLE
            if flagship
            else f"{rnd.choice(_LEVELS)} {topic} {rnd.choice(_WORDS)} #{index}",
            "description": f"Learn {topic} through {rnd.choice(_WORDS)} and {rnd.choice(_WORDS)}. "
            + " ".join(rnd.choices(_WORDS, k=25)),
            "difficulty": ("beginner", "intermediate", "advanced")[index % 3],
            "estimated_duration_minutes": 30 * n_units,
            "learning_objectives": [f"Understand {w}" for w in rnd.sample(_WORDS, 3)],
            "language_id": language_ids[index % len(language_ids)],
            "status": "published" if published else "draft",
            "published_at": created + timedelta(days=rnd.randint(1, 300)) if published else None,
            "created_at": created,
            "units": units,
        }
    )


@dataclass(frozen=True)
class Batch:
    """Rows of one `Dataset` field (`table`), in the order the generator decided them."""

    table: str
    rows: list[Any]


@dataclass(frozen=True)
class _Outline:
    """What enrolling in a course needs of it: kept instead of the course, whose lessons' contents
    would hold gigabytes at the million scale."""

    id: UUID
    lessons: list[UUID]


#: how many learners one batch of enrolments (with their progress and ratings), login days or
#: notifications covers: about 200,000 lesson statuses a batch at every scale
LEARNERS_PER_BATCH = 10_000
USERS_PER_BATCH = 20_000
COURSES_PER_BATCH = 100


def _slices(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stream(
    scale: Scale,
    language_ids: list[UUID],
    seed: int = SEED,
    *,
    featured: Sequence[str] = (DEMO_LEARNER,),
    now: datetime = NOW,
) -> Iterator[Batch]:
    """The dataset of a scale as batches, its history ending at `now`: the same arguments give the
    same rows, and at most one batch of learners' rows is alive at a time (the million scale's
    20 million lesson statuses never are), whoever consumes them.

    Each `featured` learner is enrolled in the flagship course (10 units of 5 lessons, 20 completed)
    and nine other courses (3 lessons completed each), and has 200 notifications: a dashboard with
    something on it, the same for each of them.
    """
    rnd = random.Random(f"{seed}:{scale.name}")
    learners = [clerk_id(i) for i in range(scale.users)]
    importers = [f"import_{i:05d}" for i in range(scale.import_learners)]
    everyone = [*featured, *learners, *importers]
    for first in range(0, len(everyone), USERS_PER_BATCH):
        users = [
            {
                "clerk_id": cid,
                "email": f"{cid}@example.com",
                "first_name": _FIRST[i % len(_FIRST)],
                "last_name": _LAST[i % len(_LAST)],
                "timezone": _ZONES[i % len(_ZONES)],
            }
            for i, cid in enumerate(everyone[first : first + USERS_PER_BATCH], first)
        ]
        yield Batch("users", users)
    del everyone

    # The random draws happen in one order whatever the batch sizes: the courses, their tags, the
    # enrolments of everyone, then the login days of everyone, then the notifications.
    authors = learners[: max(5, scale.courses // 4)]
    outlines: list[_Outline] = []
    is_published: list[bool] = []
    for first in range(0, scale.courses, COURSES_PER_BATCH):
        courses = [
            _course(rnd, i, scale, authors[i % len(authors)], language_ids, now)
            for i in range(first, min(first + COURSES_PER_BATCH, scale.courses))
        ]
        for made in courses:
            assert made.id is not None
            lessons = [lesson.id for unit in made.units for lesson in unit.lessons]
            outlines.append(_Outline(made.id, [lesson for lesson in lessons if lesson is not None]))
            is_published.append(made.status == "published")
        yield Batch("courses", courses)
    tag_names = [*_TOPICS, *(f"{topic} {word}" for word in _WORDS for topic in _TOPICS)][: scale.tags]
    course_tags = []
    for i, outline in enumerate(outlines):
        names = [tag_names[i % len(tag_names)], *rnd.sample(tag_names, rnd.randint(0, 3))]
        course_tags.append((outline.id, list(dict.fromkeys(names))))
    yield Batch("course_tags", course_tags)

    published = [outline for outline, yes in zip(outlines, is_published, strict=True) if yes]
    weights = [1 / (rank + 1) ** 0.7 for rank in range(len(published))]  # a few courses are popular
    # `choices` with cum_weights draws exactly what it draws with weights, without summing them each call
    cum_weights = list(accumulate(weights))
    per_enrolment = scale.progress_rows / (scale.users * sum(scale.enrolments) / 2)
    zones = {name: ZoneInfo(name) for name in _ZONES}

    enrolments: list[EnrolmentRecord] = []
    progress: list[ProgressRecord] = []
    feedback: list[tuple[Any, ...]] = []

    def enrol(cid: str, course: _Outline, lessons_done: int, with_progress: bool = True) -> None:
        enrolled = now - timedelta(days=rnd.randint(10, 365), minutes=rnd.randint(0, 1440))
        enrolments.append(EnrolmentRecord(cid, course.id, enrolled))
        if not with_progress:
            return
        at = enrolled
        for n, lesson_id in enumerate(course.lessons[: lessons_done + 1]):
            started = at + timedelta(minutes=rnd.randint(1, 600))
            if n < lessons_done:
                at = started + timedelta(minutes=rnd.randint(5, 120))
                progress.append(ProgressRecord(cid, lesson_id, "completed", started, at))
            elif rnd.random() < 0.5:
                progress.append(ProgressRecord(cid, lesson_id, "in_progress", started))
        if rnd.random() < scale.feedback_share:
            comment = rnd.choice((None, "Clear and practical.", "Too fast for me.", "Loved the exercises!"))
            feedback.append((course.id, cid, rnd.choices((1, 2, 3, 4, 5), (1, 1, 3, 6, 8))[0], comment))

    def enrolled() -> Iterator[Batch]:
        nonlocal enrolments, progress, feedback
        yield Batch("enrolments", enrolments)
        yield Batch("progress", progress)
        yield Batch("feedback", feedback)
        enrolments, progress, feedback = [], [], []

    for cid in featured:
        # The flagship (50 lessons, 20 completed) and nine other courses.
        enrol(cid, outlines[0], 20)
        for other in published[1:10]:
            enrol(cid, other, 3)
    for chunk in _slices(learners, LEARNERS_PER_BATCH):
        for cid in chunk:
            count = rnd.randint(*scale.enrolments)
            chosen: dict[UUID, _Outline] = {}
            while len(chosen) < min(count, len(published)):
                course = rnd.choices(published, cum_weights=cum_weights)[0]
                chosen[course.id] = course
            for course in chosen.values():
                done = min(len(course.lessons), int(rnd.random() * 2 * per_enrolment))
                enrol(cid, course, done)
        yield from enrolled()
    for i, cid in enumerate(importers):
        for course in published[i % 7 : i % 7 + 10]:
            enrol(cid, course, 0, with_progress=False)
    yield from enrolled()

    active = [*featured, *learners]
    for first in range(0, len(active), LEARNERS_PER_BATCH):
        login_days = []
        for i, cid in enumerate(active[first : first + LEARNERS_PER_BATCH], first):
            zone = zones[_ZONES[i % len(_ZONES)]]
            day = (now - timedelta(days=rnd.randint(0, 20))).date()
            for _ in range(rnd.randint(0, 2 * scale.login_days)):
                seen = datetime.combine(day, day_time(rnd.randint(6, 22), rnd.randint(0, 59)), zone)
                login_days.append(LoginDayRecord(cid, day, seen))
                day -= timedelta(days=1 if rnd.random() < 0.8 else rnd.randint(2, 5))
        yield Batch("login_days", login_days)

    kinds = ("reply", "mention", "like", "system")
    for chunk in _slices(active, LEARNERS_PER_BATCH):
        notifications: list[tuple[Any, ...]] = []
        for cid in chunk:
            n = 200 if cid in featured else rnd.randint(0, 2 * scale.notifications)
            for k in range(n):
                kind = kinds[k % 4]
                created = now - timedelta(minutes=rnd.randint(0, 60 * 24 * 90))
                read = created + timedelta(hours=1) if rnd.random() < 0.6 else None
                notifications.append(
                    (
                        cid,
                        kind,
                        f"Someone {kind}d in one of your courses (#{k})",
                        None,
                        None,
                        {},
                        read,
                        created,
                    )
                )
        yield Batch("notifications", notifications)


def generate(
    scale: Scale,
    language_ids: list[UUID],
    seed: int = SEED,
    *,
    featured: Sequence[str] = (DEMO_LEARNER,),
    now: datetime = NOW,
) -> Dataset:
    """The whole dataset of a scale in memory (`stream`'s batches gathered): the same arguments give
    the same rows. For the small and large scales; `load` streams."""
    data = Dataset(scale)
    for batch in stream(scale, language_ids, seed, featured=featured, now=now):
        getattr(data, batch.table).extend(batch.rows)
    return data


# -- loading ----------------------------------------------------------------------------------------

#: called after each batch is written: (table, rows in the batch, rows of the whole dataset)
OnRows = Callable[[str, int, int], None]


@dataclass
class LoadReport:
    """Rows and seconds per table of one load, and the seconds spent generating the rows."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    total: int = 0
    on_rows: OnRows | None = None
    generating: float = 0.0

    def timed(self, table: str, rows: int, run: Callable[[], object]) -> None:
        started = time.perf_counter()
        run()
        elapsed = time.perf_counter() - started
        self.rows[table] = self.rows.get(table, 0) + rows
        self.seconds[table] = self.seconds.get(table, 0.0) + elapsed
        if self.on_rows is not None:
            self.on_rows(table, rows, self.total)

    def table(self) -> str:
        """The report as a Markdown table: each table's writes, then the generator's time."""
        lines = ["| table | rows | seconds | rows/s |", "|---|---:|---:|---:|"]
        for name, count in self.rows.items():
            spent = max(self.seconds[name], 1e-9)
            lines.append(f"| {name} | {count:,} | {spent:.1f} | {count / spent:,.0f} |")
        total_rows, total_seconds = sum(self.rows.values()), max(sum(self.seconds.values()), 1e-9)
        lines.append(
            f"| **all** | {total_rows:,} | {total_seconds:.1f} | {total_rows / total_seconds:,.0f} |"
        )
        lines.append(f"| generating the rows (Python) | | {self.generating:.1f} | |")
        return "\n".join(lines)


def _copy(
    conn: psycopg.Connection[Any], statement: str, types: list[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def estimated_rows(scale: Scale) -> int:
    """About how many rows `load` writes at `scale` (a progress bar's total: the exact count is known
    only once the rows are generated, and they are never all held at once)."""

    def mean(bounds: tuple[int, int]) -> float:
        return sum(bounds) / 2

    lessons = scale.courses * (1 + mean(scale.units) * (1 + mean(scale.lessons)))
    enrolments = scale.users * mean(scale.enrolments) + 10 * scale.import_learners
    return round(
        scale.users
        + scale.import_learners
        + lessons
        + 2.5 * scale.courses  # tags
        + enrolments * (1 + scale.feedback_share)
        + scale.progress_rows
        + scale.users * (scale.login_days + scale.notifications)
    )


_NOTIFICATIONS_COPY = (
    "COPY notifications (user_clerk_id, type, message, source_id, source_type, metadata, read_at,"
    " created_at) FROM STDIN (FORMAT BINARY)"
)
_NOTIFICATION_TYPES = ["text", "text", "text", "uuid", "text", "jsonb", "timestamptz", "timestamptz"]
_FEEDBACK_COPY = "COPY course_feedback (course_id, user_clerk_id, rating, comment) FROM STDIN (FORMAT BINARY)"


def _silent(_: str) -> None:
    pass


def load(
    dsn: str,
    scale: Scale | None = None,
    *,
    seed: int = SEED,
    featured: Sequence[str] = (DEMO_LEARNER,),
    now: datetime = NOW,
    say: Callable[[str], None] = _silent,
    on_rows: OnRows | None = None,
) -> LoadReport:
    """Generate the dataset of `scale` (default: small) and write it into the migrated, empty
    database of `dsn`, batch by batch as `stream` makes them; `say` hears each phase, `on_rows`
    each batch written (for a progress bar)."""
    scale = scale or SCALES["small"]
    report = LoadReport(on_rows=on_rows, total=estimated_rows(scale))
    phases = {
        "users": "loading users",
        "courses": "loading courses, units and lessons",
        "course_tags": "tagging courses",
        "enrolments": "loading enrolments, lesson statuses and ratings",
        "login_days": "loading login days",
        "notifications": "loading notifications (plain COPY)",
    }
    with connect(dsn, max_size=2) as store, psycopg.connect(dsn, autocommit=True) as conn:
        languages = [store.catalog.create_language(code, name).id for code, name in _LANGUAGES]
        say(f"generating and loading the {scale.name} dataset (seed {seed})")
        if on_rows is not None:
            on_rows("generated", 0, report.total)
        batches = stream(scale, languages, seed, featured=featured, now=now)
        while True:
            started = time.perf_counter()
            batch = next(batches, None)
            report.generating += time.perf_counter() - started
            if batch is None:
                break
            if batch.table in phases:
                say(phases.pop(batch.table))
            _write(store, conn, batch, report)
        say("VACUUM ANALYZE")
        conn.execute("VACUUM ANALYZE")
    return report


def _write(store: Store, conn: psycopg.Connection[Any], batch: Batch, report: LoadReport) -> None:
    """One batch into its table(s): through `store.imports` where learnstore has a bulk path."""
    rows = batch.rows
    if not rows:
        return
    match batch.table:
        case "users":
            report.timed("users", len(rows), partial(store.imports.import_users, rows))
        case "courses":
            count = len(rows) + sum(len(c.units) + sum(len(u.lessons) for u in c.units) for c in rows)
            report.timed("courses+units+lessons", count, partial(store.imports.import_courses, rows))
        case "course_tags":
            for course_id, names in rows:
                report.timed("course_tags", len(names), partial(store.catalog.attach_tags, course_id, names))
        case "enrolments":
            report.timed("user_courses", len(rows), partial(store.imports.import_enrolments, rows))
        case "progress":
            report.timed("user_progress", len(rows), partial(store.imports.import_progress, rows))
        case "login_days":
            report.timed("login_days", len(rows), partial(store.imports.import_login_days, rows))
        case "notifications":
            copy = partial(_copy, conn, _NOTIFICATIONS_COPY, _NOTIFICATION_TYPES, rows)
            report.timed("notifications", len(rows), copy)
        case "feedback":
            copy = partial(_copy, conn, _FEEDBACK_COPY, ["uuid", "text", "int4", "text"], rows)
            report.timed("course_feedback", len(rows), copy)
        case other:
            raise ValueError(f"no table for a batch of {other!r}")
