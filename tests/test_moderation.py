"""Moderation on a real database: reports and the queue, hidden content gone from every read but its
author's and the moderators', locked and pinned threads, suspensions, the append-only action log,
each write tried as a moderator, an admin, the author and an unrelated user under as_user, and races."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

import learnstore
from learnstore import Store
from learnstore.errors import Conflict, InvalidReference, InvalidValue, NotFound, PermissionDenied

Conn = psycopg.Connection[Any]
LATER = timedelta(days=3)

# author writes the course; lea (a learner) the post and the review; bob the replies; mod and root
# are the site's moderator and admin; mallory is anyone else.
PEOPLE = ("author", "lea", "bob", "mod", "root", "mallory")


class World:
    def __init__(self, course: UUID, post: UUID, reply: UUID, answer: UUID, review: UUID) -> None:
        self.course, self.post, self.reply, self.answer, self.review = course, post, reply, answer, review


def build(store: Store, conn: Conn) -> World:
    for clerk_id in PEOPLE:
        store.users.apply_clerk_event({"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}})
    store.users.grant_role("mod", "moderator")
    store.users.grant_role("root", "admin")
    row = conn.execute(
        "INSERT INTO courses (title, author_clerk_id, status, published_at)"
        " VALUES ('Portuguese', 'author', 'published', now()) RETURNING id"
    ).fetchone()
    assert row is not None
    course: UUID = row[0]
    conn.execute("INSERT INTO user_courses (user_clerk_id, course_id) VALUES ('lea', %s)", [course])
    post = store.forum.create_post(course, "lea", "Verbs", "How do I conjugate ser?")
    reply = store.forum.reply(post.id, "bob", "Buy my course at spam.example")
    answer = store.forum.reply(post.id, "lea", "No thanks", parent_reply_id=reply.id)
    review = store.reviews.review_course(course, "lea", 1, comment="Terrible!!!")
    return World(course, post.id, reply.id, answer.id, review.id)


def scalar(conn: Conn, query: str, params: list[Any] | None = None) -> Any:
    row = conn.execute(query.encode(), params).fetchone()
    assert row is not None
    return row[0]


def actions(conn: Conn) -> list[tuple[str | None, str, str | None, str]]:
    """The log's rows, sorted (one test is one transaction: their created_at are all the same)."""
    return sorted(
        (who, what, subject, why)
        for who, what, subject, why in conn.execute(
            "SELECT moderator_clerk_id, action, subject_clerk_id, reason FROM moderation_actions"
        ).fetchall()
    )


def system_notices(conn: Conn, clerk_id: str) -> list[str]:
    return [
        message
        for (message,) in conn.execute(
            "SELECT message FROM notifications WHERE user_clerk_id = %s AND type = 'system'"
            " ORDER BY created_at",
            [clerk_id],
        ).fetchall()
    ]


# ---- reports and the queue ------------------------------------------------------------------------


