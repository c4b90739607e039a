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
from main import MAX_BODY, STATUS, create_app, learnstore_error
from starlette.requests import Request

import learnstore
import learnstore.errors


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
    for body in ({"status": "done"}, {"status": "x" * 10_000}, {}):
        response = await client.put(f"/learners/user_ada/lessons/{lesson}/status", json=body)
        assert response.status_code == 422
        assert len(response.content) < 2_000  # the bad value is not echoed back
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


async def test_an_unknown_learners_dashboard_is_a_404_and_a_known_empty_one_is_200(
    client: httpx.AsyncClient,
) -> None:
    unknown = await client.get("/learners/user_nobody/dashboard")
    assert unknown.status_code == 404 and unknown.json()["error"] == "NotFound"
    assert (await client.post("/learners/user_nobody/notifications/read")).status_code == 404

    empty = await client.get("/learners/user_ada/dashboard")  # a learner with no enrolment yet
    assert (empty.status_code, empty.json()) == (200, [])


def _error_classes() -> list[type[learnstore.LearnstoreError]]:
    """Every error class learnstore.errors defines, found rather than listed: a new one fails below."""
    return [
        value
        for value in vars(learnstore.errors).values()
        if isinstance(value, type) and issubclass(value, learnstore.LearnstoreError)
    ]


@pytest.mark.parametrize("kind", _error_classes(), ids=lambda kind: kind.__name__)
async def test_every_learnstore_error_has_its_own_status(kind: type[learnstore.LearnstoreError]) -> None:
    assert kind in {mapped for mapped, _ in STATUS}, f"main.STATUS has no row for {kind.__name__}"
    response = await learnstore_error(Request({"type": "http"}), kind("why \ud800", field="f"))
    expected = {
        "NotFound": 404,
        "PermissionDenied": 403,
        "SignatureInvalid": 401,
        "Contention": 503,
        "Unavailable": 503,
        "Timeout": 504,
        "Conflict": 409,
        "AlreadyExists": 409,
        "InvalidValue": 422,
        "InvalidReference": 422,
        "QueryFileError": 500,
        "LearnstoreError": 500,
    }
    assert response.status_code == expected[kind.__name__]
    # a retryable error tells the client when to come back
    assert ("retry-after" in response.headers) == (response.status_code == 503)
    assert kind.retryable == (response.status_code == 503)


HOSTILE_BODIES = {
    "NaN": b'{"course_id": NaN}',
    "Infinity": b'{"course_id": Infinity}',
    "-Infinity": b'{"course_id": -Infinity}',
    "a lone surrogate": b'{"course_id": "\\ud800"}',
    "a lone surrogate in a key": b'{"\\udfff": 1}',
    "not JSON": b"{'course_id':",
    "not UTF-8": b'{"course_id": "\xff\xfe"}',
    "a list": b"[1, 2, 3]",
    "a bad value of 15 kB": b'{"course_id": "' + b"x" * 15_000 + b'"}',
    "nesting 5,000 deep": b"[" * 5_000 + b"]" * 5_000,
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
async def test_a_hostile_body_is_a_short_4xx_and_changes_nothing(
    client: httpx.AsyncClient, platform: Platform, body: bytes
) -> None:
    response = await client.post(
        "/learners/user_ada/enrolments", content=body, headers={"content-type": "application/json"}
    )

    # 400 where the body is not JSON at all (FastAPI's own "error parsing the body"), else 422
    assert response.status_code in (400, 422), response.text
    assert response.status_code == 400 or response.json()["error"] == "RequestValidationError"
    assert len(response.content) < 2_000
    assert count(platform.dsn, "user_courses") == 0


async def test_a_body_past_the_limit_is_a_413_declared_or_streamed(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    big = b'{"course_id": "' + b"x" * MAX_BODY + b'"}'
    declared = await client.post(
        "/learners/user_ada/enrolments", content=big, headers={"content-type": "application/json"}
    )

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit counts what arrives
        for start in range(0, len(big), 1024):
            yield big[start : start + 1024]

    streamed = await client.post(
        "/learners/user_ada/enrolments", content=chunks(), headers={"content-type": "application/json"}
    )

    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert declared.json()["error"] == "PayloadTooLarge"
    assert count(platform.dsn, "user_courses") == 0


async def test_hostile_paths_are_4xx(client: httpx.AsyncClient) -> None:
    for path in ("/learners/a%00b/dashboard", "/learners/%ED%A0%80/dashboard", "/courses/NaN/tree"):
        response = await client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)


@pytest.fixture
async def locked_app(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a short lock timeout, and a pool smaller than the crowd that will wait on a lock."""
    app = create_app(platform.dsn, pool_size=4, lock_timeout=0.2, statement_timeout=5)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        yield http


async def test_a_held_lock_is_a_503_with_retry_after_and_other_routes_still_answer(
    locked_app: httpx.AsyncClient, platform: Platform
) -> None:
    body = {"course_id": str(platform.course_id)}
    with psycopg.connect(platform.dsn) as holder:
        # Another transaction holds the enrolments table for as long as this block runs.
        holder.execute("LOCK TABLE user_courses IN ACCESS EXCLUSIVE MODE")
        blocked, other = await asyncio.gather(
            asyncio.gather(*(locked_app.post("/learners/user_ada/enrolments", json=body) for _ in range(16))),
            locked_app.get("/learners/user_ada/notifications"),
        )
        # Every response arrived while the lock was still held: none waited for its release, so
        # the bound on the wait is lock_timeout (times the retries), not the lock holder's whim.
        holder.rollback()

    assert {r.status_code for r in blocked} == {503}
    assert {r.json()["error"] for r in blocked} == {"Contention"}
    assert all(r.headers["retry-after"] == "1" for r in blocked)
    assert other.status_code == 200 and other.json()["unread"] == 1
    assert count(platform.dsn, "user_courses") == 0

    retried = await locked_app.post("/learners/user_ada/enrolments", json=body)
    assert retried.status_code == 201


async def test_a_statement_past_the_statement_timeout_is_a_504(platform: Platform) -> None:
    app = create_app(platform.dsn, lock_timeout=None, statement_timeout=0.3)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        with psycopg.connect(platform.dsn) as holder:
            holder.execute("LOCK TABLE user_courses IN ACCESS EXCLUSIVE MODE")
            response = await http.get("/learners/user_ada/dashboard")
            holder.rollback()

    assert response.status_code == 504
    assert response.json()["error"] == "Timeout"


def test_the_timeouts_are_checked_when_the_app_is_made() -> None:
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(learnstore.InvalidValue, match="lock_timeout"):
            create_app("postgresql://unused", lock_timeout=bad)
