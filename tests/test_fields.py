"""Every error names its field: a NUL character in any text parameter names the parameter (one check,
where every query is called), and constraint violations raised through the repositories carry the
column. (tests/test_schema.py walks every constraint of the catalog and asserts the same.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import learnstore
from learnstore import Store
from learnstore.achievement_rules import ForumPosts
from learnstore.errors import InvalidValue, LearnstoreError

NUL = "a\x00b"


def sql(dsn: str, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


@pytest.fixture
def world(fresh_db: str) -> dict[str, Any]:
    sql(fresh_db, "INSERT INTO users (clerk_id) VALUES ('author'), ('ana')")
    (course_id,) = sql(
        fresh_db,
        "INSERT INTO courses (author_clerk_id, title, status, published_at)"
        " VALUES ('author', 'C', 'published', now()) RETURNING id",
    )[0]
    sql(fresh_db, "INSERT INTO user_courses (user_clerk_id, course_id) VALUES ('ana', %s)", [course_id])
    (post_id,) = sql(
        fresh_db,
        "INSERT INTO forum_posts (course_id, author_clerk_id, title, body)"
        " VALUES (%s, 'ana', 'T', 'B') RETURNING id",
        [course_id],
    )[0]
    return {"course_id": course_id, "post_id": post_id}


# (what, the call, the field its error must name)
CALLS: list[tuple[str, Callable[[Store, dict[str, Any]], object], str]] = [
    ("post title", lambda s, w: s.forum.create_post(w["course_id"], "ana", NUL, "Body"), "title"),
    ("post body", lambda s, w: s.forum.create_post(w["course_id"], "ana", "Title", NUL), "body"),
    ("reply body", lambda s, w: s.forum.reply(w["post_id"], "ana", NUL), "body"),
    (
        "review comment",
        lambda s, w: s.reviews.review_course(w["course_id"], "ana", 4, comment=NUL),
        "comment",
    ),
    (
        "edit summary",
        lambda s, w: s.edits.propose_edit(w["course_id"], "ana", NUL, {"title": "New"}),
        "summary",
    ),
    ("achievement title", lambda s, w: s.achievements.create("code", NUL, ForumPosts(threshold=1)), "title"),
    ("notification message", lambda s, w: s.users.notify("ana", "system", NUL), "message"),
]


@pytest.mark.parametrize(("what", "call", "field"), CALLS, ids=[case[0] for case in CALLS])
def test_a_nul_character_is_invalid_and_names_its_parameter(
    fresh_db: str,
    world: dict[str, Any],
    what: str,
    call: Callable[[Store, dict[str, Any]], object],
    field: str,
) -> None:
    before = sql(fresh_db, "SELECT (SELECT count(*) FROM forum_posts), (SELECT count(*) FROM notifications)")
    with learnstore.connect(fresh_db, max_size=1) as store, pytest.raises(InvalidValue) as caught:
        call(store, world)
    assert caught.value.field == field, f"{what}: {caught.value!r}"
    assert "NUL" in caught.value.message
    after = sql(fresh_db, "SELECT (SELECT count(*) FROM forum_posts), (SELECT count(*) FROM notifications)")
    assert after == before


def test_a_nul_inside_a_list_or_json_parameter_is_named_too(fresh_db: str, world: dict[str, Any]) -> None:
    with learnstore.connect(fresh_db, max_size=1) as store:
        with pytest.raises(InvalidValue) as caught:
            store.users.notify("ana", "system", "Hello", metadata={"note": NUL})
        assert caught.value.field == "metadata"


def test_a_foreign_key_or_unique_violation_through_a_repository_names_its_column(
    fresh_db: str, world: dict[str, Any]
) -> None:
    with learnstore.connect(fresh_db, max_size=1) as store:
        with pytest.raises(LearnstoreError) as caught:
            store.users.notify("ghost", "system", "Hello")
        assert caught.value.field == "user_clerk_id"
        store.achievements.create("code", "Title", ForumPosts(threshold=1))
        with pytest.raises(LearnstoreError) as caught:
            store.achievements.create("code", "Again", ForumPosts(threshold=1))
        assert caught.value.field == "code"