def test_reports_fill_the_queue_oldest_first_one_open_report_per_reporter_and_target(db_conn: Conn) -> None:
    store = Store.on(db_conn)
    w = build(store, db_conn)
    first = store.moderation.report("mallory", "Spam", reply_id=w.reply)
    assert (first.reporter_clerk_id, first.reply_id, first.status) == ("mallory", w.reply, "open")
    assert store.moderation.report("mallory", "Spam again", reply_id=w.reply) == first  # the open one
    store.moderation.report("author", "Advertising", reply_id=w.reply)
    # One transaction gives every row the same now(): set the order the reports came in (mallory's first).
    db_conn.execute(
        "UPDATE moderation_reports SET created_at = created_at"
        " - CASE reporter_clerk_id WHEN 'mallory' THEN interval '2 hours' ELSE interval '1 hour' END"
    )
    store.as_user("bob").moderation.report("bob", "Rude", feedback_id=w.review)
    store.as_user("lea").moderation.report("lea", "Off topic", post_id=w.post)

    queue = store.moderation.queue()
    # The reply's reports are the oldest; the other two came at once, so their ids break the tie.
    assert [(q.target_type, q.target_id, q.report_count) for q in queue] == [
        ("reply", w.reply, 2),
        *sorted([("review", w.review, 1), ("post", w.post, 1)], key=lambda t: t[1]),
    ]
    assert queue[0].reasons == ["Spam", "Advertising"]
    assert (queue[0].author_clerk_id, queue[0].thread_id, queue[0].course_id) == ("bob", w.post, w.course)
    review_item = next(q for q in queue if q.target_type == "review")
    assert (review_item.thread_id, review_item.excerpt, review_item.hidden) == (None, "Terrible!!!", False)

    # Keyset pages of one: every item once, in the same order.
    paged, after = [], None
    while page := store.moderation.queue(limit=1, after=after):
        paged.extend(page)
        after = page[-1]
    assert paged == queue

    # Under as_user PostgreSQL shows a moderator and an admin the queue, anyone else their own reports.
    assert store.as_user("mod").moderation.queue() == queue
    assert store.as_user("root").moderation.queue() == queue
    assert [q.target_id for q in store.as_user("bob").moderation.queue()] == [w.review]
    assert store.as_user("cy_nobody").moderation.queue() == []
    assert len(store.as_user("mod").moderation.list_reports(reply_id=w.reply)) == 2
    assert [r.reporter_clerk_id for r in store.as_user("bob").moderation.list_reports(reply_id=w.reply)] == []


def test_a_report_names_one_existing_target_a_reason_and_its_own_reporter(db_conn: Conn) -> None:
    store = Store.on(db_conn)
    w = build(store, db_conn)
    with pytest.raises(InvalidValue) as no_target:
        store.moderation.report("bob", "Spam")
    assert no_target.value.field == "target"
    with pytest.raises(InvalidValue, match="exactly one"):
        store.moderation.report("bob", "Spam", post_id=w.post, reply_id=w.reply)
    for reason in ("", "   ", "x" * 2001):
        with pytest.raises(InvalidValue) as bad:
            store.moderation.report("bob", reason, post_id=w.post)
        assert bad.value.field == "reason"
    with pytest.raises(InvalidReference, match="post_id: no post"):
        store.moderation.report("bob", "Spam", post_id=uuid4())
    with pytest.raises(InvalidReference, match="reporter_clerk_id"):
        store.moderation.report("ghost", "Spam", post_id=w.post)
    with pytest.raises(PermissionDenied):  # a report in someone else's name: the policy refuses it
        store.as_user("mallory").moderation.report("bob", "Spam", post_id=w.post)
    assert scalar(db_conn, "SELECT count(*) FROM moderation_reports") == 0


# ---- hiding -----------------------------------------------------------------------------------------


def visible_everywhere(store: Store, w: World) -> dict[str, Any]:
    """What a reader sees of the world: threads, feeds, counts, activity, trending, ratings, search."""
    posts = store.forum.list_posts(w.course)
    thread = None
    with contextlib.suppress(NotFound):
        thread = store.forum.get_thread(w.post)
    return {
        "posts": [p.id for p in posts],
        "active": [p.id for p in store.forum.list_active_posts(w.course)],
        "reply_count": posts[0].reply_count if posts else None,
        "thread": [w.post, *[r.id for r in thread.replies]] if thread else None,
        "lea_activity": {a.id for a in store.forum.list_activity("lea")},
        "bob_activity": {a.id for a in store.forum.list_activity("bob")},
        "trending": [t.activity for t in store.forum.list_trending_courses()],
        "reviews": [r.id for r in store.reviews.list_reviews(w.course)],
        "rating_count": store.reviews.get_rating_stats(w.course).rating_count,
        "summary": store.catalog.get_rating_summary(w.course).rating_count,
        "search": [c.rating_count for c in store.catalog.discover(order="rating").items],
    }


