"""Browsing public flashcard sets, registered with bench.registry: newest first, most used first and a
text search, a page of 20 with card counts and owners, for learnstore, raw psycopg (the same SQL, from
sql/queries/sharing.sql) and the SQLAlchemy ORM.

    python -m bench.run --scale small --only browse_sets --only browse_sets_most_used --only search_sets \
        --import-reps 0

The sets are made when an operation is built, once per database: 5,000 sets (two in three public)
of ten cards each, owned by the dataset's first 500 users, one in fifty titled "... travel ...".
Each set has 0 to 15 learners (flashcard_set_learners, counted by its triggers). The ORM reads the
page with its owners joined, then the card counts in one grouped query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import desc, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bench.peers import orm
from bench.registry import Impls, Peers, operation

SETS, CARDS, PAGE = 5_000, 10, 20
SEARCH = "travel"


class _Base(DeclarativeBase):
    pass


class _Set(_Base):
    __tablename__ = "flashcard_sets"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    owner_clerk_id: Mapped[str]
    course_id: Mapped[UUID | None]
    language_id: Mapped[UUID | None]
    title: Mapped[str]
    description: Mapped[str]
    is_public: Mapped[bool]
    forked_from: Mapped[UUID | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    learners: Mapped[int]


class _Card(_Base):
    __tablename__ = "flashcards"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    set_id: Mapped[UUID]


def _ensure_sets(p: Peers) -> None:
    """The sets to browse, made once per database (their titles start with 'Bench set')."""
    row = p.setup.execute("SELECT count(*) FROM flashcard_sets WHERE title LIKE 'Bench set %%'").fetchone()
    if row is not None and row[0] >= SETS:
        return
    p.setup.execute(
        "WITH owners AS (SELECT clerk_id, row_number() OVER (ORDER BY clerk_id) AS n FROM users LIMIT 500)"
        " INSERT INTO flashcard_sets (owner_clerk_id, title, description, is_public, created_at)"
        " SELECT o.clerk_id, 'Bench set ' || i || CASE WHEN mod(i, 50) = 0 THEN ' travel words' ELSE '' END,"
        " 'Words to learn, set ' || i, mod(i, 3) > 0, now() - make_interval(secs => i)"
        " FROM generate_series(1, %s) AS i JOIN owners o ON o.n = mod(i, 500) + 1",
        [SETS],
    )
    p.setup.execute(
        "INSERT INTO flashcards (set_id, front, back, position)"
        " SELECT s.id, 'front ' || c, 'back ' || c, c FROM flashcard_sets s, generate_series(0, %s) AS c"
        " WHERE s.title LIKE 'Bench set %%'",
        [CARDS - 1],
    )
    _ensure_learners(p)
    # What autovacuum would have done by the time anyone browses: statistics, and the visibility map
    # that lets a set's cards be counted from the index alone.
    p.setup.execute("VACUUM ANALYZE flashcard_sets")
    p.setup.execute("VACUUM ANALYZE flashcards")


def _ensure_learners(p: Peers) -> None:
    """0 to 15 learners per bench set, as pairs: their triggers count them into flashcard_sets.learners."""
    row = p.setup.execute(
        "SELECT EXISTS (SELECT FROM flashcard_set_learners l JOIN flashcard_sets s ON s.id = l.set_id"
        " WHERE s.title LIKE 'Bench set %%')"
    ).fetchone()
    if row is not None and row[0]:
        return
    p.setup.execute(
        "WITH learners AS (SELECT clerk_id, row_number() OVER (ORDER BY clerk_id) AS n FROM users LIMIT 15)"
        " INSERT INTO flashcard_set_learners (set_id, user_clerk_id)"
        " SELECT s.id, l.clerk_id FROM flashcard_sets s JOIN learners l ON l.n <= (hashtext(s.id::text) & 15)"
        " WHERE s.title LIKE 'Bench set %%' ON CONFLICT DO NOTHING"
    )


def orm_browse(session: Session, text: str | None, most_used: bool = False) -> list[tuple[Any, ...]]:
    query = (
        select(_Set, orm.User.first_name, orm.User.last_name, orm.User.avatar_url)
        .join(orm.User, orm.User.clerk_id == _Set.owner_clerk_id)
        .where(_Set.is_public)
        .order_by(desc(_Set.learners) if most_used else desc(_Set.created_at), desc(_Set.id))
        .limit(PAGE)
    )
    if text is not None:
        document = func.to_tsvector("simple", _Set.title + " " + _Set.description)
        query = query.where(document.op("@@")(func.websearch_to_tsquery("simple", text)))
    rows = session.execute(query).all()
    ids = [row[0].id for row in rows]
    counts = dict(
        session.execute(
            select(_Card.set_id, func.count()).where(_Card.set_id.in_(ids)).group_by(_Card.set_id)
        ).all()
    )
    return [
        (s.id, s.title, counts.get(s.id, 0), " ".join(n for n in (first, last) if n), avatar)
        for s, first, last, avatar in rows
    ]


def _params(text: str | None) -> dict[str, Any]:
    return {
        "text_query": text,
        "language_id": None,
        "course_id": None,
        "before_created_at": None,
        "before_id": None,
        "page_size": PAGE,
    }


@operation("browse_sets", "public flashcard sets, newest first (page of 20)", kind="list", rows="20")
def browse_sets(p: Peers) -> Impls:
    _ensure_sets(p)
    params = _params(None)
    return {
        **p.learnstore(lambda s, r: s.sharing.browse_sets(limit=PAGE)),
        **p.raw(lambda raw, r: raw.all("search_public_flashcard_sets", params)),
        "orm": lambda r: p.orm(orm_browse, None),
    }


@operation(
    "browse_sets_most_used", "public flashcard sets, most used first (page of 20)", kind="list", rows="20"
)
def browse_sets_most_used(p: Peers) -> Impls:
    _ensure_sets(p)
    _ensure_learners(p)
    params = {**_params(None), "before_learners": None}
    del params["before_created_at"]
    return {
        **p.learnstore(lambda s, r: s.sharing.browse_sets(order="most_used", limit=PAGE)),
        **p.raw(lambda raw, r: raw.all("search_public_flashcard_sets_by_learners", params)),
        "orm": lambda r: p.orm(orm_browse, None, True),
    }


@operation("search_sets", "public flashcard sets matching a word (page of 20)", kind="list", rows="20")
def search_sets(p: Peers) -> Impls:
    _ensure_sets(p)
    params = _params(SEARCH)
    return {
        **p.learnstore(lambda s, r: s.sharing.browse_sets(text=SEARCH, limit=PAGE)),
        **p.raw(lambda raw, r: raw.all("search_public_flashcard_sets", params)),
        "orm": lambda r: p.orm(orm_browse, SEARCH),
    }
