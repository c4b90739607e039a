"""Site-wide roles (moderator, admin): granted by an admin or the service, enforced by PostgreSQL."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.abc import QueryNoTemplate as Query
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb
from test_schema import WORLD

import learnstore
from learnstore import Store
from learnstore.cli import main
from learnstore.errors import InvalidReference, InvalidValue, NotFound, PermissionDenied
from learnstore.pytest_plugin import unique_name
from learnstore.security import AUDIENCES, COMMANDS, COURSE_SCOPED, MODEL, OWNERS, WRITES, model_table


def people(store: Store, *clerk_ids: str) -> None:
    for clerk_id in clerk_ids:
        store.users.apply_clerk_event({"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}})


def act(conn: psycopg.Connection[Any], clerk_id: str) -> None:
    """What as_user does at BEGIN, inside the caller's (rolled back) transaction."""
    conn.execute(
        "SELECT set_config('role', 'learnstore_app', true), set_config('learnstore.clerk_id', %s, true)",
        [clerk_id],
    )


def held(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str | None]]:
    return [
        (user, role, by)
        for user, role, by in conn.execute(
            "SELECT user_clerk_id, role, granted_by FROM site_roles ORDER BY 1, 2"
        ).fetchall()
    ]


def test_the_service_grants_the_first_admin_and_an_admin_grants_the_rest(
    db_conn: psycopg.Connection[Any],
) -> None:
    store = Store.on(db_conn)
    people(store, "root", "mod", "learner")
    first = store.users.grant_role("root", "admin")
    assert (first.user_clerk_id, first.role, first.granted_by) == ("root", "admin", None)
    assert store.users.grant_role("root", "admin") == first  # idempotent: the grant as it was

    granted = store.as_user("root").users.grant_role("mod", "moderator")
    assert granted.granted_by == "root"  # under as_user the grantor is the acting admin
    assert held(db_conn) == [("mod", "moderator", "root"), ("root", "admin", None)]
    assert [r.role for r in store.as_user("mod").users.list_roles("mod")] == ["moderator"]
    assert [r.user_clerk_id for r in store.as_user("root").users.list_roles()] == ["mod", "root"]
    assert store.as_user("learner").users.list_roles() == []  # nobody else's grants, and none of theirs

    assert store.as_user("root").users.revoke_role("mod", "moderator") is True
    assert store.as_user("root").users.revoke_role("mod", "moderator") is False
    assert held(db_conn) == [("root", "admin", None)]


@pytest.mark.parametrize("actor", ["learner", "mod"])
def test_nobody_but_an_admin_grants_or_revokes_under_as_user(
    db_conn: psycopg.Connection[Any], actor: str
) -> None:
    store = Store.on(db_conn)
    people(store, "root", "mod", "learner")
    store.users.grant_role("root", "admin")
    store.users.grant_role("mod", "moderator")
    before = held(db_conn)
    user = store.as_user(actor)
    for role in ("admin", "moderator"):  # not even to themselves
        with pytest.raises(PermissionDenied, match="site_roles"):
            user.users.grant_role(actor, role)
    with pytest.raises(PermissionDenied, match="site_roles"):
        user.users.grant_role("learner", "moderator", granted_by=actor)
    with pytest.raises(PermissionDenied, match="granted_by"):  # naming an admin as the grantor
        user.users.grant_role(actor, "admin", granted_by="root")
    assert user.users.revoke_role("root", "admin") is False
    assert user.users.revoke_role("mod", "moderator") is False
    assert held(db_conn) == before


