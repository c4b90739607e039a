"""The community's hot operations, registered with bench.registry: opening a thread (a post with 50
replies on 3 levels) and liking a post, for learnstore, raw psycopg (the same SQL, from
sql/queries/forum.sql) and the SQLAlchemy ORM.

    python -m bench.run --scale small --only open_thread --only like_post --import-reps 0

The thread and the post to like are added to the loaded dataset's flagship course the first time
(idempotent: found by title afterwards). Each round of "like a post" likes when the round is even
and unlikes when it is odd, so that every call changes a row; each implementation likes as its own
learner (bench/ops.py's WRITERS), so they never wait for each other. Every like and unlike also
counts the post's likes, and the like checks whether the author was notified of this liker before
(learnstore's one statement does all three; the ORM does the same work its own way).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
from sqlalchemy import ForeignKey, exists, func, select, text
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from bench.dataset import FLAGSHIP_TITLE
from bench.ops import WRITERS
from bench.peers import orm
from bench.registry import Impls, Peers, operation
from learnstore import Store

THREAD_TITLE = "Bench thread (50 replies, 3 levels)"
LIKE_TITLE = "Bench post to like"
AUTHOR = "bench_forum_author"
REPLIERS = tuple(f"bench_forum_{i}" for i in range(5))


# -- the ORM's models of the forum tables (on the ORM peer's declarative base) ------------------------


class ForumPost(orm.Base):
    __tablename__ = "forum_posts"
    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    course_id: Mapped[UUID]
    author_clerk_id: Mapped[str | None] = mapped_column(ForeignKey("users.clerk_id"))
    title: Mapped[str]
    body: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    author: Mapped[orm.User | None] = relationship(orm.User)


class ForumReply(orm.Base):
    __tablename__ = "forum_replies"
    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    post_id: Mapped[UUID] = mapped_column(ForeignKey("forum_posts.id"))
    parent_reply_id: Mapped[UUID | None]
    author_clerk_id: Mapped[str | None] = mapped_column(ForeignKey("users.clerk_id"))
    body: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    author: Mapped[orm.User | None] = relationship(orm.User)


class ForumPostLike(orm.Base):
    __tablename__ = "forum_post_likes"
    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    post_id: Mapped[UUID] = mapped_column(ForeignKey("forum_posts.id"))
    user_clerk_id: Mapped[str] = mapped_column(ForeignKey("users.clerk_id"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class ForumReplyLike(orm.Base):
    __tablename__ = "forum_reply_likes"
    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    reply_id: Mapped[UUID] = mapped_column(ForeignKey("forum_replies.id"))
    user_clerk_id: Mapped[str] = mapped_column(ForeignKey("users.clerk_id"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


def _name(user: orm.User | None, clerk_id: str | None) -> str:
    if clerk_id is None or user is None:
        return "deleted user"
    return " ".join(part for part in (user.first_name, user.last_name) if part) or clerk_id


def orm_thread(session: Session, post_id: UUID, viewer: str) -> list[dict[str, Any]]:
    """The thread as the ORM reads it: the post and its replies with their authors (joinedload),
    the like counts and the viewer's likes by aggregate queries, the tree put in order in Python."""
    post = session.scalars(
        select(ForumPost).options(joinedload(ForumPost.author)).where(ForumPost.id == post_id)
    ).one()
    replies = session.scalars(
        select(ForumReply).options(joinedload(ForumReply.author)).where(ForumReply.post_id == post_id)
    ).all()
    counts = dict(
        session.execute(
            select(ForumReplyLike.reply_id, func.count())
            .join(ForumReply, ForumReply.id == ForumReplyLike.reply_id)
            .where(ForumReply.post_id == post_id)
            .group_by(ForumReplyLike.reply_id)
        ).all()
    )
    liked = set(
        session.scalars(
            select(ForumReplyLike.reply_id)
            .join(ForumReply, ForumReply.id == ForumReplyLike.reply_id)
            .where(ForumReply.post_id == post_id, ForumReplyLike.user_clerk_id == viewer)
        ).all()
    )
    post_likes = session.scalar(select(func.count()).where(ForumPostLike.post_id == post_id))
    post_liked = session.scalar(
        select(exists().where(ForumPostLike.post_id == post_id, ForumPostLike.user_clerk_id == viewer))
    )
    children: dict[UUID | None, list[ForumReply]] = defaultdict(list)
    for reply in sorted(replies, key=lambda r: (r.created_at, str(r.id))):
        children[reply.parent_reply_id].append(reply)
    nodes = [
        {
            "id": post.id,
            "depth": 0,
            "title": post.title,
            "body": post.body,
            "author_name": _name(post.author, post.author_clerk_id),
            "like_count": post_likes,
            "liked_by_viewer": post_liked,
        }
    ]

    def walk(parent: UUID | None, depth: int) -> None:
        for reply in children[parent]:
            nodes.append(
                {
                    "id": reply.id,
                    "parent_reply_id": reply.parent_reply_id,
                    "depth": depth,
                    "body": reply.body,
                    "author_name": _name(reply.author, reply.author_clerk_id),
                    "like_count": counts.get(reply.id, 0),
                    "liked_by_viewer": reply.id in liked,
                }
            )
            walk(reply.id, depth + 1)

    walk(None, 1)
    return nodes


