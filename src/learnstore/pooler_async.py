"""What is at the other end of a DSN: PostgreSQL itself, or PgBouncer in front of it, and whether
server-side prepared statements survive the trip.

PgBouncer in transaction mode hands each transaction to whichever server connection is free; a
statement psycopg prepared on one is unknown on the next, unless PgBouncer tracks them (protocol-level
prepared statements, PgBouncer 1.21 and later, with `max_prepared_statements` above 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

__all__ = ["PREPARED_STATEMENTS_SINCE", "Pooler", "detect_pooler"]

#: The first PgBouncer release that tracks protocol-level prepared statements.
PREPARED_STATEMENTS_SINCE = (1, 21)

_VERSION = re.compile(r"PgBouncer (\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class Pooler:
    """A pooler between the client and PostgreSQL, as far as it could be told from the client side."""

    version: tuple[int, ...] | None
    """PgBouncer's version from its admin console (`SHOW VERSION`); None if the user may not ask."""
    max_prepared_statements: int | None
    """Its `max_prepared_statements` setting (`SHOW CONFIG`); None if unknown or too old to have it."""

    @property
    def prepares(self) -> bool:
        """Whether prepared statements survive it: only a known version and setting that say so."""
        return (
            self.version is not None
            and self.version >= PREPARED_STATEMENTS_SINCE
            and bool(self.max_prepared_statements)
        )


async def detect_pooler(conn: psycopg.AsyncConnection[Any]) -> Pooler | None:
    """The pooler `conn` goes through, or None when it reaches PostgreSQL directly. One round trip,
    and when there is a pooler a connection to its admin console.

    A pooler answers the connection's startup itself, with a backend process id of its own making
    (PgBouncer's is random); PostgreSQL's pg_backend_pid() then names another process.
    """
    cur = await conn.execute("SELECT pg_backend_pid()")
    row = await cur.fetchone()
    if row is not None and row[0] == conn.info.backend_pid:
        return None
    params = conn.info.get_parameters()
    params["dbname"] = "pgbouncer"  # PgBouncer's admin console
    if conn.info.password:
        params["password"] = conn.info.password
    try:
        async with await psycopg.AsyncConnection.connect(
            make_conninfo(**params), autocommit=True, connect_timeout=5
        ) as admin:
            # The console speaks only the simple query protocol, hence no parameters.
            version_row = await (await admin.execute("SHOW VERSION")).fetchone()
            config = await (await admin.execute("SHOW CONFIG")).fetchall()
    except psycopg.Error:
        return Pooler(version=None, max_prepared_statements=None)  # not an admin or stats user
    found = _VERSION.search(str(version_row[0])) if version_row else None
    version = tuple(int(part) for part in found.groups() if part is not None) if found else None
    settings = {str(row[0]): str(row[1]) for row in config}
    prepared = settings.get("max_prepared_statements")
    return Pooler(version=version, max_prepared_statements=int(prepared) if prepared else None)
