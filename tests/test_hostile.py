"""The hostile-input sweep: every public repository method, driven with generated hostile values
(wrong types, NaN, empty and 1 MB strings, NUL bytes, lone surrogates, SQL metacharacters, naive and
far-future datetimes, unknown ids), either accepts the value or raises a learnstore error (never a
psycopg, pydantic or Python error) and leaves every table's row count as it was.

The sweep is a table: `SWEEP` lists each repository with the methods it covers, and `VALID` gives,
by parameter name, a value that is fine. Every parameter of every method is made hostile in turn
(one test case per parameter), the others kept valid (reaching the checks behind the first). When a
write accepts a hostile value, the value must have been stored exactly: the returned row and the
row read back from its table hold it as given, not trimmed, rounded or coerced. A repository
landing later is two lines: its entry in SWEEP (attribute on the Store, class, methods left out
with the reason) and any new parameter names in VALID. `test_the_sweep_covers_every_public_method`
fails until it is covered.

Examples per parameter: LEARNSTORE_SWEEP_EXAMPLES (default 20, 8,000 calls in about a minute and a
half on a loaded 2-core machine; CI runs 60, about five minutes there, each bug it found so far
showing within 30).
"""

from __future__ import annotations

import inspect
import io
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import hypothesis.strategies as st
import psycopg
import psycopg.sql
import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel

import learnstore
from learnstore import Store
from learnstore.errors import LearnstoreError
from learnstore.pytest_plugin import learnstore_db_factory
from learnstore.repositories.achievements import AchievementsRepository
from learnstore.repositories.audit import AuditRepository
from learnstore.repositories.catalog import CatalogRepository
from learnstore.repositories.collaboration import CollaborationRepository
from learnstore.repositories.content import ContentRepository
from learnstore.repositories.deliveries import DeliveriesRepository
from learnstore.repositories.edits import EditsRepository, QuizEdit
from learnstore.repositories.favorites import FavoritesRepository
from learnstore.repositories.flashcards import FlashcardsRepository
from learnstore.repositories.follows import FollowsRepository
from learnstore.repositories.forum import ForumRepository
from learnstore.repositories.forum_pages import ForumPagesRepository
from learnstore.repositories.imports import ImportsRepository
from learnstore.repositories.lesson_items import LessonItemsRepository
from learnstore.repositories.moderation import ModerationRepository
from learnstore.repositories.pages import PagesRepository
from learnstore.repositories.progress import ProgressRepository
from learnstore.repositories.reviews import ReviewsRepository
from learnstore.repositories.sharing import SharingRepository
from learnstore.repositories.users import UsersRepository

EXAMPLES = int(os.environ.get("LEARNSTORE_SWEEP_EXAMPLES", "20"))

# store attribute -> (repository class, {method left out: why})
SWEEP: dict[str, tuple[type, dict[str, str]]] = {
    "users": (UsersRepository, {}),
    "content": (ContentRepository, {}),
    "progress": (ProgressRepository, {}),
    "catalog": (CatalogRepository, {"list_languages": "takes no argument"}),
    "imports": (ImportsRepository, {}),
    "forum": (ForumRepository, {}),
    "edits": (EditsRepository, {}),
    "flashcards": (FlashcardsRepository, {}),
    "favorites": (FavoritesRepository, {}),
    "achievements": (AchievementsRepository, {"list_all": "takes no argument"}),
    "deliveries": (DeliveriesRepository, {}),
    "collaboration": (CollaborationRepository, {}),
    "reviews": (ReviewsRepository, {}),
    "pages": (PagesRepository, {}),
    "moderation": (ModerationRepository, {}),
    "audit": (AuditRepository, {}),
    "lesson_items": (LessonItemsRepository, {}),
    "sharing": (SharingRepository, {}),
    "forum_pages": (ForumPagesRepository, {}),
    "follows": (FollowsRepository, {}),
}

HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    "%s",
    "%(x)s",
    "$1",
    "\\",
    "::uuid",
    "null",
    "ü" * 300,
    "x" * 1_000_000,
]

HOSTILE: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=30),
    st.uuids(),  # an id nothing has
    st.datetimes(timezones=st.none()),  # naive
    st.datetimes(min_value=datetime(9000, 1, 1), timezones=st.just(UTC)),  # far future
    st.dates(),
    st.binary(max_size=8),
    st.lists(st.one_of(st.integers(), st.sampled_from(HOSTILE_TEXT[:8])), max_size=3),
    st.dictionaries(st.sampled_from(["id", "type", "data", "title", "clerk_id"]), st.integers(), max_size=3),
)


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(function)
        for name, function in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