def test_sql_as_the_app_role_cannot_grant_a_role_nor_change_one(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    people(store, "root", "mallory")
    store.users.grant_role("root", "admin")
    with db_conn.transaction(force_rollback=True):
        act(db_conn, "mallory")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            db_conn.execute(
                "INSERT INTO site_roles (user_clerk_id, role, granted_by) VALUES ('mallory', 'admin', 'root')"
            )
    with db_conn.transaction(force_rollback=True):
        act(db_conn, "root")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            db_conn.execute("UPDATE site_roles SET user_clerk_id = 'mallory'")
    with db_conn.transaction(force_rollback=True):  # the id is not a column the role may insert
        act(db_conn, "root")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            db_conn.execute(
                "INSERT INTO site_roles (id, user_clerk_id, role)"
                " VALUES (gen_random_uuid(), 'mallory', 'admin')"
            )
    assert held(db_conn) == [("root", "admin", None)]


def test_the_role_helpers_answer_for_the_acting_identity_only(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    people(store, "root", "mallory")
    store.users.grant_role("root", "admin")
    answers = {}
    for actor in ("root", "mallory", ""):
        with db_conn.transaction(force_rollback=True):
            act(db_conn, actor)
            answers[actor] = db_conn.execute(
                "SELECT learnstore_actor(), learnstore_has_site_role('admin'),"
                " learnstore_has_site_role('moderator')"
            ).fetchone()
    assert answers == {
        "root": ("root", True, False),
        "mallory": ("mallory", False, False),
        "": (None, False, False),
    }
    # the definer function is the app role's to call, nobody else's
    executable = db_conn.execute(
        """SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE'),
                  has_function_privilege('learnstore_app', p.oid, 'EXECUTE'), p.proconfig
           FROM pg_proc p WHERE p.proname IN ('learnstore_actor', 'learnstore_has_site_role') ORDER BY 1"""
    ).fetchall()
    assert executable == [
        ("learnstore_actor", False, True, ["search_path=pg_catalog, pg_temp"]),
        ("learnstore_has_site_role", False, True, ["search_path=pg_catalog, pg_temp"]),
    ]


def test_bad_input_is_a_clear_error_and_writes_nothing(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    people(store, "root")
    for role in ("owner", "", None, 1, "Admin"):
        with pytest.raises(InvalidValue, match="role must be one of moderator, admin") as caught:
            store.users.grant_role("root", role)  # type: ignore[arg-type]
        assert caught.value.field == "role"
    with pytest.raises(InvalidValue, match="role must be one of"):
        store.users.revoke_role("root", "owner")  # type: ignore[arg-type]
    with pytest.raises(InvalidReference, match="no user with this clerk_id"):
        store.users.grant_role("ghost", "admin")
    with pytest.raises(InvalidReference, match="granted_by: no user"):
        store.users.grant_role("root", "admin", granted_by="ghost")
    assert held(db_conn) == []


def test_export_and_erase_cover_the_roles_and_who_granted_them(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    people(store, "root", "mod")
    store.users.grant_role("root", "admin")
    store.as_user("root").users.grant_role("mod", "moderator")
    exported = {
        (r["user_clerk_id"], r["role"], r["granted_by"]) for r in store.users.export("root")["site_roles"]
    }
    assert exported == {("root", "admin", None), ("mod", "moderator", "root")}
    assert store.users.erase("root") is True
    # the admin's own grant goes; the grant they made stays, with no grantor
    assert held(db_conn) == [("mod", "moderator", None)]
    assert store.users.erase("mod") is True
    assert held(db_conn) == []


async def test_sixteen_admins_granting_one_role_at_once_leave_one_grant(fresh_db: str) -> None:
    async with await learnstore.connect_async(fresh_db, max_size=16) as store:
        for index in range(16):
            await store.users.apply_clerk_event(
                {"type": "user.created", "data": {"id": f"admin{index}", "updated_at": 1}}
            )
            await store.users.grant_role(f"admin{index}", "admin")
        await store.users.apply_clerk_event({"type": "user.created", "data": {"id": "mod", "updated_at": 1}})
        grants = await asyncio.gather(
            *(store.as_user(f"admin{index}").users.grant_role("mod", "moderator") for index in range(16))
        )
        assert len({grant.id for grant in grants}) == 1
        assert [r.role for r in await store.users.list_roles("mod")] == ["moderator"]


def test_the_cli_grants_lists_and_revokes(fresh_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    with learnstore.connect(fresh_db) as store:
        people(store, "root")
    assert main(["site-role", "grant", "root", "admin", "--dsn", fresh_db]) == 0
    assert capsys.readouterr().out == "root is admin\n"
    assert main(["site-role", "list", "--dsn", fresh_db]) == 0
    assert capsys.readouterr().out.startswith("root\tadmin\t-\t")
    assert main(["site-role", "revoke", "root", "admin", "--dsn", fresh_db]) == 0
    assert capsys.readouterr().out == "root is no longer admin\n"
    assert main(["site-role", "grant", "root", "--dsn", fresh_db]) == 1
    assert "needs a CLERK_ID and a ROLE" in capsys.readouterr().err
    assert main(["site-role", "grant", "ghost", "admin", "--dsn", fresh_db]) == 1
    assert "no user with this clerk_id" in capsys.readouterr().err
    with psycopg.connect(fresh_db) as conn:
        assert held(conn) == []


# ---- the model, cell by cell, from the catalog ------------------------------------------------------

# Besides the world's two users (clerk_a authors the course, clerk_b learns and writes), one user per
# audience of the model; each holds their seat in the world's course or their site role.
CAST = ("x_editor", "x_reviewer", "x_learner", "x_moderator", "x_admin", "x_stranger")
# UPDATE tries `SET <first column the app role may update> = itself`, except where the rule is about
# the value: a review is made in the reviewer's own name; the requester may only withdraw a
# collaboration request (a withdrawal the course's author may make as well).
UPDATE_SET = {
    "suggested_edits": "reviewer_clerk_id = (select learnstore_actor())",
    "collaboration_requests": "status = 'withdrawn'",
}
# INSERT tries a copy of the world's row (in its owner's name); a grant is made in the admin's own.
COPY_SET = {"site_roles": "granted_by = %(actor)s"}
# Errors that PostgreSQL raises after row-level security let the row through.
PAST_THE_POLICY = (
    psycopg.errors.UniqueViolation,
    psycopg.errors.ForeignKeyViolation,
    psycopg.errors.CheckViolation,
    psycopg.errors.RestrictViolation,
)


@pytest.fixture
def cast(db_conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """tests/test_schema.py's world (its flashcard set made public), and the cast in its course."""
    ids: dict[str, Any] = {}
    for key, target, values in WORLD:
        ids[key] = db_conn.execute(f"INSERT INTO {target} VALUES ({values}) RETURNING id", ids).fetchone()[0]  # type: ignore[index]
    db_conn.execute("UPDATE flashcard_sets SET is_public = true")
    for clerk_id in CAST:
        db_conn.execute("INSERT INTO users (clerk_id) VALUES (%s)", [clerk_id])
    db_conn.execute(
        "INSERT INTO collaborators (course_id, user_clerk_id, role, status)"
        " VALUES (%(c)s, 'x_editor', 'editor', 'accepted'), (%(c)s, 'x_reviewer', 'reviewer', 'accepted')",
        {"c": ids["courses"]},
    )
    db_conn.execute(
        "INSERT INTO user_courses (user_clerk_id, course_id) VALUES ('x_learner', %s)", [ids["courses"]]
    )
    db_conn.execute(
        "INSERT INTO site_roles (user_clerk_id, role)"
        " VALUES ('x_moderator', 'moderator'), ('x_admin', 'admin')"
    )
    return ids


def audiences_of(conn: psycopg.Connection[Any], table: str, row_id: Any, actor: str) -> set[str]:
    """The model's audiences `actor` belongs to for the world's row of `table`, read from the rows."""
    found = {"anyone"}
    owner = OWNERS.get(table)
    if owner is not None:
        query = sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
            sql.Identifier(owner), sql.Identifier(table)
        )
        if conn.execute(query, [row_id]).fetchone() == (actor,):
            found.add("own")
    found |= {
        role for (role,) in conn.execute("SELECT role FROM site_roles WHERE user_clerk_id = %s", [actor])
    }
    if table in COURSE_SCOPED or table == "tags":  # a tag: of any course (the world has one)
        row = conn.execute(
            """SELECT c.author_clerk_id = %(a)s,
                      EXISTS (SELECT FROM collaborators k WHERE k.course_id = c.id AND k.user_clerk_id = %(a)s
                              AND k.status = 'accepted' AND k.role = 'editor'),
                      EXISTS (SELECT FROM collaborators k WHERE k.course_id = c.id AND k.user_clerk_id = %(a)s
                              AND k.status = 'accepted' AND k.role = 'reviewer'),
                      EXISTS (SELECT FROM user_courses e WHERE e.course_id = c.id AND e.user_clerk_id = %(a)s)
               FROM courses c""",
            {"a": actor},
        ).fetchone()
        assert row is not None
        found |= {
            name
            for name, member in zip(("author", "editor", "reviewer", "learner"), row, strict=True)
            if member
        }
    return found


def attempt(conn: psycopg.Connection[Any], actor: str, statement: Query, params: Any) -> bool:
    """Whether `actor`, as the app role, may: the statement touched a row (or failed only past the
    policy, on a constraint), rather than touching none or being refused (42501)."""
    try:
        with conn.transaction(force_rollback=True):
            act(conn, actor)
            cursor = conn.execute(statement, params)
            if cursor.description is None:
                return cursor.rowcount > 0
            row = cursor.fetchone()
            return row is not None and bool(row[0])
    except psycopg.errors.InsufficientPrivilege:
        return False
    except PAST_THE_POLICY:
        return True


def granted_columns(conn: psycopg.Connection[Any], table: str, privilege: str) -> list[str]:
    return [
        name
        for (name,) in conn.execute(
            """SELECT a.attname FROM pg_attribute a
               WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
                 AND has_column_privilege('learnstore_app', a.attrelid, a.attnum, %s)
               ORDER BY a.attnum""",
            [table, privilege],
        )
    ]


def test_every_table_of_the_catalog_has_a_rule_for_every_command(db_conn: psycopg.Connection[Any]) -> None:
    tables = {
        name
        for (name,) in db_conn.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
            " AND c.relkind IN ('r', 'p') AND c.relname !~ '^(_yoyo_|yoyo_lock$)'"
            " AND NOT c.relispartition"  # a partition is reached through its parent, whose rule it is
        )
    }
    assert tables - MODEL.keys() == set(), "a table without a rule: add it to learnstore.security.MODEL"
    assert MODEL.keys() - tables == set(), "learnstore.security.MODEL names a table the schema lacks"
    for table, rule in MODEL.items():
        assert set(rule) == set(COMMANDS), table
        assert all(audience in AUDIENCES for audiences in rule.values() for audience in audiences), table
    # Row-level security on every table but the ledger (which the app role may not touch at all).
    bare = db_conn.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
        " AND c.relname !~ '^(_yoyo_|yoyo_lock$)' AND NOT c.relrowsecurity ORDER BY 1"
    ).fetchall()
    assert bare == [("webhook_deliveries",)]


@pytest.mark.parametrize("table", sorted(MODEL))
def test_each_cell_of_the_model_holds_for_every_audience(
    db_conn: psycopg.Connection[Any], cast: dict[str, Any], table: str
) -> None:
    row_id = cast[table]
    owner = OWNERS.get(table)
    # ... and a forged id, and no identity at all: neither is anyone's own, nor on any team.
    actors = list(
        dict.fromkeys([*(["clerk_b", "clerk_a"] if owner else ["clerk_a"]), *CAST, "forged_id", ""])
    )
    name = sql.Identifier(table)
    copy = sql.Identifier(f"copy_of_{table}")
    db_conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT * FROM {} WHERE id = %s").format(copy, name),
        [row_id],
    )
    db_conn.execute(sql.SQL("GRANT SELECT, UPDATE ON {} TO learnstore_app").format(copy))
    insertable = (
        granted_columns(db_conn, table, "INSERT") or granted_columns(db_conn, table, "SELECT") or ["id"]
    )
    updatable = granted_columns(db_conn, table, "UPDATE")
    columns = sql.SQL(", ").join(map(sql.Identifier, insertable))
    update = (
        sql.SQL(UPDATE_SET[table])
        if table in UPDATE_SET
        else sql.SQL("{} = {}").format(sql.Identifier(updatable[0]), sql.Identifier(updatable[0]))
        if updatable
        else sql.SQL("id = id")
    )
    statements: dict[str, Query] = {
        "SELECT": sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE id = %(id)s)").format(name),
        "INSERT": sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(name, columns, columns, copy),
        "UPDATE": sql.SQL("UPDATE {} SET {} WHERE id = %(id)s").format(name, update),
        "DELETE": sql.SQL("DELETE FROM {} WHERE id = %(id)s").format(name),
    }
    wrong = []
    for actor in actors:
        audiences = audiences_of(db_conn, table, row_id, actor)
        if table in COPY_SET:
            db_conn.execute(sql.SQL("UPDATE {} SET " + COPY_SET[table]).format(copy), {"actor": actor})
        for command in COMMANDS:
            expected = bool(audiences & set(MODEL[table][command]))
            observed = attempt(db_conn, actor, statements[command], {"id": row_id})
            if observed != expected:
                wrong.append((command, actor, sorted(audiences), "allowed" if observed else "refused"))
    assert wrong == []


# ---- every repository method, and the writes issue 16 found open -----------------------------------


def test_every_public_repository_method_has_a_rule(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    found = {
        f"{name}.{method}"
        for name, repository in vars(store).items()
        if not name.startswith("_") and type(repository).__module__.startswith("learnstore.repositories.")
        for method, _ in inspect.getmembers(type(repository), inspect.isfunction)
        if not method.startswith("_")
    }
    assert len(found) > 150
    assert found - WRITES.keys() == set(), "a method without a rule: add it to learnstore.security.WRITES"
    assert WRITES.keys() - found == set(), "learnstore.security.WRITES names a method that is gone"
    assert {table for tables in WRITES.values() for table in tables} <= MODEL.keys()


def platform(store: Store) -> dict[str, Any]:
    """Alice authors a published course with a lesson and keeps a public flashcard set; Mallory is a
    learner of the course; Eddie edits it; Root is an admin."""
    people(store, "alice", "mallory", "eddie", "root")
    store.users.grant_role("root", "admin")
    course = store.content.create_course("alice", "Alice's course")
    unit = store.content.add_unit(course.id, "Unit")
    lesson = store.content.add_lesson(unit.id, "Lesson", "text", {"body": "b"})
    store.content.publish_course(course.id)
    store.progress.enrol("mallory", course.id)
    store.collaboration.invite_collaborator(course.id, "alice", "eddie", "editor")
    store.collaboration.respond_to_invitation(course.id, "eddie", accept=True)
    deck = store.flashcards.create_set("alice", "Alice's deck", is_public=True)
    card = store.flashcards.add_card("alice", deck.id, "hello", "olá")
    post = store.forum.create_post(course.id, "alice", "Welcome", "Hi all")
    return {
        "course": course.id,
        "unit": unit.id,
        "lesson": lesson.id,
        "deck": deck.id,
        "card": card.id,
        "post": post.id,
    }


def test_a_learner_cannot_rewrite_a_card_of_someone_elses_public_set(
    db_conn: psycopg.Connection[Any],
) -> None:
    store = Store.on(db_conn)
    made = platform(store)
    mallory = store.as_user("mallory").flashcards
    assert [c.front for c in mallory.list_cards("mallory", made["deck"])] == ["hello"]  # public: readable
    with pytest.raises((NotFound, PermissionDenied)):
        mallory.update_card("alice", made["card"], front="pwned")
    with pytest.raises((NotFound, PermissionDenied)):
        mallory.add_card("alice", made["deck"], "spam", "spam")
    assert mallory.delete_card("alice", made["card"]) is False
    assert [(c.front, c.back) for c in store.flashcards.list_cards("alice", made["deck"])] == [
        ("hello", "olá")
    ]
    assert store.as_user("alice").flashcards.update_card("alice", made["card"], front="hi").front == "hi"


def test_only_an_admin_creates_achievements_and_nobody_backfills_as_a_user(
    db_conn: psycopg.Connection[Any],
) -> None:
    store = Store.on(db_conn)
    platform(store)
    rule = {"kind": "lessons_completed", "threshold": 1}
    with pytest.raises(PermissionDenied, match="achievements"):
        store.as_user("mallory").achievements.create("jackpot", "Jackpot", rule, points=1_000_000)
    made = store.as_user("root").achievements.create("first", "First", rule, points=10)
    with pytest.raises(NotFound):  # under row-level security there is no such row to change
        store.as_user("mallory").achievements.update(made.id, title="Mine", points=1_000_000)
    assert store.achievements.get(made.id).points == 10
    for actor in ("mallory", "root"):  # awards for everyone are the service path's to make
        with pytest.raises(PermissionDenied, match="evaluate_achievements"):
            store.as_user(actor).achievements.backfill(made.id)
        with pytest.raises(PermissionDenied, match="evaluate_achievements"):
            store.as_user(actor).achievements.evaluate(actor)
    assert [a.code for a in store.achievements.list_all()] == ["first"]
    assert db_conn.execute("SELECT count(*) FROM user_achievements").fetchone() == (0,)


def test_course_unit_and_lesson_writes_by_anyone_off_the_team_are_refused(
    db_conn: psycopg.Connection[Any],
) -> None:
    store = Store.on(db_conn)
    made = platform(store)
    mallory = store.as_user("mallory").content
    attempts: list[Callable[[], object]] = [
        lambda: mallory.update_course(made["course"], title="Mine now"),  # acting_clerk_id left out
        lambda: mallory.update_course(made["course"], title="Mine now", acting_clerk_id="alice"),  # forged
        lambda: mallory.unpublish_course(made["course"]),
        lambda: mallory.delete_course(made["course"]),
        lambda: mallory.add_unit(made["course"], "Spam"),
        lambda: mallory.update_unit(made["unit"], title="Spam"),
        lambda: mallory.delete_unit(made["unit"]),
        lambda: mallory.add_lesson(made["unit"], "Spam", "text", {"body": "spam"}),
        lambda: mallory.update_lesson(made["lesson"], title="Spam"),
        lambda: mallory.delete_lesson(made["lesson"]),
        lambda: mallory.add_quiz(made["lesson"], "flashcard", "Q?", "a"),
    ]
    for index, attempt_write in enumerate(attempts):
        with pytest.raises(PermissionDenied):
            attempt_write()
        assert store.content.get_course(made["course"]).title == "Alice's course", index
    tree = store.content.get_course_tree(made["course"])
    assert [(u.title, [lesson.title for lesson in u.lessons]) for u in tree.units] == [("Unit", ["Lesson"])]
    # the raw table, as the app role: refused by PostgreSQL, whatever the code would check
    with db_conn.transaction(force_rollback=True):
        act(db_conn, "mallory")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            db_conn.execute("UPDATE courses SET title = 'raw' WHERE id = %s", [made["course"]])
    with db_conn.transaction(force_rollback=True):
        act(db_conn, "mallory")
        assert db_conn.execute("DELETE FROM lessons WHERE id = %s", [made["lesson"]]).rowcount == 0
    # the team, with acting_clerk_id left out: the identity is the actor
    eddie = store.as_user("eddie").content
    assert eddie.update_lesson(made["lesson"], title="Better").title == "Better"
    assert eddie.add_unit(made["course"], "Two").title == "Two"
    assert eddie.delete_course(made["course"]) is False  # an editor, not the author: nothing to delete
    assert store.as_user("root").content.update_course(made["course"], title="Fixed").title == "Fixed"


@pytest.mark.parametrize("kind", ["reply", "mention", "like", "system"])
def test_forged_notifications_of_every_type_are_refused(db_conn: psycopg.Connection[Any], kind: str) -> None:
    store = Store.on(db_conn)
    made = platform(store)
    with pytest.raises(PermissionDenied, match="notifications"):
        store.as_user("mallory").users.notify("alice", kind, "You won a prize")  # type: ignore[arg-type]
    forgeries = [
        # in someone else's name
        {"by": "eddie", "post_id": str(made["post"])},
        # about a post that is not the recipient's (for a like), or a thread they are not in
        {"by": "mallory", "post_id": str(made["post"])},
    ]
    source = {"reply": "forum_reply", "mention": "forum_post", "like": "forum_post", "system": "course"}[kind]
    for metadata in forgeries:
        if kind == "mention" and metadata["by"] == "mallory":
            continue  # mallory may mention anyone in her own post: that is what a mention is
        with db_conn.transaction(force_rollback=True):
            act(db_conn, "mallory")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
                db_conn.execute(
                    "INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type,"
                    " metadata) VALUES ('eddie', %s, 'forged', %s, %s, %s)",
                    [
                        kind,
                        made["course"] if kind == "system" else made["post"],
                        source,
                        Jsonb(metadata),
                    ],
                )
    assert store.users.count_unread("eddie") == 1  # the invitation alone
    # the real thing goes through: mallory's like notifies alice, signed by mallory
    store.as_user("mallory").forum.like_post(made["post"], "mallory")
    (note,) = store.users.list_notifications("alice")
    assert note.type == "like" and isinstance(note.metadata, dict) and note.metadata["by"] == "mallory"


def test_leaving_the_role_inside_an_operation_is_only_data(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    people(store, "alice", "mallory")
    goal = store.users.create_goal("alice", "Alice's")
    escape = "x'); RESET ROLE; SELECT set_config('learnstore.clerk_id', 'alice', true); --"
    with store.as_user("mallory").transaction() as tx:
        mine = tx.users.create_goal("mallory", escape)
        assert mine.title == escape  # stored exactly, run never
        assert tx.users.list_active_goals("alice") == []
        with pytest.raises(NotFound):
            tx.users.set_goal_progress("alice", goal.id, 100)
    assert store.users.list_active_goals("alice")[0].progress == 0


def test_a_login_that_owns_nothing_gains_nothing_by_leaving_the_role(
    learnstore_server_dsn: str, fresh_db: str
) -> None:
    # The strict deployment (docs/security.md): the service logs in as a role that owns nothing and
    # may only switch to learnstore_app. Code that leaves the role (RESET ROLE) is left with nothing.
    login = unique_name("login")
    with psycopg.connect(learnstore_server_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE learnstore_app NOINHERIT").format(sql.Identifier(login))
        )
    try:
        with learnstore.connect(fresh_db) as store:
            people(store, "alice", "mallory")
        # straight to the server (a PgBouncer in front knows only the test's own login)
        dsn = make_conninfo(learnstore_server_dsn, dbname=conninfo_to_dict(fresh_db)["dbname"], user=login)
        with psycopg.connect(dsn) as conn:
            act(conn, "mallory")
            assert conn.execute("SELECT count(*) FROM users").fetchone() == (2,)  # the app role reads
            conn.execute("RESET ROLE")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute("SELECT count(*) FROM users")
            conn.rollback()
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied to set role"):
                conn.execute("SELECT set_config('role', 'postgres', true)")
            conn.rollback()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("INSERT INTO learning_goals (user_clerk_id, title) VALUES ('alice', 'x')")
    finally:
        with psycopg.connect(learnstore_server_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


def test_doctor_names_a_table_of_the_model_left_without_row_level_security(fresh_db: str) -> None:
    from learnstore.doctor import diagnose

    (before,) = [check for check in diagnose(fresh_db) if check.name == "row-level security"]
    assert before.outcome == "pass"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE flashcards DISABLE ROW LEVEL SECURITY")
    (after,) = [check for check in diagnose(fresh_db) if check.name == "row-level security"]
    assert (after.outcome, after.detail) == (
        "fail",
        "tables of the permission model without row-level security: flashcards",
    )


def test_the_docs_show_the_model_as_learnstore_security_has_it() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "security.md").read_text()
    assert model_table() in page


def test_every_function_pins_its_search_path_and_no_definer_is_callable_by_public(
    db_conn: psycopg.Connection[Any],
) -> None:
    functions = db_conn.execute(
        """SELECT p.proname, p.prosecdef, coalesce(p.proconfig, '{}'), p.prorettype = 'trigger'::regtype,
                  has_function_privilege('public', p.oid, 'EXECUTE')
           FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1"""
    ).fetchall()
    assert len(functions) > 45
    # learnstore_visible (migration 0015) is the hidden-content predicate of every forum read: a SQL
    # function with a SET clause is never inlined, which cost a 50-thread page 2 ms -> 35 ms. It is not
    # SECURITY DEFINER and names every object schema-qualified, so a search_path cannot redirect it.
    # uuidv7 (0035), every table's id default, likewise: a SQL-standard body binds its names when it
    # is created, so no search_path can redirect it; and learnstore_name_key (0040), the roster's
    # name key, for the same reason.
    inlined = {"learnstore_visible", "uuidv7", "learnstore_name_key"}
    unpinned = [
        name
        for name, _, config, *_ in functions
        if not any(c.startswith("search_path=") for c in config) and name not in inlined
    ]
    assert unpinned == []
    # A trigger function runs only as a trigger (a direct call is an error): that is its caller check.
    public_definers = [
        name for name, definer, _, trigger, public in functions if definer and public and not trigger
    ]
    assert public_definers == []
    definers = {name for name, definer, *_ in functions if definer}
    assert {"evaluate_achievements", "refresh_course_enrolments", "learnstore_has_site_role"} <= definers


# ---- write methods, each as every audience -------------------------------------------------------

# (method, table, command, call): the call as made by whoever acts, on Alice's rows (her course, her
# public deck, her goal); its outcome must be what MODEL says of the table and command for the actor.
# Alice authors; Eddie edits and Rita reviews the course; Mallory learns it; Mo moderates; Root is
# an admin; Stan is no one in particular.
Call = Callable[[Store, dict[str, Any]], object]
METHOD_CALLS: list[tuple[str, str, str, Call]] = [
    ("content.update_course", "courses", "UPDATE",
     lambda s, m: s.content.update_course(m["course"], title="T")),
    ("content.unpublish_course", "courses", "UPDATE", lambda s, m: s.content.unpublish_course(m["course"])),
    ("content.archive_course", "courses", "UPDATE", lambda s, m: s.content.archive_course(m["course"])),
    ("content.delete_course", "courses", "DELETE", lambda s, m: s.content.delete_course(m["course"])),
    ("content.add_unit", "units", "INSERT", lambda s, m: s.content.add_unit(m["course"], "U2")),
    ("content.update_unit", "units", "UPDATE", lambda s, m: s.content.update_unit(m["unit"], title="U3")),
    ("content.move_unit", "units", "UPDATE", lambda s, m: s.content.move_unit(m["unit"], 0)),
    ("content.delete_unit", "units", "DELETE", lambda s, m: s.content.delete_unit(m["unit"])),
    ("content.add_lesson", "lessons", "INSERT",
     lambda s, m: s.content.add_lesson(m["unit"], "L", "text", {"body": "b"})),
    ("content.update_lesson", "lessons", "UPDATE",
     lambda s, m: s.content.update_lesson(m["lesson"], title="L2")),
    ("content.move_lesson", "lessons", "UPDATE", lambda s, m: s.content.move_lesson(m["lesson"], 0)),
    ("content.delete_lesson", "lessons", "DELETE", lambda s, m: s.content.delete_lesson(m["lesson"])),
    ("content.add_media", "media", "INSERT",
     lambda s, m: s.content.add_media(m["lesson"], "audio", "https://x.example/a.mp3")),
    ("content.delete_media", "media", "DELETE", lambda s, m: s.content.delete_media(m["media"])),
    ("content.add_quiz", "quizzes", "INSERT",
     lambda s, m: s.content.add_quiz(m["lesson"], "flashcard", "Q?", "a")),
    ("content.delete_quiz", "quizzes", "DELETE", lambda s, m: s.content.delete_quiz(m["quiz"])),
    ("lesson_items.update_quiz", "quizzes", "UPDATE",
     lambda s, m: s.lesson_items.update_quiz(m["quiz"], question="Q2?")),
    ("lesson_items.move_quiz", "quizzes", "UPDATE", lambda s, m: s.lesson_items.move_quiz(m["quiz"], 0)),
    ("lesson_items.update_media", "media", "UPDATE",
     lambda s, m: s.lesson_items.update_media(m["media"], title="M")),
    ("lesson_items.move_media", "media", "UPDATE", lambda s, m: s.lesson_items.move_media(m["media"], 0)),
    ("catalog.create_language", "languages", "INSERT", lambda s, m: s.catalog.create_language("xx", "X")),
    ("catalog.attach_tags", "course_tags", "INSERT",
     lambda s, m: s.catalog.attach_tags(m["course"], ["grammar"])),
    ("catalog.detach_tags", "course_tags", "DELETE",
     lambda s, m: s.catalog.detach_tags(m["course"], ["travel"]) == []),
    ("achievements.create", "achievements", "INSERT",
     lambda s, m: s.achievements.create("x", "X", {"kind": "streak_days", "threshold": 2})),
    ("achievements.update", "achievements", "UPDATE",
     lambda s, m: s.achievements.update(m["achievement"], title="Y")),
    ("achievements.delete", "achievements", "DELETE", lambda s, m: s.achievements.delete(m["achievement"])),
    ("flashcards.update_set", "flashcard_sets", "UPDATE",
     lambda s, m: s.flashcards.update_set("alice", m["deck"], title="D")),
    ("flashcards.delete_set", "flashcard_sets", "DELETE",
     lambda s, m: s.flashcards.delete_set("alice", m["deck"])),
    ("flashcards.add_card", "flashcards", "INSERT",
     lambda s, m: s.flashcards.add_card("alice", m["deck"], "f", "b")),
    ("flashcards.update_card", "flashcards", "UPDATE",
     lambda s, m: s.flashcards.update_card("alice", m["card"], front="x")),
    ("flashcards.move_card", "flashcards", "UPDATE",
     lambda s, m: s.flashcards.move_card("alice", m["card"], 0)),
    ("flashcards.delete_card", "flashcards", "DELETE",
     lambda s, m: s.flashcards.delete_card("alice", m["card"])),
    ("forum.edit_post", "forum_posts", "UPDATE",
     lambda s, m: s.forum.edit_post(m["post"], "alice", body="B")),
    ("collaboration.invite_collaborator", "collaborators", "INSERT",
     lambda s, m: s.collaboration.invite_collaborator(m["course"], "alice", "stan", "reviewer")),
    ("users.create_goal", "learning_goals", "INSERT", lambda s, m: s.users.create_goal("alice", "G")),
    ("users.notify", "notifications", "INSERT", lambda s, m: s.users.notify("alice", "system", "hi")),
    ("users.update_profile", "users", "UPDATE", lambda s, m: s.users.update_profile("alice", bio="b")),
    ("users.grant_role", "site_roles", "INSERT", lambda s, m: s.users.grant_role("stan", "moderator")),
    ("follows.follow", "forum_thread_follows", "INSERT", lambda s, m: s.follows.follow(m["post"], "alice")),
    ("follows.unfollow", "forum_thread_follows", "DELETE",
     lambda s, m: s.follows.unfollow(m["post"], "alice").changed),
    ("follows.mute", "notification_mutes", "INSERT", lambda s, m: s.follows.mute("alice", "like")),
]  # fmt: skip
# Where the method is narrower than its table: application code may check too, never instead.
NARROWER = {
    # a reviewer changes a course or lesson only by approving an edit (edits.approve_edit)
    ("content.update_course", "reviewer"), ("content.unpublish_course", "reviewer"),
    ("content.archive_course", "reviewer"), ("content.update_lesson", "reviewer"),
    ("content.move_lesson", "reviewer"),
    # a post's author edits it; the course's author may only delete it
    ("forum.edit_post", "author"),
}  # fmt: skip
ACTORS = {"alice": {"own", "author"}, "eddie": {"editor"}, "rita": {"reviewer"}, "mallory": {"learner"},
          "mo": {"moderator"}, "root": {"admin"}, "stan": set()}  # fmt: skip


def test_every_method_is_tried_or_a_read() -> None:
    tried = {method for method, *_ in METHOD_CALLS}
    assert tried <= {method for method, tables in WRITES.items() if tables}


@pytest.mark.parametrize(
    ("method", "table", "command", "call"), METHOD_CALLS, ids=[c[0] for c in METHOD_CALLS]
)
def test_each_write_method_does_what_the_model_says_for_each_audience(
    db_conn: psycopg.Connection[Any], method: str, table: str, command: str, call: Call
) -> None:
    store = Store.on(db_conn)
    made = platform(store)
    people(store, "rita", "mo", "stan")
    store.collaboration.invite_collaborator(made["course"], "alice", "rita", "reviewer")
    store.collaboration.respond_to_invitation(made["course"], "rita", accept=True)
    store.users.grant_role("mo", "moderator")
    made["media"] = store.content.add_media(made["lesson"], "audio", "https://x.example/m.mp3").id
    made["quiz"] = store.content.add_quiz(made["lesson"], "flashcard", "Q?", "a").id
    made["achievement"] = store.achievements.create(
        "first", "First", {"kind": "lessons_completed", "threshold": 1}
    ).id
    store.catalog.attach_tags(made["course"], ["travel"])
    wrong = []
    for actor, audiences in ACTORS.items():
        expected = (
            bool(({"anyone"} | audiences) & set(MODEL[table][command]))
            and (method, next(iter(audiences), "")) not in NARROWER
        )
        if method == "forum.edit_post" and actor == "alice":
            expected = True  # her own post, in her course
        try:
            with db_conn.transaction(force_rollback=True):
                outcome = call(store.as_user(actor), made)
            allowed = outcome is not False
        except (PermissionDenied, NotFound):
            allowed = False
        if allowed != expected:
            wrong.append((actor, "allowed" if allowed else "refused"))
    assert wrong == []


def test_a_draft_and_its_content_are_read_by_its_team_and_admins_only(
    db_conn: psycopg.Connection[Any],
) -> None:
    store = Store.on(db_conn)
    made = platform(store)
    draft = store.content.create_course("alice", "Alice's draft")
    unit = store.content.add_unit(draft.id, "Secret unit")
    lesson = store.content.add_lesson(unit.id, "Secret lesson", "text", {"body": "s"})
    store.content.add_quiz(lesson.id, "flashcard", "Q?", "a")
    store.content.add_media(lesson.id, "image", "https://example.com/a.png")
    db_conn.execute(
        "WITH t AS (INSERT INTO tags (name) VALUES ('secret') RETURNING id)"
        " INSERT INTO course_tags (course_id, tag_id) SELECT %s, id FROM t",
        [draft.id],
    )
    counts = sql.SQL(
        "SELECT (SELECT count(*) FROM courses WHERE id = %(c)s),"
        " (SELECT count(*) FROM units WHERE course_id = %(c)s),"
        " (SELECT count(*) FROM lessons WHERE id = %(l)s),"
        " (SELECT count(*) FROM quizzes WHERE lesson_id = %(l)s),"
        " (SELECT count(*) FROM media WHERE lesson_id = %(l)s),"
        " (SELECT count(*) FROM course_tags WHERE course_id = %(c)s)"
    )

    def seen_by(actor: str) -> tuple[int, ...]:
        with db_conn.transaction(force_rollback=True):
            act(db_conn, actor)
            row = db_conn.execute(counts, {"c": draft.id, "l": lesson.id}).fetchone()
        assert row is not None
        return tuple(row)

    # The author and an admin see the draft whole; a learner, an editor of another course, nobody else.
    assert seen_by("alice") == seen_by("root") == (1, 1, 1, 1, 1, 1)
    assert seen_by("mallory") == seen_by("eddie") == (0, 0, 0, 0, 0, 0)
    with pytest.raises(NotFound):
        store.as_user("mallory").content.get_course(draft.id)
    assert store.as_user("mallory").content.list_lessons(unit.id) == []
    # ... while the published course stays readable by anyone.
    assert store.as_user("mallory").content.get_course(made["course"]).title == "Alice's course"
    # A reviewer of the draft joins its team and sees it; publishing shows it to everyone.
    store.collaboration.invite_collaborator(draft.id, "alice", "mallory", "reviewer")
    assert seen_by("mallory") == (0, 0, 0, 0, 0, 0)  # pending: not yet on the team
    store.collaboration.respond_to_invitation(draft.id, "mallory", accept=True)
    assert seen_by("mallory") == (1, 1, 1, 1, 1, 1)
    store.content.publish_course(draft.id)
    assert seen_by("eddie") == (1, 1, 1, 1, 1, 1)


def test_a_suspended_user_neither_asks_to_collaborate_nor_answers_reviews(
    db_conn: psycopg.Connection[Any],
) -> None:
    store = Store.on(db_conn)
    made = platform(store)
    db_conn.execute("UPDATE courses SET open_to_collaboration = true WHERE id = %s", [made["course"]])
    people(store, "bob")
    review = store.reviews.review_course(made["course"], "mallory", 4)
    until = datetime.now(UTC) + timedelta(days=1)
    store.moderation.suspend("root", "bob", until, "Spam")
    store.moderation.suspend("root", "alice", until, "Cool down")
    for view in (store, store.as_user("bob")):
        with pytest.raises(PermissionDenied) as refused:
            view.collaboration.request(made["course"], "bob", "editor")
        assert refused.value.field == "suspended"
    for view in (store, store.as_user("alice")):
        with pytest.raises(PermissionDenied) as refused:
            view.reviews.answer(review.id, "alice", "Thanks")
        assert refused.value.field == "suspended"
    assert db_conn.execute("SELECT count(*) FROM collaboration_requests").fetchone() == (0,)
    assert db_conn.execute("SELECT count(*) FROM review_replies").fetchone() == (0,)
    # Once the suspensions end, both go through.
    store.moderation.unsuspend("root", "bob", "Served")
    store.moderation.unsuspend("root", "alice", "Served")
    assert store.as_user("bob").collaboration.request(made["course"], "bob", "editor").status == "pending"
    assert store.as_user("alice").reviews.answer(review.id, "alice", "Thanks").body == "Thanks"