def test_hidden_content_leaves_threads_feeds_counts_and_search_for_all_but_author_and_moderators(
    db_conn: Conn,
) -> None:
    store = Store.on(db_conn)
    w = build(store, db_conn)
    store.moderation.report("mallory", "Spam", reply_id=w.reply)
    before = visible_everywhere(store, w)
    assert before["thread"] == [w.post, w.reply, w.answer] and before["reply_count"] == 2

    hid = store.as_user("mod").moderation.hide("mod", "Advertising", reply_id=w.reply)
    assert hid is not None and (hid.action, hid.reply_id, hid.subject_clerk_id) == ("hide", w.reply, "bob")
    review = store.as_user("root").moderation.hide("root", "Abusive", feedback_id=w.review)
    assert review is not None and review.moderator_clerk_id == "root"  # an admin moderates too

    for viewer in (None, "mallory", "lea"):  # the service path, anyone, the review's author
        seen = visible_everywhere(store.as_user(viewer) if viewer else store, w)
        # The hidden reply leaves the thread with the answer under it; the answer, not hidden
        # itself, still counts as a reply; the reply leaves bob's activity and the trending count.
        assert seen["thread"] == [w.post] and seen["reply_count"] == 1
        assert w.reply not in seen["bob_activity"] and w.answer in seen["lea_activity"]
        assert seen["trending"] == [before["trending"][0] - 1]
        if viewer != "lea":
            assert seen["reviews"] == [] and seen["rating_count"] == 0 and seen["summary"] == 0
            assert seen["search"] == [0]
        else:  # her own review: she still sees it, and counted
            assert (seen["reviews"], seen["rating_count"], seen["search"]) == ([w.review], 1, [1])
    for moderator in ("mod", "root"):
        assert visible_everywhere(store.as_user(moderator), w) == before
    # Its author still sees their own reply, and the answers under it.
    assert visible_everywhere(store.as_user("bob"), w)["thread"] == [w.post, w.reply, w.answer]

    # The report was resolved, the authors notified, every action logged with who, what and why.
    assert scalar(db_conn, "SELECT status FROM moderation_reports") == "resolved"
    assert store.moderation.queue() == []
    assert system_notices(db_conn, "bob") == ['A moderator hid your reply in "Verbs": Advertising']
    assert system_notices(db_conn, "lea") == ['A moderator hid your review in "Portuguese": Abusive']

    # Hiding again does nothing; unhiding brings everything back.
    assert store.moderation.hide("mod", "Again", reply_id=w.reply) is None
    assert store.moderation.unhide("mod", "Appeal upheld", reply_id=w.reply) is not None
    assert store.moderation.unhide("root", "Appeal upheld", feedback_id=w.review) is not None
    assert store.moderation.unhide("root", "Twice", feedback_id=w.review) is None
    assert visible_everywhere(store, w) == before
    assert actions(db_conn) == sorted(
        [
            ("mod", "hide", "bob", "Advertising"),
            ("root", "hide", "lea", "Abusive"),
            ("mod", "unhide", "bob", "Appeal upheld"),
            ("root", "unhide", "lea", "Appeal upheld"),
        ]
    )


def test_a_hidden_post_has_no_thread_but_for_its_author_and_moderators(db_conn: Conn) -> None:
    store = Store.on(db_conn)
    w = build(store, db_conn)
    store.moderation.hide("mod", "Off topic", post_id=w.post)
    for view in (store, store.as_user("bob"), store.as_user("mallory")):
        with pytest.raises(NotFound):
            view.forum.get_thread(w.post)
        assert view.forum.list_posts(w.course) == []
        assert view.forum.list_trending_courses() == []
    for clerk_id in ("lea", "mod", "root"):
        posts = store.as_user(clerk_id).forum.list_posts(w.course)
        assert [(p.id, p.hidden) for p in posts] == [(w.post, True)]
        assert store.as_user(clerk_id).forum.get_thread(w.post).post.id == w.post


# ---- who may moderate -------------------------------------------------------------------------------


