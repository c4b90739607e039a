"""Forum pages, registered with bench.registry: the platform-wide and per-course feeds with their
totals, search, the interest feed, a post's views and a user's activity summary, for learnstore, raw
psycopg (the same SQL, from sql/queries/forum_pages.sql) and the SQLAlchemy ORM.

    python -m bench.run --scale small --only forum_feed --only course_forum_feed --only forum_search \
        --only interest_feed --only post_views --only forum_activity --import-reps 0

The dataset generator writes no forum: `ForumData.ensure` adds one, once, in plain SQL (posts spread
over the published courses, three replies and two likes to each, view counter shards), sized by the
scale so that at the large scale the forum tables are large (bench/test_plans.py uses it too). The
ORM draws each page as an ORM user who knows about N+1 would: the page of rows with their course and
author joined, then one grouped query per count for the whole page, put together in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import ColumnElement, desc, func, literal, literal_column, select, union_all
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bench.peers import orm
from bench.registry import Impls, Peers, operation

#: posts the bench forum has, by scale (three replies and two likes each)
POSTS = {"small": 2_000, "large": 60_000, "million": 1_200_000}
#: the bench forum's authors, by scale: user_000000 .. user_000199 write every post and reply (at the
#: million scale, 4,000 of them: 300 posts an author, as at the large scale)
AUTHORS = {"small": 200, "large": 200, "million": 4_000}
#: the words the bench bodies are made of; SEARCH_QUERY matches about a tenth of posts and replies
WORDS = (
    "subjunctive",
    "index",
    "vocabulary",
    "grammar",
    "pronunciation",
    "travel",
    "verbs",
    "quiz",
    "practice",
    "exam",
)
SEARCH_QUERY = "subjunctive"
#: a word of one post's title: a search that finds a handful through the GIN index
RARE_QUERY = "12345"
#: what forum_pages.search ranks at most (learnstore.repositories.forum_pages.SEARCH_CAP)
SEARCH_CAP = 1_000
PAGE = 20


# -- the bench forum -----------------------------------------------------------------------------------

#: the authors, as an array `us.a`
USERS = """us AS (SELECT array_agg(clerk_id ORDER BY clerk_id) AS a
          FROM (SELECT clerk_id FROM users WHERE clerk_id LIKE 'user\\_%%'
                ORDER BY clerk_id LIMIT %(authors)s) x)"""

SEED = """
WITH cs AS (SELECT array_agg(id ORDER BY id) AS a FROM courses WHERE status = 'published'),
     {USERS},
     ws AS (SELECT %(words)s::text[] AS a)
INSERT INTO forum_posts (id, course_id, author_clerk_id, title, body, created_at, updated_at)
SELECT md5('bench-forum-post-' || g)::uuid, cs.a[1 + g %% cardinality(cs.a)],
       us.a[1 + g %% cardinality(us.a)],
       'Bench question ' || g || ' about ' || ws.a[1 + g %% 10],
       'How do I practise ' || ws.a[1 + (g * 7) %% 10] || ' and ' || ws.a[1 + (g * 3) %% 10]
           || ' before the next lesson? ' || repeat('Some context on what I tried. ', 4),
       timestamptz '2025-06-01' - g * interval '3 minutes', timestamptz '2025-06-01'
FROM generate_series(%(first)s::integer, %(last)s::integer) g, cs, us, ws
""".replace("{USERS}", USERS)

SEED_REPLIES = """
WITH {USERS},
     ws AS (SELECT %(words)s::text[] AS a)
INSERT INTO forum_replies (post_id, author_clerk_id, body, created_at, updated_at)
SELECT md5('bench-forum-post-' || g)::uuid, us.a[1 + (g + k) %% cardinality(us.a)],
       'Try the ' || ws.a[1 + (g + k * 3) %% 10] || ' exercises first, reply ' || k,
       timestamptz '2025-06-01' - g * interval '3 minutes' + k * interval '1 minute', timestamptz '2025-06-01'
