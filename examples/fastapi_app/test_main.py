"""The example service's tests, written as a consumer writes them: httpx against the app, on a real
PostgreSQL database from learnstore's pytest plugin (`fresh_db`: a migrated database per test).

Nothing here is specific to learnstore's own suite: installing `learnstore[dev]` (or learnstore, pytest,
pytest-asyncio, fastapi and httpx) registers the plugin, and these fixtures are all it takes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from main import create_app

import learnstore


@dataclass(frozen=True)
class Platform:
    dsn: str
    course_id: UUID
    draft_id: UUID
    lesson_ids: list[UUID]


@pytest.fixture
def platform(fresh_db: str) -> Platform:
    """An author, a learner, a published course of two units and three lessons, and a draft."""
    with learnstore.connect(fresh_db, max_size=1) as store:
        for clerk_id in ("user_author", "user_ada"):
            store.users.apply_clerk_event({"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}})
        lessons = [
            {"title": f"Lesson {n}", "content_type": "text", "content": {"body": f"# Lesson {n}"}}
            for n in range(1, 4)
        ]
        course = store.imports.import_course(
            {
                "author_clerk_id": "user_author",
                "title": "SQL for analysts",
                "status": "published",
                "units": [
                    {"title": "Selecting", "lessons": lessons[:2]},
                    {"title": "Joining", "lessons": lessons[2:]},
                ],
            }
        )
        draft = store.imports.import_course({"author_clerk_id": "user_author", "title": "Unfinished"})
        tree = store.content.get_course_tree(course.id)
        store.users.notify("user_ada", "system", "Welcome!")
    return Platform(fresh_db, course.id, draft.id, [lesson.id for lesson in tree.lessons()])


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """httpx talking to the app in-process, its lifespan (and so its AsyncStore) running."""
    app = create_app(platform.dsn)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        yield http


def count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # table: a literal of these tests
        assert row is not None
        return int(row[0])


async def test_a_learner_enrols_completes_lessons_and_sees_the_dashboard(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    enrolled = await client.post("/learners/user_ada/enrolments", json={"course_id": str(platform.course_id)})
    assert enrolled.status_code == 201
    assert enrolled.json()["progress"] == 0

    again = await client.post("/learners/user_ada/enrolments", json={"course_id": str(platform.course_id)})
    assert again.status_code == 201 and again.json()["id"] == enrolled.json()["id"]  # idempotent

    first = platform.lesson_ids[0]
    done = await client.put(f"/learners/user_ada/lessons/{first}/status", json={"status": "completed"})
    assert done.status_code == 200
    assert done.json()["progress"] == 33  # 1 of 3 lessons

    dashboard = await client.get("/learners/user_ada/dashboard")
    assert dashboard.status_code == 200
    [course] = dashboard.json()
    assert (course["title"], course["progress"]) == ("SQL for analysts", 33)


async def test_concurrent_enrolments_make_one(client: httpx.AsyncClient, platform: Platform) -> None:
    body = {"course_id": str(platform.course_id)}
    responses = await asyncio.gather(
        *(client.post("/learners/user_ada/enrolments", json=body) for _ in range(8))
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert count(platform.dsn, "user_courses") == 1


async def test_a_bad_body_is_fastapis_422_and_changes_nothing(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    lesson = platform.lesson_ids[0]
    for body in ({"status": "done"}, {"status": "x" * 1_000_000}, {}):
        response = await client.put(f"/learners/user_ada/lessons/{lesson}/status", json=body)
        assert response.status_code == 422
    enrol = await client.post("/learners/user_ada/enrolments", json={"course_id": "'; DROP TABLE users; --"})
    assert enrol.status_code == 422
    assert count(platform.dsn, "user_progress") == 0 and count(platform.dsn, "users") == 2


async def test_the_course_tree_lists_units_and_lessons_in_order(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    response = await client.get(f"/courses/{platform.course_id}/tree")

    assert response.status_code == 200
    tree = response.json()
    assert tree["course"]["title"] == "SQL for analysts"
    assert [unit["title"] for unit in tree["units"]] == ["Selecting", "Joining"]
    assert [[lesson["title"] for lesson in unit["lessons"]] for unit in tree["units"]] == [
        ["Lesson 1", "Lesson 2"],
        ["Lesson 3"],
    ]


async def test_notifications_count_unread_and_mark_read(client: httpx.AsyncClient) -> None:
    listed = await client.get("/learners/user_ada/notifications")
    assert listed.status_code == 200
    assert listed.json()["unread"] == 1
    assert [n["message"] for n in listed.json()["items"]] == ["Welcome!"]

    marked = await client.post("/learners/user_ada/notifications/read")
    assert marked.json() == {"marked": 1}
    assert (await client.get("/learners/user_ada/notifications")).json()["unread"] == 0


async def test_unknown_things_are_404(client: httpx.AsyncClient, platform: Platform) -> None:
    course = await client.get(f"/courses/{uuid4()}/tree")
    assert course.status_code == 404
    assert course.json()["error"] == "NotFound"
    assert course.json()["field"] == "course_id"

    assert (await client.get("/learners/user_nobody/notifications")).status_code == 404
    enrol = await client.post("/learners/user_nobody/enrolments", json={"course_id": str(platform.course_id)})
    assert enrol.status_code == 404
    assert count(platform.dsn, "user_courses") == 0


async def test_a_draft_course_is_a_409_and_nothing_changes(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    response = await client.post("/learners/user_ada/enrolments", json={"course_id": str(platform.draft_id)})

    assert response.status_code == 409
    assert response.json()["error"] == "Conflict"
    assert count(platform.dsn, "user_courses") == 0


async def test_a_lesson_of_a_course_not_enrolled_in_is_a_409(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    lesson = platform.lesson_ids[0]
    response = await client.put(f"/learners/user_ada/lessons/{lesson}/status", json={"status": "completed"})

    assert response.status_code == 409
    assert count(platform.dsn, "user_progress") == 0


async def test_invalid_values_are_422_from_learnstore(client: httpx.AsyncClient) -> None:
    # FastAPI checks the path's types; learnstore checks what they mean (a clerk id's length).
    response = await client.get("/learners/" + "x" * 300 + "/dashboard")

    assert response.status_code == 422
    assert response.json()["error"] == "InvalidValue"
    assert response.json()["field"] == "clerk_id"


async def test_a_database_gone_away_is_a_503(client: httpx.AsyncClient, platform: Platform) -> None:
    # Another session ends the app's connections, and takes the database with it.
    with psycopg.connect(platform.dsn.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{platform.dsn.rsplit("/", 1)[1]}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (platform.dsn.rsplit("/", 1)[1],),
        )
    try:
        response = await client.get("/learners/user_ada/dashboard")
        assert response.status_code == 503
        assert response.json()["error"] == "Unavailable"
    finally:
        with psycopg.connect(platform.dsn.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{platform.dsn.rsplit("/", 1)[1]}" ALLOW_CONNECTIONS true')