MODERATOR_WRITES: dict[str, Callable[[Store, str, World], object]] = {
    "hide": lambda s, who, w: s.moderation.hide(who, "r", post_id=w.post),
    "unhide": lambda s, who, w: s.moderation.unhide(who, "r", post_id=w.post),
    "dismiss": lambda s, who, w: s.moderation.dismiss(who, "r", post_id=w.post),
    "lock": lambda s, who, w: s.moderation.set_thread(who, w.post, "lock", "r"),
    "pin": lambda s, who, w: s.moderation.set_thread(who, w.post, "pin", "r"),
    "suspend": lambda s, who, w: s.moderation.suspend(who, "bob", datetime.now(UTC) + LATER, "r"),
    "unsuspend": lambda s, who, w: s.moderation.unsuspend(who, "bob", "r"),
}


def snapshot(conn: Conn) -> tuple[Any, ...]:
    return (
        conn.execute("SELECT hidden_at, locked_at, pinned_at FROM forum_posts").fetchall(),
        scalar(conn, "SELECT count(*) FROM moderation_actions"),
        scalar(conn, "SELECT count(*) FROM user_suspensions"),
        conn.execute("SELECT status FROM moderation_reports ORDER BY id").fetchall(),
    )


@pytest.mark.parametrize("write", sorted(MODERATOR_WRITES))
def test_every_moderator_write_is_refused_by_postgresql_to_the_author_and_anyone_else(
    db_conn: Conn, write: str
) -> None:
    store = Store.on(db_conn)
    w = build(store, db_conn)
    store.moderation.report("mallory", "Spam", post_id=w.post)
    before = snapshot(db_conn)
    attempt = MODERATOR_WRITES[write]
    for actor in ("lea", "mallory", "author"):  # the post's author, anyone, the course's author
        with pytest.raises(PermissionDenied, match="not a moderator") as refused:
            attempt(store.as_user(actor), actor, w)
        assert refused.value.field == "moderator_clerk_id"
        with pytest.raises(PermissionDenied, match="not a moderator"):  # the service path checks too
            attempt(store, actor, w)
    with pytest.raises(PermissionDenied, match="not the acting user"):  # a moderator's name, forged
        attempt(store.as_user("mallory"), "mod", w)
    assert snapshot(db_conn) == before
    # ... and a moderator and an admin may, as themselves under as_user and on the service path.
    for actor, view in (("mod", store.as_user("mod")), ("root", store.as_user("root")), ("mod", store)):
        attempt(view, actor, w)


def test_moderation_columns_and_tables_are_not_writable_directly_under_as_user(db_conn: Conn) -> None:
    store = Store.on(db_conn)
    w = build(store, db_conn)
    store.moderation.hide("mod", "Spam", reply_id=w.reply)
    statements = [
        ("UPDATE forum_posts SET pinned_at = now() WHERE id = %s", [w.post], "lea"),  # the author pins
        ("UPDATE forum_posts SET locked_at = now() WHERE id = %s", [w.post], "lea"),
        ("UPDATE forum_replies SET hidden_at = NULL WHERE id = %s", [w.reply], "bob"),  # unhides own
        ("UPDATE course_feedback SET hidden_at = now() WHERE id = %s", [w.review], "lea"),
        (
            "INSERT INTO forum_posts (course_id, author_clerk_id, title, body, pinned_at)"
            " VALUES (%s, 'lea', 'Pinned', 'by me', now())",
            [w.course],
            "lea",
        ),
        (
            "INSERT INTO moderation_actions (moderator_clerk_id, action, reason) VALUES ('mod', 'hide', 'x')",
            [],
            "mod",
        ),
        ("UPDATE moderation_reports SET status = 'dismissed'", [], "mod"),
        (
            "INSERT INTO user_suspensions (user_clerk_id, suspended_until, reason)"
            " VALUES ('bob', now() + interval '1 day', 'x')",
            [],
            "mod",
        ),
        ("SELECT learnstore_suspended('bob')", [], "mod"),
    ]
    for statement, params, actor in statements:
        with db_conn.transaction(force_rollback=True):
            db_conn.execute(
                "SELECT set_config('role', 'learnstore_app', true),"
                " set_config('learnstore.clerk_id', %s, true)",
                [actor],
            )
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db_conn.execute(statement.encode(), params)


