"""Achievements, side by side: `python -m bench.achievements_ops --scale large --dsn ...` (see
docs/gamification.md#benchmarks).

- "evaluate achievements for one user": learnstore (`store.achievements.evaluate`), raw psycopg (the
  same SQL, prepared) and the SQLAlchemy ORM (the counts read through the ORM, the rules checked in
  Python, the awards added to the session), interleaved as bench/run.py does;
- "record lesson completed" with and without the hooks (the same connection type; the hooks switched
  off for one of them with `SET learnstore.evaluate_achievements = off`), learnstore and raw;
- "backfill one achievement" for every user of the dataset, with its rate.

It needs the benchmark dataset (`python -m bench.dataset --scale ... --dsn ...`) in a database of its
own; it adds a catalogue of achievements to it (codes starting with `bench-`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import ForeignKey, create_engine, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

import learnstore
from bench import dataset
from bench.ops import Fixture
from bench.peers import orm
from bench.peers.raw import RawSync
from bench.run import _interleave, _machine, _sqlalchemy_url
from learnstore import Store

RESULTS = Path(__file__).resolve().parent / "results"

#: a plausible catalogue: counters of every kind, thresholds from easy to rare, and combinations
CATALOGUE: tuple[tuple[str, int, dict[str, Any]], ...] = (
    ("bench-first-lesson", 10, {"kind": "lessons_completed", "threshold": 1}),
    ("bench-lessons-10", 20, {"kind": "lessons_completed", "threshold": 10}),
    ("bench-lessons-50", 50, {"kind": "lessons_completed", "threshold": 50}),
    ("bench-lessons-200", 100, {"kind": "lessons_completed", "threshold": 200}),
    ("bench-course-1", 50, {"kind": "courses_completed", "threshold": 1}),
    ("bench-course-5", 150, {"kind": "courses_completed", "threshold": 5}),
    ("bench-streak-3", 10, {"kind": "streak_days", "threshold": 3}),
    ("bench-streak-7", 30, {"kind": "streak_days", "threshold": 7}),
    ("bench-streak-30", 100, {"kind": "streak_days", "threshold": 30}),
    ("bench-on-a-roll", 20, {"kind": "streak_days", "threshold": 5, "streak": "current"}),
    ("bench-reviewer", 20, {"kind": "flashcards_reviewed", "threshold": 50}),
    ("bench-master", 50, {"kind": "cards_mastered", "threshold": 20}),
    ("bench-quizzer", 20, {"kind": "quizzes_passed", "threshold": 10}),
    ("bench-goals", 20, {"kind": "goals_completed", "threshold": 3}),
    ("bench-helper", 20, {"kind": "forum_replies", "threshold": 10}),
    ("bench-liked", 30, {"kind": "likes_received", "threshold": 25}),
    (
        "bench-scholar",
        200,
        {
            "kind": "all_of",
            "rules": [
                {"kind": "lessons_completed", "threshold": 100},
                {"kind": "courses_completed", "threshold": 3},
                {"kind": "streak_days", "threshold": 14},
            ],
        },
    ),
    (
        "bench-keen",
        80,
        {
            "kind": "any_of",
            "rules": [{"kind": "streak_days", "threshold": 60}, {"kind": "cards_mastered", "threshold": 100}],
        },
    ),
)


# -- the ORM peer: the tables evaluation reads -----------------------------------------------------
# On a declarative base of their own: the suite (bench/suite.py) imports every bench/*_ops.py into
# one process, and bench/community_ops.py and bench/flashcards_ops.py map forum_posts and
# user_flashcard_progress (with every column) on bench/peers/orm.py's Base; a second mapping of a
# table on that Base fails at import. These models only count and insert, with no relationships, so
# their metadata needs no users table (user_clerk_id is a plain column here).


class Base(DeclarativeBase):
    pass


class Achievement(Base):
    __tablename__ = "achievements"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    code: Mapped[str]
    title: Mapped[str]
    points: Mapped[int]
    requirement: Mapped[dict[str, Any]] = mapped_column(JSONB)


class UserAchievement(Base):
    __tablename__ = "user_achievements"
    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    user_clerk_id: Mapped[str]
    achievement_id: Mapped[UUID] = mapped_column(ForeignKey("achievements.id"))
    progress: Mapped[int]
    earned_at: Mapped[datetime | None]


class UserStreak(Base):
    __tablename__ = "user_streaks"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_clerk_id: Mapped[str]
    current_streak: Mapped[int]
    longest_streak: Mapped[int]
    last_active_date: Mapped[date | None]


class FlashcardProgress(Base):
    __tablename__ = "user_flashcard_progress"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_clerk_id: Mapped[str]
    mastery: Mapped[int]
    last_reviewed_at: Mapped[datetime | None]


class QuizAttempt(Base):
    __tablename__ = "quiz_attempts"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    quiz_id: Mapped[UUID]
    user_clerk_id: Mapped[str]
    is_correct: Mapped[bool]


class LearningGoal(Base):
    __tablename__ = "learning_goals"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_clerk_id: Mapped[str]
    completed_at: Mapped[datetime | None]


class ForumPost(Base):
    __tablename__ = "forum_posts"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    author_clerk_id: Mapped[str | None]


class ForumReply(Base):
    __tablename__ = "forum_replies"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    author_clerk_id: Mapped[str | None]


class ForumPostLike(Base):
    __tablename__ = "forum_post_likes"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    post_id: Mapped[UUID]
    user_clerk_id: Mapped[str]


class ForumReplyLike(Base):
    __tablename__ = "forum_reply_likes"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    reply_id: Mapped[UUID]
    user_clerk_id: Mapped[str]


def _kinds(rule: dict[str, Any]) -> set[str]:
    if rule["kind"] in ("all_of", "any_of"):
        return set().union(*(_kinds(part) for part in rule["rules"]))
    return {rule["kind"]}


def _score(rule: dict[str, Any], counts: dict[str, Any]) -> tuple[int, int]:
    """The same scoring as achievement_score() in SQL."""
    if rule["kind"] == "all_of":
        parts = [_score(part, counts) for part in rule["rules"]]
        return sum(p for p, _ in parts), sum(t for _, t in parts)
    if rule["kind"] == "any_of":
        return max((_score(part, counts) for part in rule["rules"]), key=lambda s: (s[0] / s[1], -s[1]))
    kind, threshold = rule["kind"], rule["threshold"]
    if kind == "streak_days":
        counted = counts["streak_days"][rule.get("streak", "longest")]
    elif kind == "cards_mastered":
        counted = counts["cards_mastered"][rule.get("level", 4) - 1]
    elif kind == "lessons_completed" and rule.get("course_id"):
        counted = counts["course_lessons"].get(rule["course_id"], 0)
    else:
        counted = counts[kind]
    return min(counted, threshold), threshold


def orm_evaluate(session: Session, clerk_id: str) -> list[Achievement]:
    """Evaluate every achievement for one user the way an ORM user writes it: load what is not earned,
    count what its rules need, check them in Python, add the awards and notifications. (Unlike the
    SQL version it is not safe against a concurrent evaluation: the second flush would fail.)"""
    with session.begin():
        earned = select(UserAchievement.achievement_id).where(
            UserAchievement.user_clerk_id == clerk_id, UserAchievement.earned_at.is_not(None)
        )
        pending = session.scalars(select(Achievement).where(Achievement.id.not_in(earned))).all()
        kinds = set().union(*(_kinds(a.requirement) for a in pending)) if pending else set()
        counts: dict[str, Any] = {"course_lessons": {}}

        def count(*where: Any, of: Any = None, table: Any = None) -> int:
            query = (
                select(func.count(of) if of is not None else func.count()).select_from(table).where(*where)
            )
            return int(session.scalar(query) or 0)

        if "lessons_completed" in kinds:
            counts["lessons_completed"] = count(
                orm.UserProgress.user_clerk_id == clerk_id,
                orm.UserProgress.status == "completed",
                table=orm.UserProgress,
            )
        if "courses_completed" in kinds:
            counts["courses_completed"] = count(
                orm.UserCourse.user_clerk_id == clerk_id,
                orm.UserCourse.completed_at.is_not(None),
                table=orm.UserCourse,
            )
        if "streak_days" in kinds:
            streak = session.scalars(
                select(UserStreak).where(UserStreak.user_clerk_id == clerk_id)
            ).one_or_none()
            today = datetime.now(UTC).date()
            current = 0
            if streak is not None and streak.last_active_date is not None:
                current = streak.current_streak if (today - streak.last_active_date).days <= 1 else 0
            counts["streak_days"] = {"current": current, "longest": streak.longest_streak if streak else 0}
        if "flashcards_reviewed" in kinds:
            counts["flashcards_reviewed"] = count(
                FlashcardProgress.user_clerk_id == clerk_id,
                FlashcardProgress.last_reviewed_at.is_not(None),
                table=FlashcardProgress,
            )
        if "cards_mastered" in kinds:
            masteries = session.scalars(
                select(FlashcardProgress.mastery).where(
                    FlashcardProgress.user_clerk_id == clerk_id,
                    FlashcardProgress.last_reviewed_at.is_not(None),
                )
            ).all()
            counts["cards_mastered"] = [sum(1 for m in masteries if m >= level) for level in range(1, 6)]
        if "quizzes_passed" in kinds:
            counts["quizzes_passed"] = count(
                QuizAttempt.user_clerk_id == clerk_id,
                QuizAttempt.is_correct,
                of=QuizAttempt.quiz_id.distinct(),
                table=QuizAttempt,
            )
        if "goals_completed" in kinds:
            counts["goals_completed"] = count(
                LearningGoal.user_clerk_id == clerk_id,
                LearningGoal.completed_at.is_not(None),
                table=LearningGoal,
            )
        if "forum_posts" in kinds:
            counts["forum_posts"] = count(ForumPost.author_clerk_id == clerk_id, table=ForumPost)
        if "forum_replies" in kinds:
            counts["forum_replies"] = count(ForumReply.author_clerk_id == clerk_id, table=ForumReply)
        if "likes_received" in kinds:
            on_posts = session.scalar(
                select(func.count())
                .select_from(ForumPostLike)
                .join(ForumPost, ForumPost.id == ForumPostLike.post_id)
                .where(ForumPost.author_clerk_id == clerk_id, ForumPostLike.user_clerk_id != clerk_id)
            )
            on_replies = session.scalar(
                select(func.count())
                .select_from(ForumReplyLike)
                .join(ForumReply, ForumReply.id == ForumReplyLike.reply_id)
                .where(ForumReply.author_clerk_id == clerk_id, ForumReplyLike.user_clerk_id != clerk_id)
            )
            counts["likes_received"] = int(on_posts or 0) + int(on_replies or 0)
        awarded = []
        now = datetime.now(UTC)
        for achievement in pending:
            progress, target = _score(achievement.requirement, counts)
            if progress >= target:
                session.add(
                    UserAchievement(
                        user_clerk_id=clerk_id,
                        achievement_id=achievement.id,
                        progress=progress,
                        earned_at=now,
                    )
                )
                session.add(
                    orm.Notification(
                        user_clerk_id=clerk_id,
                        type="system",
                        message=f'You earned the achievement "{achievement.title}".',
                        source_id=achievement.id,
                        source_type="achievement",
                        metadata_={"achievement_code": achievement.code, "points": achievement.points},
                    )
                )
                awarded.append(achievement)
    return awarded


# -- setup ------------------------------------------------------------------------------------------


def ensure_catalogue(dsn: str) -> None:
    with learnstore.connect(dsn) as store:
        existing = {a.code for a in store.achievements.list_all()}
        for code, points, rule in CATALOGUE:
            if code not in existing:
                store.achievements.create(
                    code, code.removeprefix("bench-").replace("-", " ").title(), rule, points=points
                )


def heavy_learner(conn: psycopg.Connection[Any]) -> tuple[str, int]:
    """The learner with the most completed lessons: the most a one-user evaluation has to count."""
    row = conn.execute(
        "SELECT user_clerk_id, count(*) FROM user_progress WHERE status = 'completed'"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()
    assert row is not None, "no progress in the dataset"
    return row[0], row[1]


# -- the measurements ---------------------------------------------------------------------------------


def measure_evaluate(dsn: str, learner: str, rounds: int, warmup: int) -> dict[str, float]:
    engine = create_engine(_sqlalchemy_url(dsn))
    sessions = sessionmaker(engine, expire_on_commit=False)
    with psycopg.connect(dsn, autocommit=True) as conn, psycopg.connect(dsn, autocommit=True) as raw_conn:
        store, raw = Store.on(conn), RawSync(raw_conn)

        def orm_call(r: int) -> object:
            with sessions() as session:
                return orm_evaluate(session, learner)

        impls: dict[str, Callable[[int], object]] = {
            "learnstore": lambda r: store.achievements.evaluate(learner),
            "raw": lambda r: raw.one("score_user_achievements", {"clerk_id": learner}),
            "orm": orm_call,
        }
        medians = _interleave(impls, rounds, warmup)
    engine.dispose()
    return medians


def measure_write(dsn: str, fx: Fixture, rounds: int, warmup: int) -> dict[str, float]:
    """set_lesson_status, alternating lessons between completed and in progress (bench/ops.py's
    write), with the hooks and without them, on four connections interleaved."""
    with (
        psycopg.connect(dsn, autocommit=True) as hooked,
        psycopg.connect(dsn, autocommit=True) as bare,
        psycopg.connect(dsn, autocommit=True) as raw_hooked,
        psycopg.connect(dsn, autocommit=True) as raw_bare,
    ):
        for conn in (bare, raw_bare):
            conn.execute("SET learnstore.evaluate_achievements = off")
        writers = {
            "learnstore": ("bench_learnstore", Store.on(hooked)),
            "learnstore, no hook": ("bench_pool", Store.on(bare)),
        }
        raws = {"raw": ("bench_raw", RawSync(raw_hooked)), "raw, no hook": ("bench_orm", RawSync(raw_bare))}
        impls: dict[str, Callable[[int], object]] = {}
        for name, (who, store) in writers.items():

            def run(r: int, who: str = who, store: Store = store) -> object:
                lesson, status = fx.write(r)
                return store.progress.set_lesson_status(who, lesson, status)

            impls[name] = run
        for name, (who, raw) in raws.items():

            def run_raw(r: int, who: str = who, raw: RawSync = raw) -> object:
                lesson, status = fx.write(r)
                return raw.one(
                    "set_lesson_status", {"user_clerk_id": who, "lesson_id": lesson, "status": status}
                )

            impls[name] = run_raw
        return _interleave(impls, rounds, warmup)


def measure_reads(
    dsn: str, learner: str, course_id: UUID, rounds: int, warmup: int
) -> dict[str, dict[str, float]]:
    """The profile card and the leaderboards (top 10 and the learner's own row), learnstore and raw,
    once every achievement of the catalogue has been backfilled (so that there are awards to rank)."""
    with psycopg.connect(dsn, autocommit=True) as conn, psycopg.connect(dsn, autocommit=True) as raw_conn:
        store, raw = Store.on(conn), RawSync(raw_conn)
        for achievement in store.achievements.list_all():
            if achievement.code.startswith("bench-"):
                store.achievements.backfill(achievement.id)
        conn.execute("VACUUM ANALYZE user_achievements")
        conn.execute("VACUUM ANALYZE user_points")
        board = {"clerk_id": learner, "course_id": None, "top_n": 10}
        in_course = {**board, "course_id": course_id}
        ops: dict[str, dict[str, Callable[[int], object]]] = {
            "profile card": {
                "learnstore": lambda r: store.achievements.get_profile(learner),
                "raw": lambda r: raw.one("get_profile_card", {"clerk_id": learner}),
            },
            "leaderboard, overall (10 + me)": {
                "learnstore": lambda r: store.achievements.leaderboard(learner, top=10),
                "raw": lambda r: raw.all("list_leaderboard", board),
            },
            "leaderboard, the flagship course (10 + me)": {
                "learnstore": lambda r: store.achievements.leaderboard(learner, course_id=course_id, top=10),
                "raw": lambda r: raw.all("list_course_leaderboard", in_course),
            },
        }
        return {name: _interleave(impls, rounds, warmup) for name, impls in ops.items()}


def measure_backfill(dsn: str, reps: int) -> list[tuple[str, int, int, float]]:
    """Backfill a new achievement for every user, `reps` times per rule; (rule, users, awarded, seconds)."""
    rules: dict[str, dict[str, Any]] = {
        "lessons_completed >= 5": {"kind": "lessons_completed", "threshold": 5},
        "all_of(lessons >= 20, longest streak >= 3)": {
            "kind": "all_of",
            "rules": [
                {"kind": "lessons_completed", "threshold": 20},
                {"kind": "streak_days", "threshold": 3},
            ],
        },
    }
    results = []
    with learnstore.connect(dsn) as store, psycopg.connect(dsn, autocommit=True) as conn:
        users = conn.execute("SELECT count(*) FROM users").fetchone()
        total = int(users[0]) if users else 0
        for label, rule in rules.items():
            for rep in range(reps):
                badge = store.achievements.create(f"bench-backfill-{rep}", f"Backfill {rep}", rule)
                conn.execute("VACUUM ANALYZE user_achievements")
                started = time.perf_counter()
                awarded = store.achievements.backfill(badge.id)
                elapsed = time.perf_counter() - started
                results.append((label, total, awarded, elapsed))
                print(f"  backfill {label}: {awarded:,} of {total:,} users in {elapsed:.2f} s", flush=True)
                conn.execute("DELETE FROM notifications WHERE source_id = %s", [badge.id])
                store.achievements.delete(badge.id)
    return results


def render(
    scale: str,
    rounds: int,
    machine: list[str],
    learner: tuple[str, int],
    evaluate: dict[str, float],
    write: dict[str, float],
    backfill: list[tuple[str, int, int, float]],
    reads: dict[str, dict[str, float]],
) -> str:
    out = [f"## Achievements at scale `{scale}`: medians of {rounds} interleaved rounds", "", *machine, ""]
    out += [
        f"### evaluate achievements for one user ({len(CATALOGUE)} achievements; `{learner[0]}`, "
        f"{learner[1]} lessons completed)",
        "",
        "| implementation | µs | / raw | / learnstore |",
        "|---|---:|---:|---:|",
    ]
    for name, value in evaluate.items():
        ratios = f"{value / evaluate['raw']:.2f}x | {value / evaluate['learnstore']:.2f}x"
        out.append(f"| {name} | {value:.0f} | {ratios} |")
    out += [
        "",
        "### record lesson completed (set_lesson_status), with and without the hooks",
        "",
        "| implementation | µs | / raw (hooked) | hook cost |",
        "|---|---:|---:|---:|",
    ]
    for name in ("learnstore", "learnstore, no hook", "raw", "raw, no hook"):
        base = write[name.replace(", no hook", "") + ", no hook"]
        cost = "" if "no hook" in name else f"{write[name] / base:.2f}x (+{write[name] - base:.0f} µs)"
        out.append(f"| {name} | {write[name]:.0f} | {write[name] / write['raw']:.2f}x | {cost} |")
    out += ["", "### reads, after every achievement of the catalogue was backfilled", ""]
    out += ["| operation | learnstore µs | raw µs | learnstore / raw |", "|---|---:|---:|---:|"]
    for name, medians in reads.items():
        ratio = medians["learnstore"] / medians["raw"]
        out.append(f"| {name} | {medians['learnstore']:.0f} | {medians['raw']:.0f} | {ratio:.2f}x |")
    out += ["", "### backfill one achievement for every user (one statement)", ""]
    out += ["| rule | users | awarded | seconds (median) | users / s |", "|---|---:|---:|---:|---:|"]
    for label in dict.fromkeys(r[0] for r in backfill):
        runs = [r for r in backfill if r[0] == label]
        seconds = statistics.median(r[3] for r in runs)
        out.append(
            f"| {label} | {runs[0][1]:,} | {runs[0][2]:,} | {seconds:.2f} | {runs[0][1] / seconds:,.0f} |"
        )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(dataset.SCALES), default="small")
    parser.add_argument("--dsn", required=True, help="a database of your own (loaded if empty)")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--backfill-reps", type=int, default=3)
    parser.add_argument("--out", type=Path, help="default: bench/results/achievements-<scale>.md")
    args = parser.parse_args(argv)

    dsn = dataset.ensure(args.dsn, args.scale)
    ensure_catalogue(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        fx = Fixture.find(conn)
        learner = heavy_learner(conn)
        conn.execute("ANALYZE")
    print(f"evaluate for {learner[0]} ({learner[1]} lessons completed)", flush=True)
    evaluate = measure_evaluate(dsn, learner[0], args.rounds, args.warmup)
    print("  ", {k: round(v) for k, v in evaluate.items()}, flush=True)
    write = measure_write(dsn, fx, args.rounds, args.warmup)
    print("  ", {k: round(v) for k, v in write.items()}, flush=True)
    backfill = measure_backfill(dsn, args.backfill_reps)
    reads = measure_reads(dsn, learner[0], fx.course_id, args.rounds, args.warmup)
    text = render(args.scale, args.rounds, _machine(dsn), learner, evaluate, write, backfill, reads)
    out = args.out or RESULTS / f"achievements-{args.scale}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