CASES = [
    (attribute, name, parameter)
    for attribute, (cls, left_out) in SWEEP.items()
    for name, signature in public_methods(cls).items()
    if name not in left_out
    for parameter in list(signature.parameters)[1:]  # not self
]
# Reads: what they return is not what was stored from their arguments (a lookup by email is
# case-insensitive, say), so only the other methods' accepted values are read back.
READS = (
    "get",
    "list_",
    "count_",
    "may_",
    "has_",
    "search",
    "find",
    "browse",
    "owner_sets",
    "is_",
    "export",
    "history",
    "leaderboard",
)


def test_the_sweep_covers_every_public_method(store: Store) -> None:
    on_store = {name for name in vars(store) if not name.startswith("_")}
    assert on_store <= set(SWEEP), f"repositories not in the sweep: {on_store - set(SWEEP)}"
    for attribute, (cls, left_out) in SWEEP.items():
        assert set(left_out) <= set(public_methods(cls)), f"{attribute}: left out but not a method"
    assert len({(attribute, method) for attribute, method, _ in CASES}) > 80


sweep_db = learnstore_db_factory(scope="module")


@pytest.fixture(scope="module")
def store(sweep_db: str) -> Iterator[Store]:
    with learnstore.connect(sweep_db, max_size=2) as store:
        yield store


@pytest.fixture(scope="module")
def valid(store: Store) -> dict[str, Any]:
    """A value that is fine, by parameter name: the rows every example can point at."""
    store.users.apply_clerk_event({"type": "user.created", "data": {"id": "ada", "updated_at": 1}})
    course = store.content.create_course("ada", "Rust")
    unit = store.content.add_unit(course.id, "Unit")
    lesson = store.content.add_lesson(unit.id, "Lesson", "text", {"body": "text"})
    store.content.publish_course(course.id)
    store.progress.enrol("ada", course.id)
    quiz = store.content.add_quiz(lesson.id, "mcq", "2 + 2?", "4", options=["3", "4"])
    media = store.content.add_media(lesson.id, "image", "https://example.com/a.png")
    goal = store.users.create_goal("ada", "Finish")
    note = store.users.notify("ada", "system", "hello")
    store.users.apply_clerk_event({"type": "user.created", "data": {"id": "bea", "updated_at": 1}})
    store.progress.enrol("bea", course.id)
    post = store.forum.create_post(course.id, "ada", "Hello", "First post")
    reply = store.forum.reply(post.id, "bea", "A reply")
    review = store.reviews.review_course(course.id, "bea", 4, comment="Good")
    edit = store.edits.propose_edit(course.id, "bea", "Better title", {"title": "Rust, better"})
    cards = store.flashcards.create_set("ada", "Words")
    card = store.flashcards.add_card("ada", cards.id, "front", "back")
    achievement = store.achievements.create("first", "First", {"kind": "lessons_completed", "threshold": 1})
    open_course = store.content.create_course("ada", "Go", open_to_collaboration=True)
    request = store.collaboration.request(open_course.id, "bea")
    return {
        "clerk_id": "ada",
        "author_clerk_id": "ada",
        "course_id": course.id,
        "unit_id": unit.id,
        "lesson_id": lesson.id,
        "quiz_id": quiz.id,
        "media_id": media.id,
        "goal_id": goal.id,
        "notification_id": note.id,
        "title": "A title",
        "message": "A message",
        "question": "A question?",
        "email": "ada@example.com",
        "code": "en",
        "name": "rust",
        "names": ["rust"],
        "status": "completed",
        "type": "system",
        "content_type": "text",
        "content": {"body": "text"},
        "media_type": "image",
        "url": "https://example.com/b.png",
        "question_type": "mcq",
        "correct_answer": "4",
        "answer": "4",
        "progress": 50,
        "at": datetime(2024, 3, 1, tzinfo=UTC),
        "since": date(2024, 1, 1),
        "until": date(2024, 2, 1),
        "event": {"type": "user.updated", "data": {"id": "ada", "updated_at": 2}},
        # forum, edits, reviews
        "post_id": post.id,
        "reply_id": reply.id,
        "feedback_id": review.id,
        "edit_id": edit.id,
        "actor_clerk_id": "ada",
        "viewer_clerk_id": "bea",
        "user_clerk_id": "bea",
        "reviewer_clerk_id": "ada",
        "body": "A body",
        "summary": "A summary",
        "changes": {"title": "Rust, again"},
        "change": QuizEdit(quiz_id=quiz.id, question="A better question?"),
        "note": "A note",
        "role": "reviewer",
        "accept": True,
        "rating": 5,
        "comment": "A comment",
        "days": 7,
        "limit": 10,
        # collaboration requests
        "request_id": request.id,
        "requester_clerk_id": "bea",
        # flashcards and favorites
        "owner_clerk_id": "ada",
        "set_id": cards.id,
        "flashcard_id": card.id,
        "front": "a front",
        "back": "a back",
        "grade": 3,
        "card_ids": [card.id],
        "cards": [{"front": "f", "back": "b"}],
        "course_ids": [course.id],
        # achievements and webhook deliveries
        "achievement_id": achievement.id,
        "requirement": {"kind": "courses_completed", "threshold": 1},
        "points": 10,
        "svix_id": "msg_sweep",
        "event_type": "user.created",
        # pages
        "viewer": "bea",
        "prefix": "ad",
        "top_reviews": 3,
        "per_section": 5,
        "order": "name",
        "out": io.StringIO(),
        # moderation: ada holds no site role, so a valid moderator write is refused (PermissionDenied)
        "reporter_clerk_id": "bea",
        "moderator_clerk_id": "ada",
        "subject_clerk_id": "bea",
        "reason": "A reason",
        "action": "lock",
        "change_id": _a_change(store, course.id),
        # lesson items and sharing
        "position": 0,
        "options": ["3", "4"],
        "text": "words",
        # forum pages, follows and mutes
        "query": "rust",
        "offset": 0,
        "read_only": True,
    }