def orm_like(session: Session, post_id: UUID, clerk_id: str, like: bool) -> int:
    """Like (or unlike) as a unit of work: the post must be live, one like per user, the author
    notified of a user's first like only; returns the likes after it."""
    post = session.get(ForumPost, post_id)
    if post is None or post.deleted_at is not None:
        raise LookupError(post_id)
    existing = session.scalars(
        select(ForumPostLike).where(ForumPostLike.post_id == post_id, ForumPostLike.user_clerk_id == clerk_id)
    ).first()
    if like and existing is None:
        session.add(ForumPostLike(post_id=post_id, user_clerk_id=clerk_id))
        if post.author_clerk_id is not None and post.author_clerk_id != clerk_id:
            notified = session.scalar(
                select(
                    exists().where(
                        orm.Notification.user_clerk_id == post.author_clerk_id,
                        orm.Notification.type == "like",
                        orm.Notification.source_id == post_id,
                        orm.Notification.metadata_["by"].astext == clerk_id,
                    )
                )
            )
            if not notified:
                now = datetime.now(UTC)
                session.add(
                    orm.Notification(
                        id=uuid4(),
                        user_clerk_id=post.author_clerk_id,
                        type="like",
                        message=f'Your post "{post.title[:200]}" was liked',
                        source_id=post_id,
                        source_type="forum_post",
                        metadata_={"by": clerk_id, "course_id": str(post.course_id), "post_id": str(post_id)},
                        created_at=now,
                        updated_at=now,
                    )
                )
    elif not like and existing is not None:
        session.delete(existing)
    session.commit()
    count: int = session.scalar(select(func.count()).where(ForumPostLike.post_id == post_id)) or 0
    return count