def test_the_action_log_is_append_only_even_for_the_owner_but_lets_erased_users_go(db_conn: Conn) -> None:
    store = Store.on(db_conn)
    w = build(store, db_conn)
    store.moderation.hide("mod", "Spam", reply_id=w.reply)
    for statement in (
        "UPDATE moderation_actions SET reason = 'nothing to see'",
        "DELETE FROM moderation_actions",
        "UPDATE moderation_actions SET moderator_clerk_id = 'root'",
    ):
        with db_conn.transaction(force_rollback=True), pytest.raises(psycopg.errors.InsufficientPrivilege):
            db_conn.execute(statement.encode())
    store.moderation.report("mallory", "Spam", post_id=w.post)
    document = store.users.export("mod")
    assert [a["action"] for a in document["moderation_actions"]] == ["hide"]
    assert [r["reason"] for r in store.users.export("mallory")["moderation_reports"]] == ["Spam"]
    assert store.users.erase("mod") and store.users.erase("mallory") and store.users.erase("bob")
    # The log keeps what was done and why; who did it and to whom are anonymised.
    assert actions(db_conn) == [(None, "hide", None, "Spam")]
    assert scalar(db_conn, "SELECT reporter_clerk_id IS NULL FROM moderation_reports") is True


# ---- locked and pinned threads ----------------------------------------------------------------------


def test_a_locked_thread_refuses_replies_and_pinned_threads_come_first(db_conn: Conn) -> None:
    store = Store.on(db_conn)
    w = build(store, db_conn)
    newer = store.forum.create_post(w.course, "bob", "Newer", "Body")
    db_conn.execute(
        "UPDATE forum_posts SET created_at = created_at - interval '1 hour' WHERE id = %s", [w.post]
    )
    assert [p.id for p in store.forum.list_posts(w.course)] == [newer.id, w.post]

    lock = store.as_user("mod").moderation.set_thread("mod", w.post, "lock", "Heated")
    assert lock is not None and (lock.action, lock.post_id, lock.subject_clerk_id) == ("lock", w.post, "lea")
    replies = scalar(db_conn, "SELECT count(*) FROM forum_replies")
    for view, actor in ((store, "bob"), (store.as_user("bob"), "bob"), (store.as_user("mod"), "mod")):
        with pytest.raises(Conflict, match="locked") as refused:
            view.forum.reply(w.post, actor, "One more thing")
        assert refused.value.field == "post_id"
    assert scalar(db_conn, "SELECT count(*) FROM forum_replies") == replies
    assert store.forum.list_posts(w.course)[1].locked is True
    assert store.moderation.set_thread("mod", w.post, "lock", "Again") is None
    assert store.moderation.set_thread("mod", w.post, "unlock", "Calm") is not None
    store.forum.reply(w.post, "bob", "One more thing")

    assert store.moderation.set_thread("root", w.post, "pin", "FAQ") is not None
    listed = store.forum.list_posts(w.course)
    assert [(p.id, p.pinned) for p in listed] == [(w.post, True), (newer.id, False)]
    assert next(p.id for p in store.forum.list_active_posts(w.course)) == w.post
    # Keyset pages of one walk the same order.
    first = store.forum.list_posts(w.course, limit=1)
    assert [p.id for p in store.forum.list_posts(w.course, limit=1, before=first[0])] == [newer.id]
    active = store.forum.list_active_posts(w.course, limit=1)
    assert [p.id for p in store.forum.list_active_posts(w.course, limit=1, before=active[0])] == [newer.id]
    assert store.moderation.set_thread("root", w.post, "unpin", "Old") is not None
    assert [p.id for p in store.forum.list_posts(w.course)] == [newer.id, w.post]
    with pytest.raises(InvalidValue, match="action"):
        store.moderation.set_thread("mod", w.post, "delete", "x")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.moderation.set_thread("mod", uuid4(), "lock", "x")
    assert sorted(a[1] for a in actions(db_conn)) == ["lock", "pin", "unlock", "unpin"]