FROM generate_series(%(first)s::integer, %(last)s::integer) g, generate_series(1, 3) k, us, ws
""".replace("{USERS}", USERS)

SEED_LIKES = """
WITH {USERS}
INSERT INTO forum_post_likes (post_id, user_clerk_id)
SELECT md5('bench-forum-post-' || g)::uuid, us.a[1 + (g + k * 17) %% cardinality(us.a)]
FROM generate_series(%(first)s::integer, %(last)s::integer) g, generate_series(1, 2) k, us
""".replace("{USERS}", USERS)

#: posts seeded a transaction (with their replies, likes and views)
SEED_CHUNK = 50_000
_POST_EXISTS = "SELECT 1 FROM forum_posts WHERE id = md5('bench-forum-post-' || %(g)s)::uuid"

SEED_VIEWS = """
INSERT INTO forum_post_view_counts (post_id, shard, views)
SELECT md5('bench-forum-post-' || g)::uuid, s, 1 + (g + s) %% 7
FROM generate_series(%(first)s::integer, %(last)s::integer) g, generate_series(0, 3) s
"""


@dataclass(frozen=True)
class ForumData:
    """The bench forum's landmarks: a course with posts, a post, a searched word and an author."""

    course_id: UUID
    post_id: UUID
    author: str

    @classmethod
    def ensure(cls, conn: psycopg.Connection[Any]) -> ForumData:
        """The bench forum, written once into the dataset of `conn` (autocommit), then analyzed so
        that the planner knows its size."""
        landmark = conn.execute("SELECT md5('bench-forum-post-1')::uuid").fetchone()
        assert landmark is not None
        post: UUID = landmark[0]
        row = conn.execute("SELECT scale FROM bench_meta").fetchone()
        scale = row[0] if row else "small"
        posts = POSTS[scale]
        seeded = False
        # Chunks of posts, each with its replies, likes and views in one transaction: a reply's row
        # triggers (the followers' notifications, about 0.35 ms a reply) are queued per statement,
        # and the million forum's 3.6 million replies in one statement ran for over 20 minutes
        # without a sign of progress (docs/scaling.md). A seeding stopped half way resumes.
        for first in range(1, posts + 1, SEED_CHUNK):
            last = min(first + SEED_CHUNK - 1, posts)
            if conn.execute(_POST_EXISTS, {"g": last}).fetchone():
                continue
            params = {"first": first, "last": last, "authors": AUTHORS[scale], "words": list(WORDS)}
            with conn.transaction():
                for statement in (SEED, SEED_REPLIES, SEED_LIKES, SEED_VIEWS):
                    conn.execute(statement, params)
            seeded = True
            if posts > SEED_CHUNK:
                print(f"  bench forum: posts {first:,}-{last:,} of {posts:,} seeded", flush=True)
        if seeded:
            for table in ("forum_posts", "forum_replies", "forum_post_likes", "forum_post_view_counts"):
                conn.execute(f"VACUUM ANALYZE {table}")
        found = conn.execute(
            "SELECT course_id, author_clerk_id FROM forum_posts WHERE id = %s", (post,)
        ).fetchone()
        assert found is not None
        return cls(found[0], post, found[1])


# -- the ORM's models of the forum (a base of their own: other bench modules map these tables) ----------


class _Base(DeclarativeBase):
    pass


class _Post(_Base):
    __tablename__ = "forum_posts"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    course_id: Mapped[UUID]
    author_clerk_id: Mapped[str | None]
    title: Mapped[str]
    body: Mapped[str]
    created_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    pinned_at: Mapped[datetime | None]
    locked_at: Mapped[datetime | None]
    search_document: Mapped[Any] = mapped_column(TSVECTOR)


class _Reply(_Base):
    __tablename__ = "forum_replies"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    post_id: Mapped[UUID]
    author_clerk_id: Mapped[str | None]
    body: Mapped[str]
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    search_document: Mapped[Any] = mapped_column(TSVECTOR)


class _PostLike(_Base):
    __tablename__ = "forum_post_likes"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    post_id: Mapped[UUID]
    user_clerk_id: Mapped[str]


class _ReplyLike(_Base):
    __tablename__ = "forum_reply_likes"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    reply_id: Mapped[UUID]
    user_clerk_id: Mapped[str]


class _Views(_Base):
    __tablename__ = "forum_post_view_counts"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    post_id: Mapped[UUID]
    shard: Mapped[int]
    views: Mapped[int]


class _Favorite(_Base):
    __tablename__ = "favorites"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    user_clerk_id: Mapped[str]
    course_id: Mapped[UUID]


