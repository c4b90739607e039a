"""The hostile-input sweep: every public repository method, driven with generated hostile values
(wrong types, NaN, empty and 1 MB strings, NUL bytes, lone surrogates, SQL metacharacters, naive and
far-future datetimes, unknown ids), either accepts the value or raises a learnstore error (never a
psycopg, pydantic or Python error) and leaves every table's row count as it was.

The sweep is a table: `SWEEP` lists each repository with the methods it covers, and `VALID` gives,
by parameter name, a value that is fine, so that each example makes one parameter hostile and keeps
the others valid (reaching the checks behind the first). A repository landing later is two lines:
its entry in SWEEP (attribute on the Store, class, methods left out with the reason) and any new
parameter names in VALID. `test_the_sweep_covers_every_public_method` fails until it is covered.

Examples per method: LEARNSTORE_SWEEP_EXAMPLES (default 6: the default suite stays quick; CI or a
nightly run can raise it).
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
import pytest
from hypothesis import HealthCheck, given, settings

import learnstore
from learnstore import Store
from learnstore.errors import LearnstoreError
from learnstore.pytest_plugin import learnstore_db_factory
from learnstore.repositories.achievements import AchievementsRepository
from learnstore.repositories.catalog import CatalogRepository
from learnstore.repositories.community import CommunityRepository
from learnstore.repositories.content import ContentRepository
from learnstore.repositories.deliveries import DeliveriesRepository
from learnstore.repositories.favorites import FavoritesRepository
from learnstore.repositories.flashcards import FlashcardsRepository
from learnstore.repositories.imports import ImportsRepository
from learnstore.repositories.moderation import ModerationRepository
from learnstore.repositories.pages import PagesRepository
from learnstore.repositories.progress import ProgressRepository
from learnstore.repositories.users import UsersRepository

EXAMPLES = int(os.environ.get("LEARNSTORE_SWEEP_EXAMPLES", "6"))

# store attribute -> (repository class, {method left out: why})
SWEEP: dict[str, tuple[type, dict[str, str]]] = {
    "users": (UsersRepository, {}),
    "content": (ContentRepository, {}),
    "progress": (ProgressRepository, {}),
    "catalog": (CatalogRepository, {"list_languages": "takes no argument"}),
    "imports": (ImportsRepository, {}),
    "community": (CommunityRepository, {}),
    "flashcards": (FlashcardsRepository, {}),
    "favorites": (FavoritesRepository, {}),
    "achievements": (AchievementsRepository, {"list_all": "takes no argument"}),
    "deliveries": (DeliveriesRepository, {}),
    "pages": (PagesRepository, {}),
    "moderation": (ModerationRepository, {}),
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
    (attribute, name)
    for attribute, (cls, left_out) in SWEEP.items()
    for name in public_methods(cls)
    if name not in left_out
]


def test_the_sweep_covers_every_public_method(store: Store) -> None:
    on_store = {name for name in vars(store) if not name.startswith("_")}
    assert on_store <= set(SWEEP), f"repositories not in the sweep: {on_store - set(SWEEP)}"
    for attribute, (cls, left_out) in SWEEP.items():
        assert set(left_out) <= set(public_methods(cls)), f"{attribute}: left out but not a method"
    assert len(CASES) > 80


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
    post = store.community.create_post(course.id, "ada", "Hello", "First post")
    reply = store.community.reply(post.id, "bea", "A reply")
    review = store.community.review_course(course.id, "bea", 4, comment="Good")
    edit = store.community.propose_edit(course.id, "bea", "Better title", {"title": "Rust, better"})
    cards = store.flashcards.create_set("ada", "Words")
    card = store.flashcards.add_card("ada", cards.id, "front", "back")
    achievement = store.achievements.create("first", "First", {"kind": "lessons_completed", "threshold": 1})
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
        # community
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
        "note": "A note",
        "role": "reviewer",
        "accept": True,
        "rating": 5,
        "comment": "A comment",
        "days": 7,
        "limit": 10,
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
    }


@pytest.fixture(scope="module")
def count_rows(store: Store, sweep_db: str) -> Callable[[], dict[str, int]]:
    """Every table's row count, in one query built from the catalog."""
    with psycopg.connect(sweep_db) as conn:
        tables = [t for (t,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        )]  # fmt: skip
    query = (
        "SELECT json_build_object(" + ", ".join(f"'{t}', (SELECT count(*) FROM {t})" for t in tables) + ")"
    )

    def count() -> dict[str, int]:
        with psycopg.connect(sweep_db) as conn:
            row = conn.execute(query).fetchone()
        assert row is not None
        result: dict[str, int] = row[0] if isinstance(row[0], dict) else json.loads(row[0])
        return result

    return count


@pytest.mark.parametrize(("attribute", "method"), CASES, ids=[f"{a}.{m}" for a, m in CASES])
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
    data: st.DataObject,
    store: Store,
    valid: dict[str, Any],
    count_rows: Callable[[], dict[str, int]],
) -> None:
    bound = getattr(getattr(store, attribute), method)
    parameters = list(inspect.signature(bound).parameters.values())
    target = data.draw(st.sampled_from(parameters), label="hostile parameter")
    arguments: dict[str, Any] = {}
    for parameter in parameters:
        if parameter is target or (
            parameter.name not in valid and parameter.default is inspect.Parameter.empty
        ):
            arguments[parameter.name] = data.draw(HOSTILE, label=parameter.name)
        elif parameter.name in valid:
            arguments[parameter.name] = valid[parameter.name]
    before = count_rows()
    try:
        bound(**arguments)
    except LearnstoreError:
        assert count_rows() == before, f"{attribute}.{method} failed but changed rows"
    except Exception as exc:
        kind = f"{type(exc).__module__}.{type(exc).__name__}"
        raise AssertionError(f"{attribute}.{method}({_show(arguments)}) raised {kind}: {exc}") from exc


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
    assert count_rows() == before