# ---- suspensions ------------------------------------------------------------------------------------


def test_a_suspended_user_writes_nothing_on_either_path_and_reads_on(db_conn: Conn) -> None:
    store = Store.on(db_conn)
    w = build(store, db_conn)
    until = datetime.now(UTC) + LATER
    done = store.as_user("mod").moderation.suspend("mod", "bob", until, "Spam")
    assert (done.action, done.subject_clerk_id) == ("suspend", "bob")
    assert isinstance(done.details, dict) and datetime.fromisoformat(str(done.details["until"])) == until
    suspension = store.as_user("bob").moderation.get_suspension("bob")  # one's own suspension
    assert suspension is not None and suspension.suspended_until == until
    assert store.as_user("mallory").moderation.get_suspension("bob") is None  # nobody else's business
    assert system_notices(db_conn, "bob")[0].startswith("You are suspended until ")

    before = db_conn.execute("SELECT count(*) FROM forum_replies").fetchone()
    writes: dict[str, Callable[[Store], object]] = {
        "post": lambda s: s.forum.create_post(w.course, "bob", "T", "B"),
        "reply": lambda s: s.forum.reply(w.post, "bob", "B"),
        "edit": lambda s: s.forum.edit_reply(w.reply, "bob", "Edited"),
        "like": lambda s: s.forum.like_post(w.post, "bob"),
        "upvote": lambda s: s.reviews.upvote_review(w.review, "bob"),
        "report": lambda s: s.moderation.report("bob", "Spam", post_id=w.post),
        # His reply has an answer: deleting it is a tombstone (an UPDATE), refused under as_user; on
        # the service path a deletion goes on (docs/moderation.md).
        "delete": lambda s: s.forum.delete_reply(w.reply, "bob"),
    }
    for name, write in writes.items():
        for view in (store.as_user("bob"),) if name == "delete" else (store, store.as_user("bob")):
            with pytest.raises(PermissionDenied) as refused:
                write(view)
            assert refused.value.field == "suspended", name
    assert db_conn.execute("SELECT count(*) FROM forum_replies").fetchone() == before
    # Reads go on; others' writes around the suspended user's content too.
    assert len(store.as_user("bob").forum.get_thread(w.post).replies) == 2
    assert store.as_user("bob").users.list_notifications("bob")
    store.forum.like_reply(w.reply, "lea")
    assert store.forum.delete_reply(w.reply, "author") == "tombstoned"  # the course's author moderates

    assert store.moderation.unsuspend("mod", "bob", "Served") is not None
    assert store.moderation.unsuspend("mod", "bob", "Twice") is None
    store.as_user("bob").forum.reply(w.post, "bob", "Sorry")
    # A suspension ends by itself at its time.
    store.moderation.suspend("root", "lea", datetime.now(UTC) + LATER, "Cool down")
    with pytest.raises(PermissionDenied):
        store.forum.like_post(w.post, "lea")
    db_conn.execute("UPDATE user_suspensions SET suspended_until = now() - interval '1 second'")
    assert store.forum.like_post(w.post, "lea").changed
    for bad, field in ((datetime.now(UTC) - LATER, "until"), (datetime(2030, 1, 1), "until")):
        with pytest.raises(InvalidValue) as bad_until:
            store.moderation.suspend("mod", "bob", bad, "x")
        assert bad_until.value.field == field
    with pytest.raises(NotFound):
        store.moderation.suspend("mod", "ghost", until, "x")
    with pytest.raises(InvalidValue):
        store.moderation.suspend("mod", "mod", until, "Myself")
    assert sorted(a[1] for a in actions(db_conn)) == ["suspend", "suspend", "unsuspend"]


# ---- races ------------------------------------------------------------------------------------------