def _live_post() -> tuple[ColumnElement[bool], ...]:
    return _Post.deleted_at.is_(None), _Post.hidden_at.is_(None)


def _live_reply() -> tuple[ColumnElement[bool], ...]:
    return _Reply.deleted_at.is_(None), _Reply.hidden_at.is_(None)


def _name(user: orm.User | None, clerk_id: str | None) -> str:
    if clerk_id is None:
        return "deleted user"
    full = " ".join(p for p in (user.first_name, user.last_name) if p) if user else ""
    return full or clerk_id


def _post_rows(session: Session, page: list[Any]) -> list[dict[str, Any]]:
    """The rows of a page of (post, course title, author): one grouped query per count."""
    ids = [post.id for post, _, _ in page]
    replies: dict[UUID, int] = dict(
        session.execute(
            select(_Reply.post_id, func.count())
            .where(_Reply.post_id.in_(ids), *_live_reply())
            .group_by(_Reply.post_id)
        ).all()
    )
    likes: dict[UUID, int] = dict(
        session.execute(
            select(_PostLike.post_id, func.count())
            .where(_PostLike.post_id.in_(ids))
            .group_by(_PostLike.post_id)
        ).all()
    )
    views: dict[UUID, int] = dict(
        session.execute(
            select(_Views.post_id, func.sum(_Views.views))
            .where(_Views.post_id.in_(ids))
            .group_by(_Views.post_id)
        ).all()
    )
    return [
        {
            "id": post.id,
            "course_title": title,
            "author_name": _name(user, post.author_clerk_id),
            "author_avatar_url": user.avatar_url if user else None,
            "title": post.title,
            "excerpt": post.body[:300],
            "created_at": post.created_at,
            "pinned": post.pinned_at is not None,
            "reply_count": replies.get(post.id, 0),
            "like_count": likes.get(post.id, 0),
            "view_count": views.get(post.id, 0),
        }
        for post, title, user in page
    ]


def _page_query() -> Any:
    return (
        select(_Post, orm.Course.title, orm.User)
        .join(orm.Course, orm.Course.id == _Post.course_id)
        .outerjoin(orm.User, orm.User.clerk_id == _Post.author_clerk_id)
        .where(*_live_post())
    )


def orm_feed(session: Session, limit: int) -> tuple[int, list[dict[str, Any]]]:
    published = orm.Course.status == "published"
    total = session.scalar(
        select(func.count())
        .select_from(_Post)
        .join(orm.Course, orm.Course.id == _Post.course_id)
        .where(*_live_post(), published)
    )
    page = session.execute(
        _page_query().where(published).order_by(desc(_Post.created_at), desc(_Post.id)).limit(limit)
    ).all()
    return total or 0, _post_rows(session, list(page))


def orm_course_feed(session: Session, course_id: UUID, limit: int) -> tuple[int, list[dict[str, Any]]]:
    total = session.scalar(select(func.count()).where(_Post.course_id == course_id, *_live_post()))
    page = session.execute(
        _page_query()
        .where(_Post.course_id == course_id)
        .order_by(desc(_Post.pinned_at.is_not(None)), desc(_Post.created_at), desc(_Post.id))
        .limit(limit)
    ).all()
    return total or 0, _post_rows(session, list(page))


