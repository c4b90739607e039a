"""Flashcards and recommendations, measured: learnstore beside raw psycopg (the same SQL, prepared) and
the SQLAlchemy ORM, interleaved in one process as bench/run.py does; then a set import, one statement
(unnest) against COPY.

    python -m bench.flashcards_ops --dsn postgresql://postgres@127.0.0.1:5432/learnstore_bench_<you>

The database gets the benchmark dataset of `--scale` (bench/dataset.py) if it has none, then a deck
per writer and a reader with 300 due cards and 200 new ones (kept between runs).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from fsrs import Card, Rating, State
from sqlalchemy import ForeignKey, create_engine, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bench import dataset
from bench.peers.orm import Base, Course, CourseFeedback, UserCourse, course_tags
from bench.peers.raw import RawSync, sql
from bench.run import _interleave
from learnstore import Store
from learnstore.repositories.flashcards import DEFAULT_SCHEDULER, mastery_of

READER = "bench_fc_reader"
WRITERS = {"learnstore": "bench_fc_learnstore", "raw": "bench_fc_raw", "orm": "bench_fc_orm"}
DECK = 200  # cards per writer: round r reviews card r % DECK
GRADES = (Rating.Good, Rating.Good, Rating.Hard, Rating.Easy, Rating.Again)
_STATE = {State.Learning: "learning", State.Review: "review", State.Relearning: "relearning"}
_STATES = {name: state for state, name in _STATE.items()}


# -- the ORM's models of the flashcard tables ----------------------------------------------------


class FlashcardSet(Base):
    __tablename__ = "flashcard_sets"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    owner_clerk_id: Mapped[str]
    is_public: Mapped[bool]
    created_at: Mapped[datetime]


class Flashcard(Base):
    __tablename__ = "flashcards"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    set_id: Mapped[UUID] = mapped_column(ForeignKey("flashcard_sets.id"))
    front: Mapped[str]
    back: Mapped[str]
    position: Mapped[int]


class FlashcardProgress(Base):
    __tablename__ = "user_flashcard_progress"
    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    user_clerk_id: Mapped[str]
    flashcard_id: Mapped[UUID] = mapped_column(ForeignKey("flashcards.id"))
    repetitions: Mapped[int]
    interval_days: Mapped[int]
    mastery: Mapped[int]
    next_review_at: Mapped[datetime]
    last_reviewed_at: Mapped[datetime | None]
    state: Mapped[str]
    step: Mapped[int | None]
    stability: Mapped[float | None]
    difficulty: Mapped[float | None]


class FlashcardReviewRow(Base):
    __tablename__ = "flashcard_reviews"
    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    user_clerk_id: Mapped[str]
    flashcard_id: Mapped[UUID]
    review_number: Mapped[int]
    rating: Mapped[int]
    reviewed_at: Mapped[datetime]
    elapsed_days: Mapped[int | None]
    state_before: Mapped[str]
    step_before: Mapped[int | None]
    stability_before: Mapped[float | None]
    difficulty_before: Mapped[float | None]
    due_before: Mapped[datetime | None]
    state_after: Mapped[str]
    step_after: Mapped[int | None]
    stability_after: Mapped[float]
    difficulty_after: Mapped[float]
    due_after: Mapped[datetime]


# -- the data -----------------------------------------------------------------------------------


def seed(conn: psycopg.Connection[Any]) -> dict[str, list[UUID]]:
    """A deck of DECK cards per writer, and the reader's queue; idempotent. Returns each writer's cards."""
    for clerk_id in (READER, *WRITERS.values()):
        conn.execute("INSERT INTO users (clerk_id) VALUES (%s) ON CONFLICT DO NOTHING", [clerk_id])
    store = Store.on(conn)
    decks: dict[str, list[UUID]] = {}
    for name, clerk_id in WRITERS.items():
        sets = store.flashcards.list_user_sets(clerk_id)
        if not sets:
            store.flashcards.import_set(clerk_id, "Bench", [(f"front {i}", f"back {i}") for i in range(DECK)])
            sets = store.flashcards.list_user_sets(clerk_id)
        decks[name] = [card.id for card in store.flashcards.list_cards(clerk_id, sets[0].id)]
    if not store.flashcards.list_user_sets(READER):
        reviewed = store.flashcards.import_set(READER, "Reviewed", [(f"r {i}", f"b {i}") for i in range(500)])
        store.flashcards.import_set(READER, "New", [(f"n {i}", f"b {i}") for i in range(200)])
        # 500 cards reviewed once, 300 of them due (the most overdue a day ago), 200 due in a week
        conn.execute(
            """
            INSERT INTO user_flashcard_progress (user_clerk_id, flashcard_id, repetitions, mastery, state,
                                                 stability, difficulty, last_reviewed_at, next_review_at)
            SELECT %s, f.id, 1, 2, 'review', 3.2, 5.0, now() - interval '10 days',
                   CASE WHEN f.position < 300 THEN now() - make_interval(mins => 5 * f.position + 1)
                        ELSE now() + interval '7 days' END
            FROM flashcards f WHERE f.set_id = %s
            """,
            [READER, reviewed.set.id],
        )
    return decks


def seed_at_scale(conn: psycopg.Connection[Any], learners: int) -> None:
    """Flashcards for the plan checks at the large scale: a public set of 50 cards for each of the
    first 1,000 users, and 40 reviewed cards (with their first review logged) for each of the first
    `learners` users, a quarter of them due; idempotent (kept in bench_meta's database)."""
    if conn.execute("SELECT count(*) FROM flashcard_sets WHERE title = 'Scale'").fetchone() != (0,):
        return
    with conn.transaction():
        _seed_at_scale(conn, learners)
    for table in ("flashcard_sets", "flashcards", "user_flashcard_progress", "flashcard_reviews"):
        conn.execute(f"ANALYZE {table}")


def _seed_at_scale(conn: psycopg.Connection[Any], learners: int) -> None:
    conn.execute(
        """
        WITH s AS (
            INSERT INTO flashcard_sets (owner_clerk_id, title, is_public)
            SELECT clerk_id, 'Scale', true FROM users
            WHERE clerk_id LIKE 'user_%%' ORDER BY clerk_id LIMIT 1000
            RETURNING id
        )
        INSERT INTO flashcards (set_id, front, back, position)
        SELECT s.id, 'front ' || n, 'back ' || n, n FROM s, generate_series(0, 49) n
        """
    )
    conn.execute(
        """
        WITH learners AS (
            SELECT clerk_id, row_number() OVER (ORDER BY clerk_id) AS i
            FROM users WHERE clerk_id LIKE 'user_%%' ORDER BY clerk_id LIMIT %(learners)s
        ), cards AS (
            SELECT f.id, row_number() OVER (ORDER BY f.id) AS j
            FROM flashcards f JOIN flashcard_sets s ON s.id = f.set_id WHERE s.title = 'Scale'
        ), picked AS (
            SELECT l.clerk_id, c.id AS flashcard_id, k
            FROM learners l
            CROSS JOIN generate_series(0, 39) k
            JOIN cards c ON c.j = 1 + (l.i * 41 + k * 997) %% 50000
        ), progress AS (
            INSERT INTO user_flashcard_progress (user_clerk_id, flashcard_id, repetitions, mastery, state,
                                                 stability, difficulty, last_reviewed_at, next_review_at)
            SELECT clerk_id, flashcard_id, 1, 2, 'review', 3.0, 5.0, now() - interval '4 days',
                   now() + make_interval(hours => (k - 10) * 12)
            FROM picked
            ON CONFLICT DO NOTHING
            RETURNING user_clerk_id, flashcard_id, last_reviewed_at, next_review_at
        )
        INSERT INTO flashcard_reviews (
            user_clerk_id, flashcard_id, review_number, rating, reviewed_at,
            state_before, state_after, stability_after, difficulty_after, due_after)
        SELECT user_clerk_id, flashcard_id, 1, 3, last_reviewed_at, 'new', 'review', 3.0, 5.0,
               greatest(next_review_at, last_reviewed_at + interval '1 minute')
        FROM progress
        """,
        {"learners": learners},
    )


# -- review a card: the ORM's way, and raw psycopg's ----------------------------------------------


def _fsrs_review(
    state: str | None,
    step: int | None,
    stability: float | None,
    difficulty: float | None,
    due: datetime | None,
    last: datetime | None,
    rating: Rating,
    when: datetime,
) -> Card:
    card = (
        Card(card_id=0)
        if last is None or state in (None, "new")
        else Card(
            card_id=0,
            state=_STATES[state],
            step=step,
            stability=stability,
            difficulty=difficulty,
            due=due,
            last_review=last.astimezone(UTC),
        )
    )
    after, _ = DEFAULT_SCHEDULER.review_card(card, rating, review_datetime=when)
    return after


def orm_review(session: Session, clerk_id: str, card_id: UUID, rating: Rating) -> FlashcardProgress:
    """Load the card (checking the learner may see it) and the learner's progress, schedule with fsrs,
    update the progress object and add the log row, commit: the unit of work."""
    visible = session.scalars(
        select(Flashcard.id)
        .join(FlashcardSet, FlashcardSet.id == Flashcard.set_id)
        .where(Flashcard.id == card_id, (FlashcardSet.is_public) | (FlashcardSet.owner_clerk_id == clerk_id))
    ).one_or_none()
    if visible is None:
        raise LookupError(card_id)
    progress = session.scalars(
        select(FlashcardProgress)
        .where(FlashcardProgress.user_clerk_id == clerk_id, FlashcardProgress.flashcard_id == card_id)
        .with_for_update()
    ).one_or_none()
    when = datetime.now(UTC)
    before_state = progress.state if progress and progress.last_reviewed_at else "new"
    after = _fsrs_review(
        progress.state if progress else None,
        progress.step if progress else None,
        progress.stability if progress else None,
        progress.difficulty if progress else None,
        progress.next_review_at if progress else None,
        progress.last_reviewed_at if progress else None,
        rating,
        when,
    )
    assert after.stability is not None and after.difficulty is not None
    log = FlashcardReviewRow(
        user_clerk_id=clerk_id,
        flashcard_id=card_id,
        review_number=(progress.repetitions if progress else 0) + 1,
        rating=int(rating),
        reviewed_at=when,
        elapsed_days=(when - progress.last_reviewed_at).days
        if progress and progress.last_reviewed_at
        else None,
        state_before=before_state,
        step_before=progress.step if progress else None,
        stability_before=progress.stability if progress else None,
        difficulty_before=progress.difficulty if progress else None,
        due_before=progress.next_review_at if progress else None,
        state_after=_STATE[after.state],
        step_after=after.step,
        stability_after=after.stability,
        difficulty_after=after.difficulty,
        due_after=after.due,
    )
    if progress is None:
        progress = FlashcardProgress(user_clerk_id=clerk_id, flashcard_id=card_id, repetitions=0)
        session.add(progress)
    progress.repetitions += 1
    progress.interval_days = max(0, (after.due - when).days)
    progress.mastery = mastery_of(after.state, after.stability)
    progress.next_review_at = after.due
    progress.last_reviewed_at = when
    progress.state = _STATE[after.state]
    progress.step = after.step
    progress.stability = after.stability
    progress.difficulty = after.difficulty
    session.add(log)
    session.commit()
    return progress


def raw_review(raw: RawSync, clerk_id: str, card_id: UUID, rating: Rating) -> Any:
    """learnstore's two statements, prepared, tuple rows; fsrs in between."""
    row = raw.one("get_flashcard_for_review", {"user_clerk_id": clerk_id, "flashcard_id": card_id})
    _, _, repetitions, state, step, stability, difficulty, due, last = row
    when = datetime.now(UTC)
    after = _fsrs_review(state, step, stability, difficulty, due, last, rating, when)
    assert after.stability is not None and after.difficulty is not None
    reviewed = last is not None
    return raw.one(
        "record_flashcard_review",
        {
            "user_clerk_id": clerk_id,
            "flashcard_id": card_id,
            "repetitions_before": repetitions or 0,
            "interval_days": max(0, (after.due - when).days),
            "mastery": mastery_of(after.state, after.stability),
            "due_after": after.due,
            "reviewed_at": when,
            "state_after": _STATE[after.state],
            "step_after": after.step,
            "stability_after": after.stability,
            "difficulty_after": after.difficulty,
            "rating": int(rating),
            "elapsed_days": (when - last).days if last else None,
            "review_duration_ms": None,
            "state_before": state if reviewed else "new",
            "step_before": step if reviewed else None,
            "stability_before": stability,
            "difficulty_before": difficulty,
            "due_before": due if reviewed else None,
        },
    )


# -- the due queue and recommendations, the ORM's way ----------------------------------------------


def orm_due_queue(session: Session, clerk_id: str, limit: int, new_per_day: int) -> list[Any]:
    """Due cards, the count of cards started today, then new cards: three queries."""
    visible = (FlashcardSet.is_public) | (FlashcardSet.owner_clerk_id == clerk_id)
    due = session.execute(
        select(Flashcard, FlashcardProgress)
        .join(FlashcardProgress, FlashcardProgress.flashcard_id == Flashcard.id)
        .join(FlashcardSet, FlashcardSet.id == Flashcard.set_id)
        .where(
            FlashcardProgress.user_clerk_id == clerk_id,
            FlashcardProgress.next_review_at <= func.now(),
            visible,
        )
        .order_by(FlashcardProgress.next_review_at, Flashcard.id)
        .limit(limit)
    ).all()
    day_start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    started = session.scalar(
        select(func.count())
        .select_from(FlashcardReviewRow)
        .where(
            FlashcardReviewRow.user_clerk_id == clerk_id,
            FlashcardReviewRow.review_number == 1,
            FlashcardReviewRow.reviewed_at >= day_start,
        )
    )
    room = max(0, min(new_per_day - (started or 0), limit - len(due)))
    seen = select(FlashcardProgress.id).where(
        FlashcardProgress.user_clerk_id == clerk_id, FlashcardProgress.flashcard_id == Flashcard.id
    )
    fresh = session.scalars(
        select(Flashcard)
        .join(FlashcardSet, FlashcardSet.id == Flashcard.set_id)
        .where(FlashcardSet.owner_clerk_id == clerk_id, ~seen.exists())
        .order_by(FlashcardSet.created_at, FlashcardSet.id, Flashcard.position)
        .limit(room)
    ).all()
    return [*due, *fresh]


def orm_recommendations(
    session: Session, clerk_id: str | None, limit: int
) -> list[tuple[UUID, int, int, int]]:
    """What an ORM user writes: a query per signal, merged and ranked in Python."""
    mine = set(session.scalars(select(UserCourse.course_id).where(UserCourse.user_clerk_id == clerk_id)))
    my_tags = Counter(
        session.scalars(select(course_tags.c.tag_id).where(course_tags.c.course_id.in_(mine))) if mine else []
    )
    tag_score: Counter[UUID] = Counter()
    if my_tags:
        for course_id, tag_id in session.execute(
            select(course_tags.c.course_id, course_tags.c.tag_id).where(course_tags.c.tag_id.in_(my_tags))
        ):
            tag_score[course_id] += my_tags[tag_id]
    co_score: Counter[UUID] = Counter()
    peers: set[str] = set()
    for course_id in mine:  # a sample of each shared course's learners, as the SQL takes
        peers.update(
            session.scalars(
                select(UserCourse.user_clerk_id)
                .where(UserCourse.course_id == course_id, UserCourse.user_clerk_id != clerk_id)
                .limit(100)
            )
        )
    if peers:
        for course_id, n in session.execute(
            select(UserCourse.course_id, func.count())
            .where(UserCourse.user_clerk_id.in_(peers))
            .group_by(UserCourse.course_id)
        ):
            co_score[course_id] = n
    latest = select(UserCourse.course_id).order_by(UserCourse.enrolled_at.desc()).limit(2000).subquery()
    popularity = Counter(
        dict(session.execute(select(latest.c.course_id, func.count()).group_by(latest.c.course_id)).all())
    )
    newest_published = session.scalars(
        select(Course.id)
        .where(Course.status == "published", Course.id.not_in(mine) if mine else True)
        .order_by(Course.published_at.desc(), Course.id.desc())
        .limit(limit)
    )
    candidates = (set(tag_score) | set(co_score) | set(popularity) | set(newest_published)) - mine
    published = {
        c.id: c
        for c in session.scalars(
            select(Course).where(Course.id.in_(candidates), Course.status == "published")
        )
    }
    totals = {
        course_id: (int(total), int(n))
        for course_id, total, n in session.execute(
            select(CourseFeedback.course_id, func.coalesce(func.sum(CourseFeedback.rating), 0), func.count())
            .where(CourseFeedback.course_id.in_(published), CourseFeedback.hidden_at.is_(None))
            .group_by(CourseFeedback.course_id)
        )
    }
    # the blend of ListRecommendedCourses, in the same float operations and order
    tops = [max([1, *(signal[c] for c in published)]) for signal in (tag_score, co_score, popularity)]
    latest_at = max((c.published_at for c in published.values() if c.published_at), default=None)

    def score(c: UUID) -> float:
        total, n = totals.get(c, (0, 0))
        at = published[c].published_at
        age = (latest_at - at).total_seconds() if at and latest_at else 1e9
        return (
            0.35 * tag_score[c] / tops[0]
            + 0.30 * co_score[c] / tops[1]
            + 0.15 * popularity[c] / tops[2]
            + 0.12 * ((17.5 + total) / (5 + n) - 1) / 4
            + 0.08 / (1 + age / 86400 / 90)
        )

    newest = {
        c.id: -(c.published_at.timestamp() if c.published_at else float("-inf")) for c in published.values()
    }
    ranked = sorted(published, key=lambda c: (-score(c), newest[c], str(c)))
    return [(c, tag_score[c], co_score[c], popularity[c]) for c in ranked[:limit]]


# -- import: one statement against COPY ---------------------------------------------------------------


def import_by_copy(conn: psycopg.Connection[Any], owner: str, cards: list[tuple[str, str]]) -> UUID:
    """The COPY way: a transaction, the set, COPY of the cards, commit."""
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO flashcard_sets (owner_clerk_id, title) VALUES (%s, 'Copied') RETURNING id", [owner]
        ).fetchone()
        assert row is not None
        with conn.cursor().copy(
            "COPY flashcards (set_id, front, back, position) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["uuid", "text", "text", "int4"])
            for position, (front, back) in enumerate(cards):
                copy.write_row((row[0], front, back, position))
    return UUID(str(row[0]))


def import_by_statement(conn: psycopg.Connection[Any], owner: str, cards: list[tuple[str, str]]) -> UUID:
    """The single-statement way (what import_set runs under COPY_FROM cards), called directly."""
    row = conn.execute(
        sql("import_flashcard_set"),
        {
            "owner_clerk_id": owner,
            "course_id": None,
            "title": "Stated",
            "description": "",
            "is_public": False,
            "fronts": [front for front, _ in cards],
            "backs": [back for _, back in cards],
        },
    ).fetchone()
    assert row is not None
    return UUID(str(row[0]))


def measure_import(conn: psycopg.Connection[Any], sizes: tuple[int, ...], reps: int) -> list[str]:
    store = Store.on(conn)
    owner = WRITERS["raw"]
    lines = [
        "| cards | one statement ms | transaction + COPY ms | COPY / statement | import_set ms |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        cards = [(f"front {i} " + "x" * 40, f"back {i} " + "y" * 80) for i in range(size)]
        times: dict[str, list[float]] = {"statement": [], "copy": [], "api": []}
        for _ in range(reps):
            made = []
            for name in ("statement", "copy", "api"):
                started = time.perf_counter()
                if name == "statement":
                    made.append(import_by_statement(conn, owner, cards))
                elif name == "copy":
                    made.append(import_by_copy(conn, owner, cards))
                else:
                    made.append(store.flashcards.import_set(owner, "Imported", cards).set.id)
                times[name].append(time.perf_counter() - started)
            conn.execute("DELETE FROM flashcard_sets WHERE id = ANY (%s)", [made])
        a, b, c = (statistics.median(times[k]) * 1000 for k in ("statement", "copy", "api"))
        lines.append(f"| {size} | {a:.1f} | {b:.1f} | {b / a:.2f}x | {c:.1f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dsn", required=True, help="a database of your own (never the shared learnstore_bench)"
    )
    parser.add_argument("--scale", choices=sorted(dataset.SCALES), default="small")
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--import-reps", type=int, default=5)
    args = parser.parse_args(argv)
    dsn = dataset.ensure(args.dsn, args.scale)

    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        psycopg.connect(dsn, autocommit=True) as raw_conn,
    ):
        decks = seed(conn)
        if args.scale == "large":
            seed_at_scale(conn, 5_000)
        learner = dataset.clerk_id(1)
        store, raw = Store.on(conn), RawSync(raw_conn)
        engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
        sessions = sessionmaker(engine, expire_on_commit=False)

        def in_session(fn: Any, *a: Any) -> Any:
            with sessions() as session:
                return fn(session, *a)

        def card(name: str, r: int) -> tuple[str, UUID, Rating]:
            return WRITERS[name], decks[name][r % DECK], GRADES[(r // DECK) % len(GRADES)]

        rec_params = {
            "user_clerk_id": learner,
            "peer_sample": 100,
            "popular_window": 2000,
            "page_size": 10,
        }
        due_params = {"user_clerk_id": READER, "set_id": None, "page_size": 20, "new_per_day": 20}
        ops: dict[str, dict[str, Any]] = {
            "recommendations (10)": {
                "learnstore": lambda r: store.favorites.recommend(learner, limit=10),
                "raw": lambda r: raw.all("list_recommended_courses", rec_params),
                "orm": lambda r: in_session(orm_recommendations, learner, 10),
            },
            "recommendations, anonymous visitor (10)": {
                "learnstore": lambda r: store.favorites.recommend(None, limit=10),
                "raw": lambda r: raw.all("list_recommended_courses", {**rec_params, "user_clerk_id": None}),
                "orm": lambda r: in_session(orm_recommendations, None, 10),
            },
            "review a card": {
                "learnstore": lambda r: store.flashcards.review(*card("learnstore", r)),
                "raw": lambda r: raw_review(raw, *card("raw", r)),
                "orm": lambda r: in_session(orm_review, *card("orm", r)),
            },
            "the due queue (20)": {
                "learnstore": lambda r: store.flashcards.list_due(READER, limit=20, new_per_day=20),
                "raw": lambda r: raw.all("list_due_flashcards", due_params),
                "orm": lambda r: in_session(orm_due_queue, READER, 20, 20),
            },
        }
        # the three agree on what they return before anything is timed
        ours = [r.course_id for r in store.favorites.recommend(learner, limit=10)]
        assert ours == [row[0] for row in raw.all("list_recommended_courses", rec_params)]
        assert ours == [c for c, *_ in in_session(orm_recommendations, learner, 10)], "ORM ranks differently"
        visitor = [r.course_id for r in store.favorites.recommend(None, limit=10)]
        assert visitor == [c for c, *_ in in_session(orm_recommendations, None, 10)], "ORM ranks differently"
        assert len(store.flashcards.list_due(READER)) == len(in_session(orm_due_queue, READER, 20, 20)) == 20
        assert sql("list_due_flashcards")

        print(f"## Flashcards and recommendations, scale `{args.scale}`: medians of {args.rounds} rounds\n")
        print(
            "| operation | learnstore µs | raw µs | ORM µs | learnstore / raw | ORM / learnstore"
            " | learnstore / raw, the two alone |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for title, impls in ops.items():
            medians = _interleave(impls, args.rounds, args.warmup)
            ls, rw, om = medians["learnstore"], medians["raw"], medians["orm"]
            # again without the ORM in the rounds: its Python takes over the CPU caches
            alone = _interleave({k: v for k, v in impls.items() if k != "orm"}, args.rounds, args.warmup)
            pair = alone["learnstore"] / alone["raw"]
            ratios = f"**{ls / rw:.2f}x** | **{om / ls:.1f}x** | {pair:.2f}x"
            print(f"| {title} | {ls:.0f} | {rw:.0f} | {om:.0f} | {ratios} |")
        if args.import_reps:
            print("\n### Importing a set: one statement against COPY\n")
            print("\n".join(measure_import(conn, (10, 50, 100, 1000, 5000, 20000), args.import_reps)))
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
