"""A FastAPI service over learnstore: the store opened in the lifespan, repositories injected per request.

    LEARNSTORE_DSN=postgresql://... uvicorn main:app     # or no DSN: the embedded PostgreSQL

Every learnstore error becomes an HTTP status in one exception handler, so the endpoints hold no
try/except: NotFound -> 404, InvalidValue / InvalidReference -> 422, Conflict (and AlreadyExists) ->
409, Unavailable -> 503.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Depends, FastAPI, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import learnstore
from learnstore.errors import (
    Conflict,
    InvalidReference,
    InvalidValue,
    LearnstoreError,
    NotFound,
    Unavailable,
)
from learnstore.queries.models import ListLearnerCoursesRow, Notification, UserCourse
from learnstore.repositories.content_async import AsyncContentRepository, CourseTree
from learnstore.repositories.progress_async import AsyncProgressRepository
from learnstore.repositories.users_async import AsyncUsersRepository

# -- the store: one pool for the app's lifetime ----------------------------------------------------


def create_app(dsn: str | None = None) -> FastAPI:
    """The app over the database of `dsn` (default: $LEARNSTORE_DSN, else the embedded PostgreSQL)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Opened once at startup: a wrong DSN fails the startup, not the first request.
        async with await learnstore.connect_async(dsn, max_size=10) as store:
            app.state.store = store
            yield

    app = FastAPI(title="learnstore example", lifespan=lifespan)
    app.add_exception_handler(LearnstoreError, learnstore_error)  # type: ignore[arg-type]
    _routes(app)
    return app


def get_store(request: Request) -> learnstore.AsyncStore:
    store: learnstore.AsyncStore = request.app.state.store
    return store


Store = Annotated[learnstore.AsyncStore, Depends(get_store)]


def get_progress(store: Store) -> AsyncProgressRepository:
    return store.progress


def get_content(store: Store) -> AsyncContentRepository:
    return store.content


def get_users(store: Store) -> AsyncUsersRepository:
    return store.users


Progress = Annotated[AsyncProgressRepository, Depends(get_progress)]
Content = Annotated[AsyncContentRepository, Depends(get_content)]
Users = Annotated[AsyncUsersRepository, Depends(get_users)]


# -- errors: one handler -------------------------------------------------------------------------

#: most specific first: AlreadyExists is a Conflict
STATUS: list[tuple[type[LearnstoreError], int]] = [
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (InvalidValue, 422),
    (InvalidReference, 422),
    (Unavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
]


async def learnstore_error(request: Request, exc: LearnstoreError) -> JSONResponse:
    """A learnstore error as JSON, with the status its class maps to (500 for any other)."""
    code = next((code for kind, code in STATUS if isinstance(exc, kind)), 500)
    body = {"error": type(exc).__name__, "message": exc.message, "field": exc.field}
    return JSONResponse(body, status_code=code)


# -- the endpoints -------------------------------------------------------------------------------


class EnrolmentIn(BaseModel):
    course_id: UUID


class LessonStatusIn(BaseModel):
    status: Literal["not_started", "in_progress", "completed"]


class NotificationsOut(BaseModel):
    unread: int
    items: list[Notification]


def _routes(app: FastAPI) -> None:
    @app.get("/learners/{clerk_id}/dashboard")
    async def dashboard(clerk_id: str, progress: Progress) -> list[ListLearnerCoursesRow]:
        """The learner's courses with progress, most recent activity first."""
        return await progress.list_courses(clerk_id)

    @app.get("/courses/{course_id}/tree")
    async def course_tree(course_id: UUID, content: Content) -> CourseTree:
        """A published course's units and lessons, in order, from one query."""
        return await content.get_course_tree(course_id)

    @app.post("/learners/{clerk_id}/enrolments", status_code=status.HTTP_201_CREATED)
    async def enrol(clerk_id: str, body: EnrolmentIn, progress: Progress) -> UserCourse:
        """Enrol in a published course (idempotent: enrolling again returns the same enrolment)."""
        return await progress.enrol(clerk_id, body.course_id)

    @app.put("/learners/{clerk_id}/lessons/{lesson_id}/status")
    async def set_lesson_status(
        clerk_id: str, lesson_id: UUID, body: LessonStatusIn, progress: Progress
    ) -> UserCourse:
        """Set the learner's status in a lesson; the enrolment comes back with its progress."""
        return await progress.set_lesson_status(clerk_id, lesson_id, body.status)

    @app.get("/learners/{clerk_id}/notifications")
    async def notifications(
        clerk_id: str, users: Users, limit: Annotated[int, Query(ge=1, le=100)] = 20
    ) -> NotificationsOut:
        """The newest notifications, and how many are unread."""
        await users.get(clerk_id)  # 404 for an unknown learner, rather than an empty list
        items = await users.list_notifications(clerk_id, limit=limit)
        return NotificationsOut(unread=await users.count_unread(clerk_id), items=items)

    @app.post("/learners/{clerk_id}/notifications/read")
    async def mark_all_read(clerk_id: str, users: Users) -> dict[str, int]:
        """Mark every notification read; how many were unread."""
        return {"marked": await users.mark_all_read(clerk_id)}


app = create_app()
