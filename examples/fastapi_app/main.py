"""A FastAPI service over learnstore: the store opened in the lifespan, repositories injected per request.

    LEARNSTORE_DSN=postgresql://... uvicorn main:app     # or no DSN: the embedded PostgreSQL

Every learnstore error becomes an HTTP status in one exception handler (`STATUS`), so the endpoints
hold no try/except, and no request can end in a 500: a request body past `MAX_BODY` is a 413, a
body FastAPI cannot validate a 422 that never echoes the input, a blocked table a 503 with
`Retry-After` after `lock_timeout`, a slow statement a 504 after `statement_timeout`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Depends, FastAPI, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import learnstore
from learnstore.embedded import default_dsn
from learnstore.errors import (
    AlreadyExists,
    Conflict,
    Contention,
    InvalidReference,
    InvalidValue,
    LearnstoreError,
    NotFound,
    PermissionDenied,
    QueryFileError,
    SignatureInvalid,
    Timeout,
    Unavailable,
)
from learnstore.queries.models import ListLearnerCoursesRow, Notification, UserCourse
from learnstore.repositories.content_async import AsyncContentRepository, CourseTree
from learnstore.repositories.progress_async import AsyncProgressRepository
from learnstore.repositories.users_async import AsyncUsersRepository

#: The largest request body accepted (bytes): every body here is a few dozen bytes of JSON.
MAX_BODY = 16 * 1024
#: How much of a message an error response carries: a 1 MB bad value does not come back whole.
MAX_MESSAGE = 300
#: Seconds a client is told to wait before retrying a 503.
RETRY_AFTER = 1

# -- the store: one pool for the app's lifetime ----------------------------------------------------


def create_app(
    dsn: str | None = None,
    *,
    pool_size: int = 10,
    pool_timeout: float = 5.0,
    statement_timeout: float | None = 5.0,
    lock_timeout: float | None = 0.5,
    retries: int = 1,
) -> FastAPI:
    """The app over the database of `dsn` (default: $LEARNSTORE_DSN, else the embedded PostgreSQL).

    `lock_timeout` (seconds) bounds how long a request waits for a row or table lock: a request
    blocked behind another transaction gives its pooled connection back after that long (503,
    `Retry-After`), so one locked table cannot hold every connection and stall unrelated routes.
    `statement_timeout` bounds any statement (504). `retries`: how many more times learnstore runs an
    operation that lost a race, a lock wait included, so a blocked request holds its connection for
    up to lock_timeout x (1 + retries). `pool_timeout`: how long a request waits for a free
    connection before its 503. See docs/production.md, "Sizing the pool and the timeouts".
    """
    if lock_timeout is not None:
        _with_option("", "lock_timeout", lock_timeout)  # a bad value fails here, not at startup

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Opened once at startup: a wrong DSN fails the startup, not the first request.
        url = default_dsn() if dsn is None else dsn
        if lock_timeout is not None:
            url = _with_option(url, "lock_timeout", lock_timeout)
        async with await learnstore.connect_async(
            url,
            max_size=pool_size,
            timeout=pool_timeout,
            statement_timeout=statement_timeout,
            retries=retries,
        ) as store:
            app.state.store = store
            yield

    app = FastAPI(title="learnstore example", lifespan=lifespan)
    app.add_exception_handler(LearnstoreError, learnstore_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    _routes(app)
    return app


def _with_option(dsn: str, name: str, seconds: float) -> str:
    """`dsn` with `-c name=<milliseconds>` added to its libpq options (the server applies them at
    connect, so every pooled connection has them; behind PgBouncer set them on the role instead)."""
    if not seconds > 0 or math.isinf(seconds):
        raise InvalidValue(f"{name} must be a positive number of seconds, not {seconds!r}", field=name)
    options = str(conninfo_to_dict(dsn).get("options") or "")
    return make_conninfo(dsn, options=f"{options} -c {name}={max(1, round(seconds * 1000))}".strip())


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


# -- errors: one handler, and a status for every learnstore error ---------------------------------

#: Most specific first (Contention and AlreadyExists are Conflicts); a test checks that every error
#: class in learnstore.errors has its own row.
STATUS: list[tuple[type[LearnstoreError], int]] = [
    (NotFound, status.HTTP_404_NOT_FOUND),
    (PermissionDenied, status.HTTP_403_FORBIDDEN),
    (SignatureInvalid, status.HTTP_401_UNAUTHORIZED),
    # A lost race or a lock wait past lock_timeout: retryable, so 503 with Retry-After, not a 409.
    (Contention, status.HTTP_503_SERVICE_UNAVAILABLE),
    (AlreadyExists, status.HTTP_409_CONFLICT),
    (Conflict, status.HTTP_409_CONFLICT),
    (InvalidValue, 422),
    (InvalidReference, 422),
    (Unavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
    # statement_timeout cancelled it: the server took too long, and retrying will likely too.
    (Timeout, status.HTTP_504_GATEWAY_TIMEOUT),
    # A query file that does not load is a broken deployment, found at startup, not per request.
    (QueryFileError, status.HTTP_500_INTERNAL_SERVER_ERROR),
    # The root class itself is never raised by learnstore; the row keeps `next()` below total.
    (LearnstoreError, status.HTTP_500_INTERNAL_SERVER_ERROR),
]


def _safe(text: str) -> str:
    """`text` short, and encodable as UTF-8 (a lone surrogate from the request becomes an escape)."""
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _response(body: dict[str, Any], code: int) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER)} if code == status.HTTP_503_SERVICE_UNAVAILABLE else None
    return JSONResponse(body, status_code=code, headers=headers)


async def learnstore_error(request: Request, exc: LearnstoreError) -> JSONResponse:
    """A learnstore error as JSON, with the status its class maps to."""
    code = next(code for kind, code in STATUS if isinstance(exc, kind))
    field = None if exc.field is None else _safe(exc.field)
    return _response({"error": type(exc).__name__, "message": _safe(exc.message), "field": field}, code)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 without its `input` echo: the input may be a megabyte, or not serialisable at
    all (NaN, Infinity, a lone surrogate), which made FastAPI's own handler answer 500."""
    errors = [
        {"field": ".".join(_safe(str(part)) for part in error.get("loc", ())), "message": _safe(error["msg"])}
        for error in exc.errors()[:10]
    ]
    first = errors[0] if errors else {"field": None, "message": "invalid request"}
    body = {"error": "RequestValidationError", **first, "errors": errors}
    return _response(body, 422)


class BodyLimit:
    """Refuse a request body past `limit` bytes with a 413 before the app sees it: by its
    Content-Length, or (chunked, no length) as soon as the bytes received pass the limit. The body
    is small by then, so it is read here and handed on whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:  # after the body, the app may wait for a disconnect
                return await receive()
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = {"error": "PayloadTooLarge", "message": f"the body is over {self.limit} bytes", "field": None}
        await JSONResponse(body, status_code=413)(scope, receive, send)


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
    async def dashboard(clerk_id: str, progress: Progress, users: Users) -> list[ListLearnerCoursesRow]:
        """The learner's courses with progress, most recent activity first (404: no such learner)."""
        courses = await progress.list_courses(clerk_id)
        if not courses:
            await users.get(clerk_id)  # an empty dashboard, or an unknown learner: NotFound, 404
        return courses

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
        marked = await users.mark_all_read(clerk_id)
        if not marked:
            await users.get(clerk_id)  # none unread, or an unknown learner: 404
        return {"marked": marked}


app = create_app()