def committed_world(dsn: str, *more: str) -> World:
    with psycopg.connect(dsn, autocommit=True) as conn:
        store = Store.on(conn)
        for clerk_id in more:
            store.users.apply_clerk_event({"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}})
        return build(store, conn)


async def test_16_reporters_at_once_on_one_target_file_16_reports_one_queue_item(fresh_db: str) -> None:
    reporters = [f"reporter_{i}" for i in range(16)]
    w = committed_world(fresh_db, *reporters)
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        # Each reporter twice, all at once, each under as_user: one open report each, no error.
        reports = await asyncio.gather(
            *(
                store.as_user(who).moderation.report(who, f"Spam seen by {who}", reply_id=w.reply)
                for who in reporters * 2
            )
        )
        assert len({r.id for r in reports}) == 16
        queue = await store.moderation.queue()
        assert [(q.target_id, q.report_count) for q in queue] == [(w.reply, 16)]


async def test_moderators_hiding_at_once_act_once(fresh_db: str) -> None:
    moderators = [f"mod_{i}" for i in range(16)]
    w = committed_world(fresh_db, *moderators)
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        for who in moderators:
            await store.users.grant_role(who, "moderator")
        await store.moderation.report("mallory", "Spam", reply_id=w.reply)
        done = await asyncio.gather(
            *(store.as_user(who).moderation.hide(who, "Spam", reply_id=w.reply) for who in moderators)
        )
        assert len([d for d in done if d is not None]) == 1
        async with await psycopg.AsyncConnection.connect(fresh_db) as conn:
            cur = await conn.execute(
                "SELECT (SELECT count(*) FROM moderation_actions),"
                " (SELECT count(*) FROM notifications WHERE user_clerk_id = 'bob' AND type = 'system'),"
                " (SELECT count(*) FROM moderation_reports WHERE status = 'resolved')"
            )
            assert await cur.fetchone() == (1, 1, 1)


async def test_no_reply_slips_into_a_thread_locked_while_16_replies_wait(fresh_db: str) -> None:
    repliers = [f"replier_{i}" for i in range(16)]
    w = committed_world(fresh_db, *repliers)
    async with (
        await learnstore.connect_async(fresh_db, max_size=17) as store,
        await psycopg.AsyncConnection.connect(fresh_db) as locker,
        await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as watcher,
    ):
        # The lock is taken but not committed; every reply then waits on the post's row.
        await locker.execute("SELECT * FROM moderation_set_thread('mod', %s, 'lock', 'Heated')", [w.post])
        replies = [
            asyncio.ensure_future(store.as_user(who).forum.reply(w.post, who, "Me too")) for who in repliers
        ]
        # Until all 16 wait on a lock (pg_stat_activity), not a guess at how long that takes; the
        # bound only turns a hang into a failure.
        for _ in range(6000):
            cur = await watcher.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = await cur.fetchone()
            if row is not None and row[0] >= len(repliers):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the replies never waited on the locked thread")
        await locker.commit()
        outcomes = await asyncio.gather(*replies, return_exceptions=True)
        assert all(isinstance(o, Conflict) for o in outcomes), outcomes
        cur = await watcher.execute(
            "SELECT count(*) FROM forum_replies WHERE author_clerk_id LIKE 'replier_%%'"
        )
        assert await cur.fetchone() == (0,)


def test_the_action_log_pages_newest_first_and_only_moderators_read_it(fresh_db: str) -> None:
    w = committed_world(fresh_db)
    with learnstore.connect(fresh_db) as store:  # each action its own transaction: its own time
        assert store.moderation.list_actions() == []
        store.moderation.hide("mod", "One", post_id=w.post)
        store.moderation.hide("mod", "Two", reply_id=w.reply)
        store.moderation.set_thread("mod", w.post, "lock", "Three")
        assert [a.reason for a in store.moderation.list_actions()] == ["Three", "Two", "One"]
        page = store.moderation.list_actions(limit=2)
        assert [a.reason for a in store.moderation.list_actions(limit=2, before=page[-1])] == ["One"]
        assert [a.reason for a in store.moderation.list_actions(subject_clerk_id="bob")] == ["Two"]
        assert store.as_user("mallory").moderation.list_actions() == []  # the log is the moderators'
        assert [a.reason for a in store.as_user("root").moderation.list_actions()] == ["Three", "Two", "One"]