def orm_search(session: Session, text: str, limit: int) -> tuple[int, bool, list[dict[str, Any]]]:
    """The same page as SearchForum, as a plain SQLAlchemy app writes it: the newest 1,001 matches of
    posts and replies (the stored documents, their GIN indexes), counted in one query, the newest
    1,000 of them ranked and the page's snippets made in a second, the authors in a third."""
    simple = literal_column("'simple'::regconfig")
    query = func.websearch_to_tsquery(simple, text)
    published = orm.Course.status == "published"
    posts = (
        select(
            literal("post").label("kind"),
            _Post.id.label("id"),
            _Post.id.label("post_id"),
            _Post.author_clerk_id.label("author_clerk_id"),
            _Post.title.label("title"),
            _Post.body.label("body"),
            _Post.search_document.label("document"),
            _Post.created_at.label("created_at"),
        )
        .join(orm.Course, orm.Course.id == _Post.course_id)
        .where(_Post.search_document.op("@@")(query), *_live_post(), published)
    )
    replies = (
        select(
            literal("reply"),
            _Reply.id,
            _Reply.post_id,
            _Reply.author_clerk_id,
            _Post.title,
            _Reply.body,
            _Reply.search_document,
            _Reply.created_at,
        )
        .join(_Post, _Post.id == _Reply.post_id)
        .join(orm.Course, orm.Course.id == _Post.course_id)
        .where(_Reply.search_document.op("@@")(query), *_live_reply(), *_live_post(), published)
    )
    hits = union_all(posts, replies).subquery()
    newest = select(hits).order_by(desc(hits.c.created_at), desc(hits.c.id))
    found = session.scalar(select(func.count()).select_from(newest.limit(SEARCH_CAP + 1).subquery())) or 0
    ranked = newest.limit(SEARCH_CAP).subquery()
    rank = func.ts_rank(ranked.c.document, query)
    escaped = func.replace(func.replace(func.replace(ranked.c.body, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")
    page = session.execute(
        select(
            ranked.c.kind,
            ranked.c.id,
            ranked.c.post_id,
            ranked.c.author_clerk_id,
            ranked.c.title,
            func.ts_headline(
                simple, escaped, query, "StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15"
            ),
            rank,
            ranked.c.created_at,
        )
        .order_by(desc(rank), desc(ranked.c.created_at), desc(ranked.c.id))
        .limit(limit)
    ).all()
    authors = {
        u.clerk_id: u
        for u in session.scalars(
            select(orm.User).where(orm.User.clerk_id.in_({row[3] for row in page if row[3]}))
        )
    }
    return (
        min(found, SEARCH_CAP),
        found > SEARCH_CAP,
        [
            {
                "kind": kind,
                "id": id_,
                "post_id": post_id,
                "author_name": _name(authors.get(author or ""), author),
                "post_title": title,
                "snippet": snippet,
                "rank": rank_,
                "created_at": at,
            }
            for kind, id_, post_id, author, title, snippet, rank_, at in page
        ],
    )


def orm_interest_feed(session: Session, viewer: str, limit: int) -> list[dict[str, Any]]:
    mine = set(
        session.scalars(select(orm.UserCourse.course_id).where(orm.UserCourse.user_clerk_id == viewer))
    )
    mine |= set(session.scalars(select(_Favorite.course_id).where(_Favorite.user_clerk_id == viewer)))
    tags = orm.course_tags.c
    interests = set(session.scalars(select(tags.tag_id).where(tags.course_id.in_(mine)).distinct()))
    related: dict[UUID, list[str]] = {}
    for course_id, name in session.execute(
        select(tags.course_id, orm.Tag.name)
        .join(orm.Tag, orm.Tag.id == tags.tag_id)
        .where(tags.tag_id.in_(interests))
        .order_by(func.lower(orm.Tag.name), orm.Tag.id)
    ).tuples():
        related.setdefault(course_id, []).append(name)
    page = session.execute(
        _page_query()
        .where(_Post.course_id.in_(related), orm.Course.status == "published")
        .order_by(desc(_Post.created_at), desc(_Post.id))
        .limit(limit)
    ).all()
    rows = _post_rows(session, list(page))
    for row, (post, _, _) in zip(rows, page, strict=True):
        row["matched_tags"] = related[post.course_id]
    return rows


def orm_activity(session: Session, clerk_id: str) -> dict[str, int]:
    if session.scalar(select(orm.User.id).where(orm.User.clerk_id == clerk_id)) is None:
        raise LookupError(clerk_id)

    def count(query: Any) -> int:
        return session.scalar(query) or 0

    mine_posts = (_Post.author_clerk_id == clerk_id, *_live_post())
    mine_replies = (_Reply.author_clerk_id == clerk_id, *_live_reply())
    posts = count(select(func.count()).where(*mine_posts))
    replies = count(
        select(func.count())
        .select_from(_Reply)
        .join(_Post, _Post.id == _Reply.post_id)
        .where(*mine_replies, _Post.hidden_at.is_(None))
    )
    given = count(
        select(func.count())
        .select_from(_PostLike)
        .join(_Post, _Post.id == _PostLike.post_id)
        .where(_PostLike.user_clerk_id == clerk_id, *_live_post())
    ) + count(
        select(func.count())
        .select_from(_ReplyLike)
        .join(_Reply, _Reply.id == _ReplyLike.reply_id)
        .join(_Post, _Post.id == _Reply.post_id)
        .where(_ReplyLike.user_clerk_id == clerk_id, *_live_reply(), _Post.hidden_at.is_(None))
    )
    received = count(
        select(func.count())
        .select_from(_PostLike)
        .join(_Post, _Post.id == _PostLike.post_id)
        .where(*mine_posts)
    ) + count(
        select(func.count())
        .select_from(_ReplyLike)
        .join(_Reply, _Reply.id == _ReplyLike.reply_id)
        .join(_Post, _Post.id == _Reply.post_id)
        .where(*mine_replies, _Post.hidden_at.is_(None))
    )
    return {"posts": posts, "replies": replies, "likes_given": given, "likes_received": received}


def orm_views(session: Session, post_id: UUID) -> int:
    return (
        session.scalar(select(func.coalesce(func.sum(_Views.views), 0)).where(_Views.post_id == post_id)) or 0
    )


# -- the operations -----------------------------------------------------------------------------------

_NO_CURSOR: dict[str, Any] = {"before_created_at": None, "before_id": None}


@operation("forum_feed", "the platform-wide forum feed with its total (page of 20)", kind="list", rows="20")
def forum_feed(p: Peers) -> Impls:
    ForumData.ensure(p.setup)
    params = {**_NO_CURSOR, "page_size": PAGE}
    return {
        **p.learnstore(lambda s, r: s.forum_pages.feed(limit=PAGE)),
        **p.raw(lambda raw, r: raw.all("list_forum_feed", params)),
        "orm": lambda r: p.orm(orm_feed, PAGE),
    }


@operation("course_forum_feed", "a course's forum feed with its total (page of 20)", kind="list", rows="20")
def course_forum_feed(p: Peers) -> Impls:
    course = ForumData.ensure(p.setup).course_id
    params = {"course_id": course, "before_pinned": None, **_NO_CURSOR, "page_size": PAGE}
    return {
        **p.learnstore(lambda s, r: s.forum_pages.course_feed(course, limit=PAGE)),
        **p.raw(lambda raw, r: raw.all("list_course_forum_feed", params)),
        "orm": lambda r: p.orm(orm_course_feed, course, PAGE),
    }


@operation("forum_search", "forum search, ranked with snippets (page of 20)", kind="list", rows="20")
def forum_search(p: Peers) -> Impls:
    ForumData.ensure(p.setup)
    params = {"query": SEARCH_QUERY, "page_size": PAGE, "skip": 0}
    return {
        **p.learnstore(lambda s, r: s.forum_pages.search(SEARCH_QUERY, limit=PAGE)),
        **p.raw(lambda raw, r: raw.all("search_forum", params)),
        "orm": lambda r: p.orm(orm_search, SEARCH_QUERY, PAGE),
    }


@operation("interest_feed", "the feed of a viewer's interests (page of 20)", kind="list", rows="20")
def interest_feed(p: Peers) -> Impls:
    ForumData.ensure(p.setup)
    viewer = p.fx.learner
    params = {"viewer_clerk_id": viewer, **_NO_CURSOR, "page_size": PAGE}
    return {
        **p.learnstore(lambda s, r: s.forum_pages.interest_feed(viewer, limit=PAGE)),
        **p.raw(lambda raw, r: raw.all("list_interest_feed", params)),
        "orm": lambda r: p.orm(orm_interest_feed, viewer, PAGE),
    }


@operation("post_views", "a post's views (the sum of its counter shards)", kind="read", rows="1")
def post_views(p: Peers) -> Impls:
    post = ForumData.ensure(p.setup).post_id
    params = {"post_id": post}
    return {
        **p.learnstore(lambda s, r: s.forum_pages.views(post)),
        **p.raw(lambda raw, r: raw.one("get_post_views", params)),
        "orm": lambda r: p.orm(orm_views, post),
    }


@operation("forum_activity", "a user's forum activity summary", kind="read", rows="1")
def forum_activity(p: Peers) -> Impls:
    author = ForumData.ensure(p.setup).author
    params = {"clerk_id": author}
    return {
        **p.learnstore(lambda s, r: s.forum_pages.activity_summary(author)),
        **p.raw(lambda raw, r: raw.one("get_forum_activity_summary", params)),
        "orm": lambda r: p.orm(orm_activity, author),
    }