# -- the fixture --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommunityFixture:
    thread: UUID
    like_target: UUID
    viewer: str

    @classmethod
    def ensure(cls, conn: psycopg.Connection[Any], viewer: str, likers: list[str]) -> CommunityFixture:
        """The bench thread and the post to like, made once in the flagship course (`conn`: autocommit).

        Every liker has liked the post once before (and unliked it), so that the author's
        notification of that liker exists and no measured like writes one; a liker added since the
        fixture was made (bench_raw_pool) gets it here. Then none of the likers likes the post: each
        run starts from the same state."""
        store = Store.on(conn)
        found: dict[str, UUID] = dict(
            conn.execute(
                "SELECT title, id FROM forum_posts WHERE title IN (%s, %s)", (THREAD_TITLE, LIKE_TITLE)
            ).fetchall()
        )
        if len(found) == 2:
            fx = cls(found[THREAD_TITLE], found[LIKE_TITLE], viewer)
        else:
            thread = cls._make(conn, store, viewer)
            target = store.forum.create_post(_flagship(conn), AUTHOR, LIKE_TITLE, "Like me")
            fx = cls(thread, target.id, viewer)
        notified = {
            by
            for (by,) in conn.execute(
                "SELECT metadata ->> 'by' FROM notifications WHERE type = 'like' AND source_id = %s",
                (fx.like_target,),
            ).fetchall()
        }
        for liker in likers:
            if liker not in notified:
                store.forum.like_post(fx.like_target, liker)
        conn.execute(
            "DELETE FROM forum_post_likes WHERE post_id = %s AND user_clerk_id = ANY(%s)",
            (fx.like_target, likers),
        )
        return fx

    @staticmethod
    def _make(conn: psycopg.Connection[Any], store: Store, viewer: str) -> UUID:
        """The thread: 5 replies, 3 answers to each, 2 answers to each of those (5 + 15 + 30 = 50)."""
        course = _flagship(conn)
        for i, clerk_id in enumerate((AUTHOR, *REPLIERS)):
            conn.execute(
                "INSERT INTO users (clerk_id, first_name, last_name) VALUES (%s, %s, 'Bench')"
                " ON CONFLICT (clerk_id) DO NOTHING",
                (clerk_id, f"Forum{i}"),
            )
        thread = store.forum.create_post(course, AUTHOR, THREAD_TITLE, "Which index serves this?")
        n = 0
        for top in range(5):
            first = store.forum.reply(thread.id, REPLIERS[n % 5], f"Reply {top}")
            n += 1
            for mid in range(3):
                second = store.forum.reply(
                    thread.id, REPLIERS[n % 5], f"Answer {top}.{mid}", parent_reply_id=first.id
                )
                n += 1
                for low in range(2):
                    third = store.forum.reply(
                        thread.id, REPLIERS[n % 5], f"Answer {top}.{mid}.{low}", parent_reply_id=second.id
                    )
                    n += 1
                    if low == 0:
                        store.forum.like_reply(third.id, viewer)
                store.forum.like_reply(second.id, REPLIERS[(n + 1) % 5])
        store.forum.like_post(thread.id, REPLIERS[0])
        return thread.id


def _flagship(conn: psycopg.Connection[Any]) -> UUID:
    row = conn.execute("SELECT id FROM courses WHERE title = %s", (FLAGSHIP_TITLE,)).fetchone()
    if row is None:
        raise SystemExit("the benchmark dataset is not loaded: run python -m bench.dataset")
    found: UUID = row[0]
    return found


def _fixture(p: Peers) -> CommunityFixture:
    """The fixture, with the core fixture's learner as the viewer and every writer as a liker."""
    return CommunityFixture.ensure(p.setup, p.fx.learner, list(WRITERS.values()))


# -- the operations -----------------------------------------------------------------------------------


@operation("open_thread", "open a thread (50 replies, 3 levels)", kind="list", rows="51")
def open_thread(p: Peers) -> Impls:
    fx = _fixture(p)
    params = {"post_id": fx.thread, "viewer_clerk_id": fx.viewer}
    return {
        **p.learnstore(lambda s, r: s.forum.get_thread(fx.thread, viewer_clerk_id=fx.viewer)),
        **p.raw(lambda raw, r: raw.all("get_thread", params)),
        "orm": lambda r: p.orm(orm_thread, fx.thread, fx.viewer),
    }


@operation("like_post", "like a post (and unlike, alternately)", kind="write", rows="1")
def like_post(p: Peers) -> Impls:
    fx = _fixture(p)

    def learnstore(name: str, store: Any) -> Any:
        def run(r: int) -> Any:
            if r % 2 == 0:
                return store.forum.like_post(fx.like_target, WRITERS[name])
            return store.forum.unlike_post(fx.like_target, WRITERS[name])

        return run

    def raw(name: str, peer: Any) -> Any:
        params = {"post_id": fx.like_target, "user_clerk_id": WRITERS[name]}
        return lambda r: peer.one("like_post" if r % 2 == 0 else "unlike_post", params)

    return {
        "learnstore": learnstore("learnstore", p.store),
        "pool": learnstore("pool", p.pool),
        "raw": raw("raw", p.raw_conn),
        "raw_pool": raw("raw_pool", p.raw_pool),
        "orm": lambda r: p.orm(orm_like, fx.like_target, WRITERS["orm"], r % 2 == 0),
    }
