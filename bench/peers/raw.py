"""The raw psycopg 3 peer: the very SQL learnstore runs (read from the same .sql files), executed
with prepared statements and returning tuple rows. It is the floor: nothing can be cheaper with
the same SQL."""

from __future__ import annotations

from functools import cache
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from learnstore.queries._runtime import sync_queries


@cache
def sql(method: str) -> str:
    """The psycopg text of a learnstore query (`%(name)s` placeholders): the same SQL, not a copy."""
    text: str = getattr(sync_queries(), method).sql
    return text


# The course tree as plain relations, two statements: the other way a raw psycopg user would write
# it. The runner takes the faster of this and the JSON statement as the raw floor.
COURSE_ROW = "SELECT * FROM courses WHERE id = %(course_id)s AND status = 'published'"
TREE_ROWS = """
SELECT u.id, u.title, u.description, u.position,
       l.id, l.title, l.content_type, l.duration_seconds, l.position,
       (SELECT count(*) FROM media m WHERE m.lesson_id = l.id),
       (SELECT count(*) FROM quizzes q WHERE q.lesson_id = l.id)
FROM units u LEFT JOIN lessons l ON l.unit_id = u.id
WHERE u.course_id = %(course_id)s
ORDER BY u.position, l.position
"""


def search_params(text: str, limit: int) -> dict[str, Any]:
    """The parameters `store.catalog.discover(text=..., limit=...)` passes to
    `search_published_courses_newest` (newest first, first page)."""
    return {
        "text_query": text,
        "language_code": None,
        "difficulty": None,
        "tags": [],
        "match_all_tags": True,
        "after_id": None,
        "after_published_at": None,
        "page_size": limit + 1,
    }


def tree_from_rows(course: tuple[Any, ...] | None, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    units: dict[UUID, dict[str, Any]] = {}
    for unit_id, title, description, position, *lesson in rows:
        unit = units.setdefault(
            unit_id,
            {"id": unit_id, "title": title, "description": description, "position": position, "lessons": []},
        )
        if lesson[0] is not None:
            unit["lessons"].append(lesson)
    return {"course": course, "units": list(units.values())}


class RawSync:
    """The operations on one connection the caller owns (autocommit, as learnstore's)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def one(self, method: str, params: dict[str, Any], *, prepare: bool | None = True) -> Any:
        return self.conn.execute(sql(method), params, prepare=prepare).fetchone()

    def all(self, method: str, params: dict[str, Any], *, prepare: bool | None = True) -> list[Any]:
        return self.conn.execute(sql(method), params, prepare=prepare).fetchall()

    def tree_relational(self, course_id: UUID) -> dict[str, Any]:
        course = self.conn.execute(COURSE_ROW, {"course_id": course_id}, prepare=True).fetchone()
        rows = self.conn.execute(TREE_ROWS, {"course_id": course_id}, prepare=True).fetchall()
        return tree_from_rows(course, rows)


class RawAsync:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def one(self, method: str, params: dict[str, Any], *, prepare: bool | None = True) -> Any:
        cur = await self.conn.execute(sql(method), params, prepare=prepare)
        return await cur.fetchone()

    async def all(self, method: str, params: dict[str, Any], *, prepare: bool | None = True) -> list[Any]:
        cur = await self.conn.execute(sql(method), params, prepare=prepare)
        return await cur.fetchall()

    async def tree_relational(self, course_id: UUID) -> dict[str, Any]:
        course = await (
            await self.conn.execute(COURSE_ROW, {"course_id": course_id}, prepare=True)
        ).fetchone()
        rows = await (await self.conn.execute(TREE_ROWS, {"course_id": course_id}, prepare=True)).fetchall()
        return tree_from_rows(course, rows)


class RawPoolSync:
    """The same operations on a plain psycopg_pool.ConnectionPool of autocommit connections, a
    connection taken and returned per call the cheapest way psycopg_pool allows: `getconn()` and
    `putconn()`, without `pool.connection()`'s context (which also enters and exits the
    connection's own). The floor for learnstore's pool path (`learnstore.connect`)."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def one(self, method: str, params: dict[str, Any], *, prepare: bool | None = True) -> Any:
        conn = self.pool.getconn()
        try:
            return conn.execute(sql(method), params, prepare=prepare).fetchone()
        finally:
            self.pool.putconn(conn)

    def all(self, method: str, params: dict[str, Any], *, prepare: bool | None = True) -> list[Any]:
        conn = self.pool.getconn()
        try:
            return conn.execute(sql(method), params, prepare=prepare).fetchall()
        finally:
            self.pool.putconn(conn)

    def tree_relational(self, course_id: UUID) -> dict[str, Any]:
        conn = self.pool.getconn()
        try:
            return RawSync(conn).tree_relational(course_id)
        finally:
            self.pool.putconn(conn)


class RawPoolAsync:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def one(self, method: str, params: dict[str, Any], *, prepare: bool | None = True) -> Any:
        conn = await self.pool.getconn()
        try:
            return await (await conn.execute(sql(method), params, prepare=prepare)).fetchone()
        finally:
            await self.pool.putconn(conn)

    async def all(self, method: str, params: dict[str, Any], *, prepare: bool | None = True) -> list[Any]:
        conn = await self.pool.getconn()
        try:
            return await (await conn.execute(sql(method), params, prepare=prepare)).fetchall()
        finally:
            await self.pool.putconn(conn)

    async def tree_relational(self, course_id: UUID) -> dict[str, Any]:
        conn = await self.pool.getconn()
        try:
            return await RawAsync(conn).tree_relational(course_id)
        finally:
            await self.pool.putconn(conn)