def _a_change(store: Store, course_id: UUID) -> UUID:
    store.content.update_course(course_id, title="Rust, renamed")
    return store.audit.history(course_id, limit=1)[0].id


@pytest.fixture(scope="module")
def watcher(sweep_db: str) -> Iterator[psycopg.Connection[Any]]:
    """The sweep's own connection (autocommit) for counting and reading back, one per module:
    a connection per example would cost more than the example."""
    with psycopg.connect(sweep_db, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def count_rows(store: Store, watcher: psycopg.Connection[Any]) -> Callable[[], dict[str, int]]:
    """Every table's row count, in one query built from the catalog."""
    conn = watcher
    # a partition's rows are counted through its parent (the logs partitioned by month)
    tables = [t for (t,) in conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')"
        " AND NOT relispartition ORDER BY 1"
    )]  # fmt: skip
    # jsonb_build_object takes at most 100 arguments (50 tables): one object per 40, concatenated
    chunks = [tables[i : i + 40] for i in range(0, len(tables), 40)]
    query = "SELECT " + " || ".join(
        "jsonb_build_object(" + ", ".join(f"'{t}', (SELECT count(*) FROM {t})" for t in chunk) + ")"
        for chunk in chunks
    )

    def count() -> dict[str, int]:
        row = conn.execute(query).fetchone()
        assert row is not None
        result: dict[str, int] = row[0] if isinstance(row[0], dict) else json.loads(row[0])
        return result

    return count


@pytest.fixture(scope="module")
def read_back(watcher: psycopg.Connection[Any]) -> Callable[[UUID, str], list[Any]]:
    """The column `name` of the row with this id, in whichever table has it ([] when none has)."""
    conn = watcher
    tables = [t for (t,) in conn.execute(
        "SELECT c.table_name FROM information_schema.columns c JOIN pg_tables t"
        " ON t.tablename = c.table_name AND t.schemaname = c.table_schema"
        " WHERE c.table_schema = 'public' AND c.column_name = 'id' AND c.data_type = 'uuid'"
        " AND NOT (SELECT relispartition FROM pg_class WHERE oid = to_regclass(quote_ident(c.table_name)))"
        " ORDER BY 1"
    )]  # fmt: skip
    columns: dict[str, set[str]] = {}
    for table, column in conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
    ):
        columns.setdefault(table, set()).add(column)

    def read(row_id: UUID, name: str) -> list[Any]:
        found = []
        for table in tables:
            if name in columns[table]:
                row = conn.execute(
                    psycopg.sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
                        psycopg.sql.Identifier(name), psycopg.sql.Identifier(table)
                    ),
                    [row_id],
                ).fetchone()
                if row is not None:
                    found.append(row[0])
        return found

    return read


def _same(stored: Any, given: Any) -> bool:
    """Whether `stored` is `given` as it was given: equal, and not a bool turned number or back."""
    if isinstance(given, bool) != isinstance(stored, bool):
        return False
    if isinstance(given, (list, tuple)) and isinstance(stored, (list, tuple)):
        return len(given) == len(stored) and all(_same(s, g) for s, g in zip(stored, given, strict=True))
    return bool(stored == given)


