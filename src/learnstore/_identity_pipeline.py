"""A lone statement run as a user in one round trip, with prepared plans: the protocol generator that
`LearnstoreCursor` and `AsyncLearnstoreCursor` both drive (sync through `conn.wait()`, async
through `await conn.wait()`).

The settings and the statement go to the server as one libpq pipeline: Bind/Execute of the
identity's `set_config` calls, Bind/Execute of the statement, one Sync. The messages before a Sync
form one implicit transaction, so the transaction-local settings apply to the statement and end
with it: the connection (or a PgBouncer server connection) never carries the identity further.

Why by hand and not psycopg's `pipeline()`: its enter, queue and exit cost more than the statement
(a one-row read as a user took 1.5-2x the owner path's time that way). Why prepared: an unprepared
statement is parsed and planned every time, which was most of what was left (1.4-1.6x). Both
statements are prepared once per connection under names of learnstore's own (`_ls_<n>`), beside
psycopg's (`_pg3_<n>`); a policy reads the identity at execution, so one plan serves every user.
Where the server side does not keep prepared statements (PgBouncer before 1.21 in transaction
mode: the connection's `prepare_threshold` is None) they are sent unnamed.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import psycopg
from psycopg import pq
from psycopg.abc import Params, PQGen, QueryNoTemplate
from psycopg.generators import fetch_many, send

__all__ = ["MAX_PREPARED", "SET_IDENTITY", "run_as"]

SET_IDENTITY = b"SELECT set_config('role', $1, true), set_config('learnstore.clerk_id', $2, true)"

#: Statements a connection prepares for identities; past this, the rest are sent unnamed (learnstore
#: has a few hundred queries, of which a service uses far fewer).
MAX_PREPARED = 256

_OK = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK, pq.ExecStatus.EMPTY_QUERY)


def run_as(
    cursor: psycopg.Cursor[Any] | psycopg.AsyncCursor[Any],
    query: QueryNoTemplate,
    params: Params | None,
    identity: tuple[str, str],
    prepared: dict[bytes, bytes] | None,
    binary: bool | None = None,
) -> PQGen[None]:
    """Run `query` as `identity` (role, clerk_id) and leave `cursor` on its result.

    `prepared` maps a statement's text to its name on this connection (None: never prepare). A
    name is recorded only once the server has accepted it.
    """
    yield from cursor._start_query(query)
    pgq = cursor._convert_query(query, params)
    pg = cursor._pgconn
    fmt = cursor.format if binary is None else pq.Format.BINARY if binary else pq.Format.TEXT
    fresh: list[tuple[int, bytes, bytes]] = []  # (result group, text, name) prepared by this pipeline
    sent = 0  # result groups to come

    def send_statement(text: bytes, values: Any, types: Any, formats: Any) -> None:
        nonlocal sent
        name = None if prepared is None else prepared.get(text)
        if name is None and prepared is not None and len(prepared) + len(fresh) < MAX_PREPARED:
            name = b"_ls_%d" % (len(prepared) + len(fresh))
            pg.send_prepare(name, text, param_types=types)
            fresh.append((sent, text, name))
            sent += 1
        sent += 1
        if name is None:
            pg.send_query_params(text, values, param_types=types, param_formats=formats, result_format=fmt)
        else:
            pg.send_query_prepared(name, values, param_formats=formats, result_format=fmt)

    role, clerk_id = identity
    pg.enter_pipeline_mode()
    try:
        send_statement(SET_IDENTITY, [role.encode(), clerk_id.encode()], None, None)
        send_statement(pgq.query, pgq.params, pgq.types, pgq.formats)
        pg.pipeline_sync()
        yield from send(pg)
        groups = []
        for _ in range(sent):
            groups.append((yield from fetch_many(pg)))
        yield from fetch_many(pg)  # the Sync's
    except BaseException:
        with suppress(psycopg.Error):
            pg.exit_pipeline_mode()
        raise
    pg.exit_pipeline_mode()
    if prepared is not None:  # what the server accepted, even when a later message failed
        for group, text, name in fresh:
            if groups[group][0].status == pq.ExecStatus.COMMAND_OK:
                prepared[text] = name
    # In the order sent: [prepare identity], identity, [prepare statement], statement.
    for results in groups:
        if any(res.status not in _OK for res in results):
            cursor._check_results(results)  # raises the first error, the server's own
    cursor._set_results(groups[-1])
    cursor._last_query = query