@pytest.mark.parametrize(
    ("attribute", "method", "parameter"), CASES, ids=[f"{a}.{m}.{p}" for a, m, p in CASES]
)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_input_raises_a_learnstore_error_and_changes_nothing(
    attribute: str,
    method: str,
    parameter: str,
    data: st.DataObject,
    store: Store,
    valid: dict[str, Any],
    count_rows: Callable[[], dict[str, int]],
    read_back: Callable[[UUID, str], list[Any]],
) -> None:
    bound = getattr(getattr(store, attribute), method)
    parameters = list(inspect.signature(bound).parameters.values())
    [target] = [candidate for candidate in parameters if candidate.name == parameter]
    arguments: dict[str, Any] = {}
    for other in parameters:
        if other is target or (other.name not in valid and other.default is inspect.Parameter.empty):
            arguments[other.name] = data.draw(HOSTILE, label=other.name)
        elif other.name in valid:
            arguments[other.name] = valid[other.name]
    before = count_rows()
    try:
        result = bound(**arguments)
    except LearnstoreError:
        assert count_rows() == before, f"{attribute}.{method} failed but changed rows"
        return
    except Exception as exc:
        kind = f"{type(exc).__module__}.{type(exc).__name__}"
        raise AssertionError(f"{attribute}.{method}({_show(arguments)}) raised {kind}: {exc}") from exc
    if method.startswith(READS) or parameter not in arguments:
        return
    # Accepted by a write: stored exactly as given, in the row returned and in its table. (None for a
    # parameter that takes None means what the method says: a position at the end, no metadata.)
    given = arguments[parameter]
    if given is None and "None" in str(target.annotation):
        return
    for row in result if isinstance(result, list) else [result]:
        if not isinstance(row, BaseModel) or parameter not in type(row).model_fields:
            continue
        returned = getattr(row, parameter)
        assert _same(returned, given), f"{attribute}.{method}({_show(arguments)}) returned {returned!r}"
        row_id = getattr(row, "id", None)
        if isinstance(row_id, UUID):
            for stored in read_back(row_id, parameter):
                assert _same(stored, given), f"{attribute}.{method}({_show(arguments)}) stored {stored!r}"


def _show(arguments: dict[str, Any]) -> str:
    def short(value: Any) -> str:
        text = repr(value)
        return text if len(text) < 60 else f"{text[:40]}...({len(text)} chars)"

    return ", ".join(f"{name}={short(value)}" for name, value in arguments.items())


def test_unknown_ids_are_not_found_or_none_and_write_nothing(
    store: Store, valid: dict[str, Any], count_rows: Callable[[], dict[str, int]]
) -> None:
    # A hand-written spot check next to the generated sweep: the sweep could in principle accept all.
    before = count_rows()
    nobody = UUID(int=1)
    with pytest.raises(learnstore.NotFound):
        store.content.get_course(nobody)
    assert store.content.get_course_or_none(nobody) is None
    with pytest.raises(learnstore.InvalidValue):
        store.users.notify("ada", "system", "a\x00b")
    with pytest.raises(learnstore.InvalidValue):
        store.content.create_course("ada", "x" * 1_000_000)
    # None where a create needs a value (the field models are shared with updates, where None keeps)
    with pytest.raises(learnstore.InvalidValue, match="description"):
        store.content.add_unit(valid["course_id"], "Unit", description=None)  # type: ignore[arg-type]
    with pytest.raises(learnstore.InvalidValue, match="title"):
        store.flashcards.create_set("ada", None)  # type: ignore[arg-type]
    # Found by the sweep once every parameter was made hostile and accepted values were read back:
    # each was stored coerced (1970-01-01, 1, 0, [], "") or crashed outside learnstore's errors.
    with pytest.raises(learnstore.InvalidValue, match="target_date"):
        store.users.create_goal("ada", "Goal", target_date=0)  # type: ignore[arg-type]
    with pytest.raises(learnstore.InvalidValue, match="timezone"):
        store.users.update_profile("ada", timezone="ü" * 300)
    with pytest.raises(learnstore.InvalidValue, match="duration_seconds"):
        store.content.add_lesson(valid["unit_id"], "L", "text", {"body": "b"}, duration_seconds=True)
    with pytest.raises(learnstore.InvalidValue, match="estimated_duration_minutes"):
        store.content.create_course("ada", "C", estimated_duration_minutes=True)
    with pytest.raises(learnstore.InvalidValue, match="learning_objectives"):
        store.content.create_course("ada", "C", learning_objectives=None)  # type: ignore[arg-type]
    with pytest.raises(learnstore.InvalidValue, match="open_to_collaboration"):
        store.content.create_course("ada", "C", open_to_collaboration=0)  # type: ignore[arg-type]
    with pytest.raises(learnstore.InvalidValue, match="points"):
        store.achievements.update(valid["achievement_id"], title="T", points=False)
    with pytest.raises(learnstore.InvalidValue, match="description"):
        store.achievements.update(valid["achievement_id"], title="T", description=b"")  # type: ignore[arg-type]
    assert count_rows() == before
